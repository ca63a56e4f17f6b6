// pcapx report: draws the charts, makes the tables sortable and
// filterable, and wires the copy buttons. All data arrives as JSON in
// <script type="application/json" id="pcapx-charts"> (read with
// textContent, never evaluated) or as text already in the page; nothing
// here builds HTML from strings.
(function () {
  "use strict";
  var root = document.documentElement;
  var charts = [];

  // canvasPainted says whether a chart left any non-transparent pixel.
  function canvasPainted(el) {
    var cv = el.querySelector("canvas");
    if (!cv || !cv.width || !cv.height) return false;
    var px = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
    for (var i = 3; i < px.length; i += 4) {
      if (px[i] !== 0) return true;
    }
    return false;
  }

  function drawCharts() {
    var t0 = performance.now();
    var els = document.querySelectorAll("[data-chart]");
    var specs = {};
    var drawn = 0, blank = [];
    try {
      specs = JSON.parse(document.getElementById("pcapx-charts").textContent);
    } catch (e) {
      blank.push("options: " + e.message);
    }
    for (var i = 0; i < els.length; i++) {
      var el = els[i], id = el.getAttribute("data-chart"), opt = specs[id];
      el.style.height = (parseInt(el.getAttribute("data-height"), 10) || 280) + "px";
      if (!opt || typeof echarts === "undefined") {
        blank.push(id);
        continue;
      }
      // Tooltips are drawn on the canvas (richText), not as HTML: names
      // from the capture never reach innerHTML, whatever ECharts escapes.
      opt.tooltip = Object.assign({}, opt.tooltip, { renderMode: "richText", confine: true });
      try {
        var c = echarts.init(el, null, { renderer: "canvas" });
        c.setOption(opt);
        charts.push(c);
        if (canvasPainted(el)) {
          drawn++;
          el.setAttribute("data-drawn", "1");
        } else {
          blank.push(id);
        }
      } catch (e) {
        blank.push(id + ": " + e.message);
        root.setAttribute("data-js-errors", (root.getAttribute("data-js-errors") || "") + id + ": " + e.message);
      }
    }
    var body = document.body;
    body.setAttribute("data-charts", String(els.length));
    body.setAttribute("data-charts-drawn", String(drawn));
    body.setAttribute("data-charts-blank", blank.join(" "));
    body.setAttribute("data-draw-ms", (performance.now() - t0).toFixed(1));
    body.setAttribute("data-ready-ms", performance.now().toFixed(1));
  }

  function resizeAll(width) {
    charts.forEach(function (c) {
      c.resize(width ? { width: Math.min(width, c.getDom().clientWidth) } : undefined);
    });
  }

  // Tables: click a header to sort (numbers by data-v), type to filter.
  function cellKey(row, col, numeric) {
    var td = row.cells[col];
    if (!td) return numeric ? -Infinity : "";
    var v = td.getAttribute("data-v");
    if (numeric) return v === null ? -Infinity : parseFloat(v);
    return (v === null ? td.textContent : v).toLowerCase();
  }

  function makeSortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      var btn = th.querySelector("button.sort");
      if (!btn) return;
      btn.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var asc = th.getAttribute("aria-sort") !== (numeric ? "descending" : "ascending");
        // numbers sort largest first on the first click, text A→Z
        if (numeric) asc = !asc;
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.forEach(function (r, i) { r._i = i; });
        rows.sort(function (a, b) {
          var x = cellKey(a, col, numeric), y = cellKey(b, col, numeric);
          if (x < y) return asc ? -1 : 1;
          if (x > y) return asc ? 1 : -1;
          return a._i - b._i;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  function makeFilterable(box) {
    var table = document.getElementById(box.getAttribute("data-for"));
    if (!table) return;
    var input = box.querySelector("input[type=search]");
    var select = box.querySelector("select");
    var status = box.querySelector("output");
    function apply() {
      var q = input ? input.value.trim().toLowerCase() : "";
      var why = select ? select.value : "";
      var shown = 0, rows = table.tBodies[0].rows;
      for (var i = 0; i < rows.length; i++) {
        var r = rows[i];
        var ok = (!q || r.textContent.toLowerCase().indexOf(q) >= 0) &&
          (!why || (" " + (r.getAttribute("data-why") || "") + " ").indexOf(" " + why + " ") >= 0);
        r.hidden = !ok;
        if (ok) shown++;
      }
      if (status) status.value = shown + " of " + rows.length + " rows";
    }
    if (input) input.addEventListener("input", apply);
    if (select) select.addEventListener("change", apply);
    apply();
  }

  function copyText(text, btn) {
    function done(ok) {
      var old = btn.getAttribute("data-label") || btn.textContent;
      btn.setAttribute("data-label", old);
      btn.textContent = ok ? "Copied" : "Select and copy";
      setTimeout(function () { btn.textContent = old; }, 1500);
    }
    function fallback() {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.className = "offscreen";
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(ta);
      done(ok);
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  }

  function wireCopy() {
    document.addEventListener("click", function (e) {
      var btn = e.target.closest ? e.target.closest("button[data-copy]") : null;
      if (!btn) return;
      var src = document.getElementById(btn.getAttribute("data-copy"));
      if (src) copyText(src.textContent, btn);
    });
  }

  function start() {
    root.classList.add("js");
    drawCharts();
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
    Array.prototype.forEach.call(document.querySelectorAll(".filter[data-for]"), makeFilterable);
    wireCopy();
    var timer = 0;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { resizeAll(); }, 100);
    });
    // A4 portrait with 12 mm margins is about 700 CSS px wide.
    window.addEventListener("beforeprint", function () {
      Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.open = true; });
      resizeAll(700);
    });
    window.addEventListener("afterprint", function () { resizeAll(); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
