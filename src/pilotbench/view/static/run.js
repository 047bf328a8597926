// A running run's page: poll its JSON and update the figures in place (no page reload).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("run-config").textContent);
  // The page comes with the run's counts; its lanes and causes are read here, once for a finished
  // run, then every interval while it runs.
  var fmt = function (n) { return (n === null || n === undefined) ? "\u2013" : Number(n).toLocaleString("en-US"); };
  var setText = function (id, text) { var el = document.getElementById(id); if (el) { el.textContent = text; } };
  var seconds = function (s) {
    if (s === null || s === undefined) { return "\u2013"; }
    if (s < 60) { return s.toFixed(1) + " s"; }
    if (s < 3600) { return Math.floor(s / 60) + " min " + Math.floor(s % 60) + " s"; }
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  };
  var fillTable = function (id, rows, cells, empty) {
    var body = document.querySelector("#" + id + " tbody");
    if (!body) { return; }
    body.textContent = "";
    if (!rows.length) { rows = [null]; }
    rows.forEach(function (row) {
      var tr = document.createElement("tr");
      var values = row === null ? [empty] : cells(row);
      values.forEach(function (v, i) {
        var td = document.createElement("td");
        td.textContent = v;  // text, never markup
        if (row === null) { td.colSpan = 9; }
        if (row !== null && id === "run-lanes" && i === 3) { td.className = "state-" + v; }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  };
  var update = function (run) {
    setText("run-status", run.status);
    document.getElementById("run-status").className = "status-" + run.status;
    setText("run-elapsed", seconds(run.elapsed_s));
    setText("run-planned", fmt(run.planned));
    setText("run-done", fmt(run.done));
    setText("run-success", fmt(run.success));
    setText("run-errors", fmt(run.errors));
    setText("run-calls", fmt(run.calls));
    setText("run-rate-limited", fmt(run.rate_limited));
    setText("run-retries", fmt(run.retries));
    var bar = document.getElementById("run-progress");
    if (run.progress !== null) {
      bar.value = run.progress;
      setText("run-progress-text", (run.progress * 100).toFixed(1) + "%");
    }
    fillTable("run-causes", run.causes, function (c) { return [c.cause, fmt(c.n)]; }, "none");
    fillTable("run-lanes", run.lanes, function (l) {
      return [l.provider, l.lane, l.key_label, l.state, fmt(l.tests), fmt(l.errors), fmt(l.calls), fmt(l.rate_limited), fmt(l.retries)];
    }, "no results yet");
    fillTable("run-learnt", run.learnt || [], function (l) {
      return [l.lane, l.key_label, fmt(l.concurrency), fmt(l.declared_concurrency), fmt(l.rpm), fmt(l.rpm_left),
              fmt(l.tpm), fmt(l.tpm_left)];
    }, "none recorded");
    if (run.status !== "running") { setText("live-note", ""); }
    return run.status === "running";
  };
  var poll = function () {
    fetch(config.url, {cache: "no-store"})
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (run) { if (update(run)) { setTimeout(poll, config.interval_ms || 2000); } })
      .catch(function () { setTimeout(poll, 5000); });
  };
  poll();
}());
