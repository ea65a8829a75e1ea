// The load shape: a "paused, resume" banner under the top bar, and the Shape tab (the curve
// with a "now" marker and shaded incident windows, the current point, the next changes and
// recent incident/burst edges).
//
// The live stream says whether a shape exists and whether it runs (`stats.shape`); the
// details come from GET /api/shape, fetched when the state changes and every few seconds
// while the Shape tab is open (the curve is up to 400 points: cheap, and bounded).

import { byId, el, replaceRows, setText } from './dom.js';
import { getJson, postJson } from './api.js';

const KIND_LABELS = {
  stage_start: 'stage starts',
  stages_end: 'last stage over',
  incident_start: 'incident starts',
  incident_end: 'incident ends',
  burst_start: 'burst starts',
  burst_end: 'burst ends',
  peak: 'peak',
  trough: 'trough',
};

function fmtNumber(v) {
  if (v === null || v === undefined) return '–';
  return Math.abs(v) >= 100 ? String(Math.round(v)) : String(Math.round(v * 10) / 10);
}

function fmtIn(seconds) {
  if (seconds < 1) return 'now';
  if (seconds < 90) return `in ${Math.round(seconds)} s`;
  if (seconds < 5400) return `in ${Math.round(seconds / 60)} min`;
  return `in ${Math.round(seconds / 360) / 10} h`;
}

