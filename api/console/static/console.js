// The console's only script: draws the hourly chart of a dashboard fragment with uPlot,
// on first load and each time the live stream swaps the fragment in. No inline scripts
// (the Content-Security-Policy forbids them).
(function () {
  "use strict";

  function draw(holder) {
    var hours = JSON.parse(holder.getAttribute("data-hours") || "[]");
    var labels = JSON.parse(holder.getAttribute("data-labels") || "{}");
    holder.textContent = "";
    if (!hours.length || typeof uPlot === "undefined") return;
    var xs = hours.map(function (h) { return h.hour; });
    var data = [
      xs,
      hours.map(function (h) { return h.attempts; }),
      hours.map(function (h) { return h.contacts; }),
      hours.map(function (h) { return h.promises; }),
    ];
    var width = Math.max(holder.clientWidth || 480, 280);
    new uPlot({
      width: width,
      height: 220,
      scales: { x: { time: false, range: [0, 23] } },
      axes: [{ incrs: [1, 2, 3, 4, 6], values: function (u, v) { return v.map(function (x) { return x + ":00"; }); } }, {}],
      series: [
        { label: labels.hour },
        { label: labels.attempts, stroke: "#2563eb", width: 2 },
        { label: labels.contacts, stroke: "#16a34a", width: 2 },
        { label: labels.promises, stroke: "#d97706", width: 2 },
      ],
    }, data, holder);
  }

  function drawAll(root) {
    (root || document).querySelectorAll(".chart[data-hours]").forEach(draw);
  }

  // The sign-in form sends the browser's UTC offset: the agent's "today" and callback times.
  function fillOffset() {
    document.querySelectorAll("input[name=tz_offset]").forEach(function (input) {
      input.value = String(-new Date().getTimezoneOffset());
    });
  }

  document.addEventListener("DOMContentLoaded", function () { fillOffset(); drawAll(document); });
  document.addEventListener("htmx:afterSettle", function (event) { drawAll(event.target); });
})();
