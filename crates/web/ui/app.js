// cicada's web UI: wires the live stream to the views.
//
// On load: /api/info (defaults, access), /api/ratio, then the event stream. Each `update`
// carries the state, the statistics, the newest chart points and the workers; the open tab is
// redrawn, the others only when shown. Chart history is loaded once per range and then grown
// by the pushed points, trimmed to the server's ring length: nothing here grows with time.

import { byId, setText, store } from './dom.js';
import { connect, getJson } from './api.js';
import { Controls } from './controls.js';
import { StatsTable } from './table.js';
import { LogsView, Tabs, failuresBadge, renderFailures, renderRatio, renderWorkers } from './tabs.js';
import { ShapeView } from './shape.js';

const SERIES = ['timestamp', 'users', 'rps', 'fail_per_sec', 'avg_ms', 'p50_ms', 'p95_ms', 'p99_ms'];

function emptySeries() {
  return Object.fromEntries(SERIES.map((k) => [k, []]));
}

/** Appends a point when it is newer than the last one, then trims to `max` points. */
function appendPoint(series, point, max) {
  if (!point) return false;
  const ts = series.timestamp;
  if (ts.length && point.timestamp <= ts[ts.length - 1]) return false;
  for (const k of SERIES) series[k].push(point[k]);
  if (ts.length > max) for (const k of SERIES) series[k].splice(0, ts.length - max);
  return true;
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
}

class App {
  constructor(info) {
    this.info = info;
    this.update = null;
    this.series = { second: null, minute: null };
    this.range = 'second';
    this.charts = null;
    this.logs = new LogsView(500);
    this.logsSeq = 0;
    this.ratioAt = 0;
    this.pending = false;
    this.controls = new Controls({
      info,
      onError: (m) => this.banner(m, true),
      onChange: () => this.refreshRatio(),
    });
    this.shape = new ShapeView({ onError: (m) => this.banner(m, true), readOnly: info.read_only });
    this.table = new StatsTable({
      table: byId('stats-table'),
      chooser: byId('column-chooser'),
      filter: byId('filter'),
      note: byId('rows-note'),
      empty: byId('stats-empty'),
    });
    for (const button of document.querySelectorAll('[data-range]')) {
      button.addEventListener('click', () => this.setRange(button.dataset.range));
    }
    byId('btn-theme').addEventListener('click', () => {
      const next = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
      store.set('cicada-theme', next);
      applyTheme(next);
      this.rebuildCharts();
    });
    window.addEventListener('resize', () => this.charts && this.charts.resize());
    this.tabs = new Tabs((tab) => this.onTab(tab));
    this.refreshRatio();
    connect((u) => this.onUpdate(u), (ok) => this.onConnection(ok));
  }

  banner(message, isError) {
    const b = byId('banner');
    setText(b, message || '');
    b.classList.toggle('error', Boolean(isError));
    b.hidden = !message;
  }

  /**
   * A refused scenario reload (the file changed but does not load): a banner with its errors
   * until a later reload succeeds or the user dismisses this one (remembered by its time).
   */
  reloadNotice(scenario) {
    const last = scenario && scenario.last_reload;
    const failed = Boolean(last && !last.ok);
    const key = failed ? `${last.at}:${last.digest}` : '';
    const banner = byId('reload-banner');
    banner.hidden = !failed || this.reloadDismissed === key;
    if (!failed) return;
    const at = new Date(last.at * 1000).toLocaleTimeString();
    setText(byId('reload-banner-text'),
      `Scenario reload refused at ${at}: ${scenario.origin || 'the scenario'} has errors; the previous scenario keeps running.`);
    setText(byId('reload-errors'), (last.errors || []).join('\n'));
    if (!this.reloadDismissHooked) {
      this.reloadDismissHooked = true;
      byId('btn-reload-dismiss').addEventListener('click', () => {
        this.reloadDismissed = this.reloadKey;
        byId('reload-banner').hidden = true;
      });
    }
    this.reloadKey = key;
  }

  onConnection(ok) {
    const c = byId('connection');
    setText(c, ok ? 'live' : 'connection lost, reconnecting…');
    c.classList.toggle('lost', !ok);
    if (ok) {
      this.banner('');
      // Points were missed while disconnected: reload the history the charts show.
      this.series = { second: null, minute: null };
      if (this.tabs && this.tabs.current === 'charts') this.loadRange(this.range);
    } else {
      this.banner('Connection to cicada lost. Reconnecting…', true);
    }
  }

