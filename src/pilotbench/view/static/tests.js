// The tests list: its count arrives after the page (a capped count can take a scan).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("count-config").textContent);
  var el = document.getElementById("count");
  fetch(config.url, {cache: "no-store"})
    .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
    .then(function (c) {
      var n = c.count, cap = c.cap;
      if (n > cap) {
        el.textContent = "More than " + cap.toLocaleString("en-US") + " matching tests, newest first.";
      } else {
        el.textContent = n.toLocaleString("en-US") + " matching test" + (n === 1 ? "" : "s") + ", newest first.";
      }
    })
    .catch(function () { el.textContent = "Matching tests, newest first."; });
}());