function fmtVirtual(ms, zone) {
  try {
    return new Date(ms).toLocaleString(undefined, { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit' });
  } catch {
    return new Date(ms).toISOString();
  }
}

export class ShapeView {
  constructor({ onError, readOnly }) {
    this.onError = onError;
    this.readOnly = Boolean(readOnly);
    this.state = null; // null (no shape), 'running' or 'paused'
    this.data = null;
    this.plot = null;
    this.visible = false;
    this.fetchedAt = 0;
    byId('btn-shape-resume').addEventListener('click', () => this.act('resume'));
    byId('btn-shape-resume-tab').addEventListener('click', () => this.act('resume'));
    byId('btn-shape-pause').addEventListener('click', () => this.act('pause'));
  }

  /** Every live update: the state from the stream; details when it changed or are stale. */
  onStats(stats) {
    const state = stats.shape || null;
    const live = [];
    for (const name of stats.shape_incidents || []) live.push(`incident: ${name}`);
    if (stats.shape_bursts > 0) live.push(stats.shape_bursts > 1 ? `${stats.shape_bursts} bursts` : 'burst');
    setText(byId('shape-live'), live.join(' · '));
    byId('tabbtn-shape').hidden = !state;
    const changed = state !== this.state;
    this.state = state;
    if (!state) {
      byId('shape-banner').hidden = true;
      return;
    }
    const stale = Date.now() - this.fetchedAt > (this.visible ? 3000 : 30000);
    if (changed || stale) this.refresh();
    else this.renderBanner();
  }

  show(visible) {
    this.visible = visible;
    if (visible) this.refresh();
  }

  async refresh() {
    this.fetchedAt = Date.now();
    try {
      const body = await getJson('/api/shape');
      this.data = body.shape;
      this.renderBanner();
      if (this.visible) this.render();
    } catch (e) {
      this.onError(`Cannot load the load shape: ${e.message}`);
    }
  }

  async act(action) {
    try {
      const body = await postJson(`/api/shape/${action}`);
      this.data = body.shape;
      this.state = this.data ? this.data.state : null;
      this.renderBanner();
      if (this.visible) this.render();
    } catch (e) {
      this.onError(`Cannot ${action} the load shape: ${e.message}`);
    }
  }

  renderBanner() {
    const d = this.data;
    const paused = Boolean(d) && d.state === 'paused';
    byId('shape-banner').hidden = !paused;
    if (paused) {
      const since = d.paused_since ? ` since ${new Date(d.paused_since).toLocaleTimeString()}` : '';
      const then = this.readOnly ? 'Users stay as they are until someone resumes it.' : 'Users stay as they are until you resume it.';
      setText(byId('shape-banner-text'), `Load shape paused${since}: ${d.paused_reason || 'paused'}. ${then}`);
    }
    // Editing users pauses a running shape: the Start/Edit dialog says so.
    byId('swarm-shape-note').hidden = !d || d.state !== 'running';
    byId('btn-shape-resume').hidden = this.readOnly;
    setText(byId('shape-state'), d ? d.state : '–');
    byId('shape-state').dataset.state = d ? d.state : '';
    byId('btn-shape-pause').hidden = this.readOnly || !d || d.state !== 'running';
    byId('btn-shape-resume-tab').hidden = this.readOnly || !d || d.state === 'running';
  }

  render() {
    const d = this.data;
    if (!d) return;
    const p = d.point;
    setText(byId('shape-description'), d.description);
    const unit = d.model === 'open' ? 'arrivals/s' : 'users';
    const parts = [`${fmtNumber(p.value)} ${unit}`, `base ${fmtNumber(p.base)}`];
    if (p.users_factor !== 1) parts.push(`× ${fmtNumber(p.users_factor)} (incidents)`);
    if (p.bursts > 0) parts.push(`+ ${fmtNumber(p.burst_extra)} (${p.bursts} burst${p.bursts > 1 ? 's' : ''})`);
    if (p.incidents.length) parts.push(`active: ${p.incidents.join(', ')}`);
    if (d.arrivals) parts.push(`arrived ${d.arrivals.arrived}, dropped ${d.arrivals.dropped}`);
    setText(byId('shape-point'), parts.join(' · '));
    setText(byId('shape-now'), `${fmtVirtual(d.now, d.timezone)} (${d.timezone}${d.time_scale !== 1 ? `, ×${d.time_scale}` : ''})`);
    replaceRows(byId('shape-changes').tBodies[0], d.next_changes.map((c) => el('tr', {},
      el('td', {}, fmtVirtual(c.at, d.timezone)),
      el('td', {}, fmtIn(c.in_seconds)),
      el('td', {}, KIND_LABELS[c.kind] || c.kind),
      el('td', {}, c.name || ''),
      el('td', { className: 'num' }, fmtNumber(c.value)))));
    replaceRows(byId('shape-events').tBodies[0], d.events.slice().reverse().map((e) => el('tr', {},
      el('td', {}, new Date(e.at).toLocaleTimeString()),
      el('td', {}, fmtVirtual(e.virtual_at, d.timezone)),
      el('td', {}, KIND_LABELS[e.kind] || e.kind),
      el('td', {}, e.name || ''))));
    byId('shape-events-empty').hidden = d.events.length > 0;
    this.drawCurve(d, unit);
  }

  drawCurve(d, unit) {
    const box = byId('shape-curve');
    if (!window.uPlot) return;
    const xs = d.curve.map((pt) => pt[0] / 1000);
    const ys = d.curve.map((pt) => pt[1]);
    const now = d.now / 1000;
    this.now = now;
    this.windows = d.incident_windows || [];
    const width = Math.max(300, box.clientWidth || 800);
    if (!this.plot) {
      const view = this;
      this.plot = new window.uPlot({
        width,
        height: 260,
        scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        series: [{}, { label: unit, stroke: '#0f8b8d', width: 2, fill: '#0f8b8d22', points: { show: false } }],
        hooks: {
          draw: [(u) => {
            const ctx = u.ctx;
            // Incident windows: shaded bands with the incident's name.
            ctx.save();
            const left = u.bbox.left;
            const right = u.bbox.left + u.bbox.width;
            for (const w of view.windows) {
              const x0 = Math.max(left, u.valToPos(w.start / 1000, 'x', true));
              const x1 = Math.min(right, u.valToPos(w.end / 1000, 'x', true));
              if (x1 <= x0) continue;
              ctx.fillStyle = '#e0a10033';
              ctx.fillRect(x0, u.bbox.top, x1 - x0, u.bbox.height);
              ctx.fillStyle = '#8a6200';
              ctx.fillText(w.name, x0 + 3, u.bbox.top + u.bbox.height - 6);
            }
            ctx.restore();
            // The "now" marker: a vertical line at the virtual now.
            const x = u.valToPos(view.now, 'x', true);
            ctx.save();
            ctx.strokeStyle = '#d6453a';
            ctx.lineWidth = 2;
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
            ctx.fillStyle = '#d6453a';
            ctx.fillText('now', x + 4, u.bbox.top + 12);
            ctx.restore();
          }],
        },
      }, [xs, ys], box);
    } else {
      this.plot.setSize({ width, height: 260 });
      this.plot.setData([xs, ys]);
    }
  }
}
