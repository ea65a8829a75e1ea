// The HTML report's charts (inlined into the report with uPlot and charts.js).
(function () {
  'use strict';
  var node = document.getElementById('cicada-history');
  var target = document.getElementById('charts');
  if (!node || !target || !window.cicadaCharts || !window.cicadaCharts.available()) return;
  var data;
  try {
    data = JSON.parse(node.textContent);
  } catch (e) {
    return;
  }
  var titles = { rps: 'Requests per second', latency: 'Response times (ms)', users: 'Number of users' };
  var groups = [];
  function section(key, heading, series) {
    if (!series || !series.timestamp || series.timestamp.length < 2) return;
    var h = document.createElement('h3');
    h.textContent = heading;
    target.appendChild(h);
    var group = window.cicadaCharts.group(key);
    ['rps', 'latency', 'users'].forEach(function (kind) {
      var figure = document.createElement('figure');
      figure.className = 'chart';
      var caption = document.createElement('figcaption');
      caption.textContent = titles[kind];
      var box = document.createElement('div');
      figure.appendChild(caption);
      figure.appendChild(box);
      target.appendChild(figure);
      group.add(kind, box, series, 200);
    });
    groups.push(group);
  }
  var second = data.second;
  var minute = data.minute;
  var longer = minute && minute.timestamp && second && second.timestamp && minute.timestamp.length > 1
    && minute.timestamp[0] < (second.timestamp[0] || 0);
  section('second', longer ? 'Last hour (per second)' : 'Per second', second);
  if (longer) section('minute', 'Whole run (per minute)', minute);
  if (!groups.length) {
    var p = document.createElement('p');
    p.className = 'empty';
    p.textContent = 'Not enough data for charts (less than two seconds of history).';
    target.appendChild(p);
  }
  window.addEventListener('resize', function () {
    groups.forEach(function (g) { g.resize(); });
  });
})();