  onUpdate(update) {
    this.update = update;
    const stats = update.stats;
    this.controls.show(stats);
    this.shape.onStats(stats);
    this.reloadNotice(stats.scenario);
    failuresBadge(stats);
    if (this.series.second) appendPoint(this.series.second, update.point, this.info.history_len);
    if (this.series.minute) appendPoint(this.series.minute, update.long_point, this.info.long_history_len);
    if (update.logs_seq !== this.logsSeq) this.fetchLogs(update.logs_seq);
    if (this.pending) return;
    // Draw in the next frame, once, whatever arrived in between.
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  render() {
    const u = this.update;
    if (!u) return;
    switch (this.tabs.current) {
      case 'stats':
        this.table.update(u.stats.entries, u.stats.total, u.stats.entries_truncated);
        break;
      case 'charts':
        this.drawCharts();
        break;
      case 'failures':
        renderFailures(u.stats.failures, u.stats.failures_truncated);
        break;
      case 'workers':
        renderWorkers(u.workers);
        break;
      case 'ratio':
        // User counts per type change with the run; the plan does not: refresh now and then.
        if (Date.now() - this.ratioAt > 5000) this.refreshRatio();
        break;
      case 'logs':
        this.logs.render(true);
        break;
      default:
        break;
    }
  }

  onTab(tab) {
    if (this.shape) this.shape.show(tab === 'shape');
    if (tab === 'charts') {
      if (!this.series[this.range]) this.loadRange(this.range);
      else this.drawCharts();
    }
    if (tab === 'ratio') this.refreshRatio();
    if (tab !== 'logs') this.logs.render(false);
    this.render();
  }

  async fetchLogs(seq) {
    const after = this.logs.lastSeq;
    this.logsSeq = seq;
    try {
      const body = await getJson(`/api/logs?after=${after}`);
      this.logs.add(body.logs);
      this.logs.render(this.tabs.current === 'logs');
    } catch {
      this.logsSeq = 0; // try again with the next update
    }
  }

  async refreshRatio() {
    this.ratioAt = Date.now();
    try {
      renderRatio(await getJson('/api/ratio'));
    } catch (e) {
      this.banner(`Cannot load the ratio: ${e.message}`, true);
    }
  }

  setRange(range) {
    this.range = range;
    for (const b of document.querySelectorAll('[data-range]')) {
      b.setAttribute('aria-pressed', String(b.dataset.range === range));
    }
    this.rebuildCharts();
    if (!this.series[range]) this.loadRange(range);
  }

  async loadRange(range) {
    try {
      const body = await getJson(`/api/stats/history?resolution=${range}`);
      const series = emptySeries();
      for (const k of SERIES) series[k] = body[k] || [];
      this.series[range] = series;
      if (range === this.range) this.drawCharts();
    } catch (e) {
      this.banner(`Cannot load the chart history: ${e.message}`, true);
    }
  }

  rebuildCharts() {
    if (this.charts) this.charts.destroy();
    this.charts = null;
    for (const id of ['chart-rps', 'chart-latency', 'chart-users']) byId(id).replaceChildren();
    if (this.tabs && this.tabs.current === 'charts') this.drawCharts();
  }

  drawCharts() {
    const data = this.series[this.range];
    if (!data || !window.cicadaCharts || !window.cicadaCharts.available()) return;
    byId('charts-empty').hidden = data.timestamp.length > 1;
    if (!this.charts) {
      this.charts = window.cicadaCharts.group('cicada');
      this.charts.add('rps', byId('chart-rps'), data);
      this.charts.add('latency', byId('chart-latency'), data);
      this.charts.add('users', byId('chart-users'), data);
    } else {
      this.charts.resize();
      this.charts.setData(data);
    }
  }
}

applyTheme(store.get('cicada-theme', null)
  || (window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));

getJson('/api/info')
  .then((info) => {
    window.cicada = new App(info);
  })
  .catch((e) => {
    const b = byId('banner');
    b.textContent = `Cannot reach cicada: ${e.message}. Reload the page to try again.`;
    b.classList.add('error');
    b.hidden = false;
  });
