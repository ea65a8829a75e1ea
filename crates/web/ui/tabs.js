// Tab switching (the open tab is in the URL hash, so a reload keeps it) and the smaller views:
// Failures, Workers, Current ratio and Logs.

import { byId, el, replaceRows, setText } from './dom.js';
import { ago, bytes, clock, count, dateTime, percent } from './format.js';

export const TABS = ['stats', 'charts', 'shape', 'failures', 'workers', 'ratio', 'downloads', 'logs'];

export class Tabs {
  constructor(onShow) {
    this.onShow = onShow;
    this.current = null;
    for (const button of document.querySelectorAll('[role="tab"]')) {
      button.addEventListener('click', () => {
        history.replaceState(null, '', `#${button.dataset.tab}`);
        this.show(button.dataset.tab);
      });
    }
    window.addEventListener('hashchange', () => this.show(location.hash.slice(1)));
    this.show(location.hash.slice(1));
  }

  show(name) {
    const tab = TABS.includes(name) ? name : 'stats';
    if (tab === this.current) return;
    this.current = tab;
    for (const t of TABS) {
      byId(`tab-${t}`).hidden = t !== tab;
      byId(`tabbtn-${t}`).setAttribute('aria-selected', String(t === tab));
    }
    this.onShow(tab);
  }
}

/** Failures: grouped by request and reason, most frequent first. */
export function renderFailures(failures, truncated) {
  const rows = failures.map((f) => el('tr', {},
    el('td', { className: 'num fails' }, count(f.count)),
    el('td', {}, f.method),
    el('td', { className: 'name', title: f.name }, f.name),
    el('td', {}, f.kind),
    el('td', { className: 'message' }, f.reason),
    el('td', {}, dateTime(f.first_seen)),
    el('td', {}, dateTime(f.last_seen))));
  if (truncated) {
    rows.push(el('tr', {}, el('td', { colSpan: 7, className: 'note' },
      'Failure row limit reached: further distinct failures are counted in the OTHER row.')));
  }
  replaceRows(byId('failures-table').tBodies[0], rows);
  byId('failures-table').hidden = failures.length === 0;
  byId('failures-empty').hidden = failures.length > 0;
}

/** The failures tab's badge: how many failures in total. */
export function failuresBadge(stats) {
  setText(byId('failures-count'), stats.total_failures > 0 ? count(stats.total_failures) : '');
}

/** Workers: id, state, users, CPU, memory, last heartbeat. */
export function renderWorkers(workers) {
  replaceRows(byId('workers-table').tBodies[0], workers.map((w) => el('tr', {},
    el('td', { className: 'name' }, w.id),
    el('td', {}, el('span', { className: 'state', dataset: { state: w.state } }, w.state)),
    el('td', { className: 'num' }, count(w.users)),
    el('td', { className: 'num' }, `${w.cpu_percent.toFixed(1)}%`),
    el('td', { className: 'num' }, bytes(w.memory_bytes)),
    el('td', {}, ago(w.last_seen)))));
}

function bar(share) {
  return el('div', { className: 'bar' }, el('span', { style: `width:${Math.min(100, share * 100).toFixed(1)}%` }));
}

/** Current ratio: user types (share of users, running now) and their tasks. */
export function renderRatio(ratio) {
  const cards = ratio.user_types.map((t) => {
    const share = t.fixed_count !== null && t.fixed_count !== undefined
      ? `exactly ${count(t.fixed_count)} users`
      : `${percent(t.share, 1)} of users (weight ${t.weight})`;
    const rows = t.tasks.map((task) => el('tr', {},
      el('td', {}, el('div', {}, task.name), bar(task.share)),
      el('td', { className: 'pct', title: `${percent(task.total_share, 1)} of all tasks` }, percent(task.share, 1))));
    return el('div', { className: 'card' },
      el('h3', {}, t.name),
      el('div', { className: 'sub' }, `${share} · ${count(t.users)} running now${t.sequential ? ' · tasks in order' : ''}`),
      el('table', {}, el('tbody', {}, ...rows)));
  });
  byId('ratio').replaceChildren(...cards);
}

/** Logs: the last warnings and errors, newest first, at most `max`. */
export class LogsView {
  constructor(max) {
    this.max = max;
    this.events = [];
    this.lastSeq = 0;
    this.seen = 0;
  }

  add(events) {
    for (const e of events) {
      if (e.seq > this.lastSeq) {
        this.events.push(e);
        this.lastSeq = e.seq;
      }
    }
    if (this.events.length > this.max) this.events.splice(0, this.events.length - this.max);
  }

  render(visible) {
    if (visible) this.seen = this.lastSeq;
    const unseen = this.events.filter((e) => e.seq > this.seen).length;
    setText(byId('logs-count'), unseen > 0 ? count(unseen) : '');
    if (!visible) return;
    const rows = [];
    for (let i = this.events.length - 1; i >= 0; i -= 1) {
      const e = this.events[i];
      rows.push(el('tr', {},
        el('td', {}, clock(e.time_ms)),
        el('td', { className: `level-${e.level}` }, e.level),
        // The component as a badge; the module (target) on hover.
        el('td', { className: 'component', title: e.target },
          el('span', { className: 'badge' }, e.component || e.target)),
        el('td', { className: 'message' }, e.message)));
    }
    replaceRows(byId('logs-table').tBodies[0], rows);
    byId('logs-table').hidden = rows.length === 0;
    byId('logs-empty').hidden = rows.length > 0;
  }
}
