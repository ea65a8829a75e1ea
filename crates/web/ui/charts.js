// Charts for the web UI and the HTML report (a classic script: the report inlines it).
// Needs uPlot (vendored, loaded before this file). Exposes `window.cicadaCharts`.
//
// Data is columnar, as /api/stats/history answers:
//   {timestamp: [unix s], users: [], rps: [], fail_per_sec: [], p50_ms: [], p95_ms: [], p99_ms: []}
// The three charts of a group share the cursor, and zooming one (drag) zooms all; a
// double-click zooms back out.
(function () {
  'use strict';

  var KINDS = {
    rps: [
      { key: 'rps', label: 'RPS', color: '#15965a', fill: true, digits: 1 },
      { key: 'fail_per_sec', label: 'Failures/s', color: '#d6453a', digits: 1 },
    ],
    latency: [
      { key: 'p50_ms', label: 'Median', color: '#2f7de1', digits: 1 },
      { key: 'p95_ms', label: '95th percentile', color: '#e08a00', digits: 1 },
      { key: 'p99_ms', label: '99th percentile', color: '#9b51e0', digits: 1 },
    ],
    users: [
      { key: 'users', label: 'Users', color: '#0f8b8d', fill: true, digits: 0 },
    ],
  };

  function cssVar(name, fallback) {
    var v = getComputedStyle(document.documentElement).getPropertyValue(name);
    return (v && v.trim()) || fallback;
  }

  function columns(kind, data) {
    var out = [data.timestamp || []];
    KINDS[kind].forEach(function (s) { out.push(data[s.key] || []); });
    return out;
  }

  function axisValue(v) {
    if (v >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (v >= 1e4) return (v / 1e3).toFixed(0) + 'k';
    if (v >= 1e3) return (v / 1e3).toFixed(1) + 'k';
    return String(Math.round(v * 100) / 100);
  }

  // Time axis steps (seconds): whole seconds and up, never sub-second ticks.
  var TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
    43200, 86400, 172800, 604800];

  function options(kind, width, height, group) {
    var muted = cssVar('--muted', '#5d6b63');
    var grid = cssVar('--border', '#d9e0dc');
    var series = [{}];
    KINDS[kind].forEach(function (s) {
      series.push({
        label: s.label,
        stroke: s.color,
        width: 2,
        fill: s.fill ? s.color + '22' : undefined,
        points: { show: false },
        value: function (u, v) { return v == null ? '–' : v.toFixed(s.digits); },
      });
    });
    return {
      width: width,
      height: height,
      series: series,
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
      axes: [
        { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, incrs: TIME_INCRS },
        { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, size: 56,
          values: function (u, vals) { return vals.map(axisValue); } },
      ],
      cursor: { drag: { x: true, y: false, setScale: false }, sync: { key: group.key } },
      legend: { live: true },
      hooks: {
        setSelect: [function (u) {
          if (u.select.width < 2) return;
          var min = u.posToVal(u.select.left, 'x');
          var max = u.posToVal(u.select.left + u.select.width, 'x');
          group.zoom(min, max);
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
        }],
      },
    };
  }

  /** A set of charts that zoom together. */
  function Group(key) {
    this.key = key;
    this.charts = [];
    this.zoomed = null; // [min, max] or null
  }

  Group.prototype.zoom = function (min, max) {
    this.zoomed = [min, max];
    this.charts.forEach(function (c) { c.u.setScale('x', { min: min, max: max }); });
  };

  Group.prototype.unzoom = function () {
    this.zoomed = null;
    this.charts.forEach(function (c) { c.u.setData(c.u.data, true); });
  };

  /** Creates a chart of `kind` ('rps', 'latency' or 'users') inside `container`. */
  Group.prototype.add = function (kind, container, data, height) {
    var self = this;
    var width = Math.max(300, container.clientWidth || 800);
    var u = new uPlot(options(kind, width, height || 200, this), columns(kind, data), container);
    u.over.addEventListener('dblclick', function () { self.unzoom(); });
    var chart = { kind: kind, u: u, container: container };
    this.charts.push(chart);
    return chart;
  };

  /** New data for every chart; the zoom (if any) is kept. */
  Group.prototype.setData = function (data) {
    var zoomed = this.zoomed;
    this.charts.forEach(function (c) {
      c.u.setData(columns(c.kind, data), !zoomed);
      if (zoomed) c.u.setScale('x', { min: zoomed[0], max: zoomed[1] });
    });
  };

  /** Follows the containers' widths. */
  Group.prototype.resize = function () {
    this.charts.forEach(function (c) {
      var width = Math.max(300, c.container.clientWidth || 800);
      if (Math.abs(width - c.u.width) > 1) c.u.setSize({ width: width, height: c.u.height });
    });
  };

  Group.prototype.destroy = function () {
    this.charts.forEach(function (c) { c.u.destroy(); });
    this.charts = [];
  };

  window.cicadaCharts = {
    kinds: Object.keys(KINDS),
    group: function (key) { return new Group(key); },
    available: function () { return typeof uPlot === 'function'; },
  };
})();
