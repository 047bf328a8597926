// The runs list: while a run is going, poll /api/runs and update its row in place (no reload).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("runs-config").textContent);
  var fmt = function (n) { return (n === null || n === undefined) ? "\u2013" : Number(n).toLocaleString("en-US"); };
  var seconds = function (s) {
    if (s === null || s === undefined) { return "\u2013"; }
    if (s < 60) { return s.toFixed(1) + " s"; }
    if (s < 3600) { return Math.floor(s / 60) + " min " + Math.floor(s % 60) + " s"; }
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  };
  var set = function (row, name, text) {
    var el = row.querySelector("[data-field='" + name + "']");
    if (el) { el.textContent = text; }
  };
  var poll = function () {
    fetch(config.url, {cache: "no-store"})
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (runs) {
        var running = false;
        runs.forEach(function (run) {
          var row = document.querySelector("tr[data-run='" + CSS.escape(run.run_id) + "']");
          if (!row) { return; }
          running = running || run.status === "running";
          set(row, "status", run.status);
          set(row, "elapsed", seconds(run.elapsed_s));
          set(row, "done", fmt(run.done));
          set(row, "errors", fmt(run.errors));
          set(row, "progress-text", run.progress === null ? "\u2013" : (run.progress * 100).toFixed(0) + "%");
          var bar = row.querySelector("progress");
          if (bar && run.progress !== null) { bar.value = run.progress; }
        });
        if (running) { setTimeout(poll, config.interval_ms || 2000); }
      })
      .catch(function () { setTimeout(poll, 5000); });
  };
  setTimeout(poll, config.interval_ms || 2000);
}());
