// dqm console: the only script of its own. It draws the charts (Plotly, served by dqm) from the
// JSON each page embeds; everything else works without JavaScript.
(function () {
  "use strict";
  function themed(layout) {
    var style = getComputedStyle(document.documentElement);
    var fg = style.getPropertyValue("--fg").trim() || "#1a1d21";
    var line = style.getPropertyValue("--line").trim() || "#d5d9e0";
    var base = {
      paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
      font: { color: fg, family: "system-ui, sans-serif", size: 12 },
      margin: { l: 56, r: 16, t: 36, b: 48 },
    };
    var merged = Object.assign(base, layout || {});
    ["xaxis", "yaxis"].forEach(function (axis) {
      merged[axis] = Object.assign({ gridcolor: line, zerolinecolor: line }, merged[axis] || {});
    });
    return merged;
  }
  function draw(node) {
    var source = document.getElementById(node.getAttribute("data-spec"));
    if (!source || typeof Plotly === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var spark = node.classList.contains("spark");
    var config = { displaylogo: false, responsive: true, staticPlot: spark,
                   displayModeBar: spark ? false : "hover" };
    node.textContent = "";
    Plotly.newPlot(node, spec.data, themed(spec.layout), config);
    node.setAttribute("data-drawn", "true");
  }
  function drawAll() {
    document.querySelectorAll(".chart[data-spec]").forEach(draw);
  }
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
