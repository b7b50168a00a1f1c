/* qwchart: a tiny SVG chart renderer for the quotawarden dashboard (no dependencies, works offline).
 * A <figure class="chart" data-chart="{...}"> holds its data as JSON:
 *   {type: "line", yFormat: "pct"|"usd"|"num", yMax, series: [{name, points: [[t, y], ...]}],
 *    projections: [{name, points}], marks: [t, ...], cap, label}
 *   {type: "bar"|"stack", yFormat, categories: [...], stacks: [{name, values: [...]}], label}
 * Times are epoch seconds. Licence: Apache-2.0, as the rest of quotawarden. */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var COLORS = ["--s1", "--s2", "--s3", "--s4", "--s5", "--s6"];
  var M = {top: 10, right: 12, bottom: 26, left: 52};

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { if (attrs[k] !== undefined && attrs[k] !== null) { e.setAttribute(k, attrs[k]); } }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function color(i) {
    return getComputedStyle(document.documentElement).getPropertyValue(COLORS[i % COLORS.length]).trim() || "#0a58ca";
  }
  function fmt(v, kind) {
    if (kind === "pct") { return Math.round(v * 100) + "%"; }
    if (kind === "usd") { return "$" + (v >= 100 ? v.toFixed(0) : v.toFixed(2)); }
    if (Math.abs(v) >= 1e6) { return (v / 1e6).toFixed(1) + "M"; }
    if (Math.abs(v) >= 1e3) { return (v / 1e3).toFixed(0) + "k"; }
    return String(Math.round(v * 100) / 100);
  }
  function fmtTime(t, span) {
    var d = new Date(t * 1000);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    if (span <= 2 * 86400) { return pad(d.getHours()) + ":" + pad(d.getMinutes()); }
    return pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }
  function niceMax(v) {
    if (v <= 0) { return 1; }
    var p = Math.pow(10, Math.floor(Math.log10(v))), n = v / p;
    return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * p;
  }
  function frame(fig, spec) {
    var width = Math.max(fig.clientWidth || 600, 280), height = spec.height || (width < 500 ? 200 : 240);
    var old = fig.querySelector("svg"); if (old) { old.remove(); }
    var svg = el("svg", {viewBox: "0 0 " + width + " " + height, role: "img", "aria-label": spec.label || "chart"});
    fig.insertBefore(svg, fig.firstChild);
    return {svg: svg, w: width - M.left - M.right, h: height - M.top - M.bottom};
  }
  function yAxis(f, spec, ymax) {
    var g = el("g", {transform: "translate(" + M.left + "," + M.top + ")"}, f.svg);
    for (var i = 0; i <= 4; i++) {
      var y = f.h - (f.h * i) / 4;
      el("line", {x1: 0, x2: f.w, y1: y, y2: y, "class": i ? "grid-line" : "axis"}, g);
      el("text", {x: -6, y: y + 4, "text-anchor": "end"}, g).textContent = fmt((ymax * i) / 4, spec.yFormat);
    }
    return g;
  }
  function line(fig, spec) {
    var f = frame(fig, spec), all = [];
    (spec.series || []).concat(spec.projections || []).forEach(function (s) { all = all.concat(s.points || []); });
    if (!all.length) { el("text", {x: 20, y: 30}, f.svg).textContent = "no data in this range"; return; }
    var x0 = spec.x0 || Math.min.apply(null, all.map(function (p) { return p[0]; }));
    var x1 = Math.max(spec.x1 || 0, Math.max.apply(null, all.map(function (p) { return p[0]; })));
    if (x1 <= x0) { x1 = x0 + 3600; }
    var ymax = spec.yMax || niceMax(Math.max.apply(null, all.map(function (p) { return p[1]; })));
    var g = yAxis(f, spec, ymax);
    var X = function (t) { return ((t - x0) / (x1 - x0)) * f.w; };
    var Y = function (v) { return f.h - (Math.min(v, ymax) / ymax) * f.h; };
    for (var i = 0; i <= 4; i++) {
      var t = x0 + ((x1 - x0) * i) / 4;
      el("text", {x: X(t), y: f.h + 18, "text-anchor": i === 0 ? "start" : i === 4 ? "end" : "middle"}, g)
        .textContent = fmtTime(t, x1 - x0);
    }
    if (spec.cap) { el("line", {x1: 0, x2: f.w, y1: Y(spec.cap), y2: Y(spec.cap), "class": "cap"}, g); }
    (spec.marks || []).forEach(function (t) {
      if (t >= x0 && t <= x1) { el("line", {x1: X(t), x2: X(t), y1: 0, y2: f.h, "class": "reset"}, g); }
    });
    var path = function (pts) {
      return pts.map(function (p, j) { return (j ? "L" : "M") + X(p[0]).toFixed(1) + " " + Y(p[1]).toFixed(1); }).join("");
    };
    (spec.series || []).forEach(function (s, k) {
      if (s.points && s.points.length) {
        el("path", {d: path(s.points), fill: "none", stroke: color(k), "stroke-width": 2, "class": "series"}, g);
      }
    });
    (spec.projections || []).forEach(function (s, k) {
      if (s.points && s.points.length) {
        el("path", {d: path(s.points), stroke: color(s.color === undefined ? k : s.color), "class": "proj"}, g);
      }
    });
  }
  function bars(fig, spec) {
    var f = frame(fig, spec), cats = spec.categories || [], stacks = spec.stacks || [];
    if (!cats.length) { el("text", {x: 20, y: 30}, f.svg).textContent = "no data in this range"; return; }
    var totals = cats.map(function (_, i) {
      return stacks.reduce(function (a, s) { return a + (s.values[i] || 0); }, 0);
    });
    var ymax = spec.yMax || niceMax(Math.max.apply(null, totals));
    var g = yAxis(f, spec, ymax), bw = f.w / cats.length, every = Math.ceil(cats.length / Math.max(2, Math.floor(f.w / 70)));
    cats.forEach(function (c, i) {
      var base = 0;
      stacks.forEach(function (s, k) {
        var v = s.values[i] || 0, h = (v / ymax) * f.h;
        var r = el("rect", {x: i * bw + bw * 0.12, width: Math.max(bw * 0.76, 1), y: f.h - base - h, height: h,
                            fill: color(k), "class": "bar-rect"}, g);
        el("title", {}, r).textContent = c + " " + s.name + ": " + fmt(v, spec.yFormat);
        base += h;
      });
      if (i % every === 0) {
        el("text", {x: i * bw + bw / 2, y: f.h + 18, "text-anchor": "middle"}, g).textContent = c;
      }
    });
  }
  function draw(fig) {
    try {
      var spec = JSON.parse(fig.getAttribute("data-chart"));
      if (spec.type === "line") { line(fig, spec); } else { bars(fig, spec); }
      fig.setAttribute("data-drawn", "1");
    } catch (err) {
      fig.setAttribute("data-error", String(err));
    }
  }
  function drawAll(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("figure.chart"), draw);
  }
  var timer = null;
  window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(drawAll, 150); });
  window.qwchart = {drawAll: drawAll, draw: draw};
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", function () { drawAll(); }); }
  else { drawAll(); }
})();
