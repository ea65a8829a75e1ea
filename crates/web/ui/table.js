// The Statistics table: Locust's columns (and a few more in the column chooser), sortable by
// any column, filterable, with the Aggregated row pinned at the bottom.
//
// Smooth with 1,000 rows (the server's default row limit): the rows live as data; only the
// rows in view (plus a margin) exist in the DOM, in a small pool of <tr> elements that are
// refilled on every update or scroll, between two spacer rows that keep the scrollbar right.
// Updating and sorting cost the same with 10 rows or 1,000, and only cells whose text changed
// are written.
import { el, setText, store } from './dom.js';
import { count, ms, rate, percent, bytes } from './format.js';

const pct = (p) => (e) => (e.percentiles ? e.percentiles[p] : 0);

/** Every column; `hidden` ones start switched off (the column chooser turns them on). */
const COLUMNS = [
  { key: 'method', label: 'Type', get: (e) => e.method, fmt: String, text: true },
  { key: 'name', label: 'Name', get: (e) => e.name, fmt: String, text: true, cls: 'name', fixed: true },
  { key: 'requests', label: '#\u00a0Requests', get: (e) => e.requests, fmt: count },
  { key: 'failures', label: '#\u00a0Fails', get: (e) => e.failures, fmt: count, bad: (e) => e.failures > 0 },
  { key: 'p50', label: 'Median (ms)', get: (e) => e.p50_ms, fmt: ms },
  { key: 'p95', label: '95%ile (ms)', get: (e) => e.p95_ms, fmt: ms },
  { key: 'p99', label: '99%ile (ms)', get: (e) => e.p99_ms, fmt: ms },
  { key: 'avg', label: 'Average (ms)', get: (e) => e.avg_ms, fmt: ms },
  { key: 'min', label: 'Min (ms)', get: (e) => e.min_ms, fmt: ms },
  { key: 'max', label: 'Max (ms)', get: (e) => e.max_ms, fmt: ms },
  { key: 'size', label: 'Average size (bytes)', get: (e) => e.avg_bytes, fmt: (v) => count(Math.round(v)) },
  { key: 'rps', label: 'Current RPS', get: (e) => e.current_rps, fmt: rate },
  { key: 'fps', label: 'Current Failures/s', get: (e) => e.current_fail_per_sec, fmt: rate, bad: (e) => e.current_fail_per_sec > 0 },
  { key: 'fail_ratio', label: 'Failure %', get: (e) => e.fail_ratio, fmt: (v) => percent(v, 2), hidden: true },
  { key: 'avg_rps', label: 'RPS (whole run)', get: (e) => e.rps, fmt: rate, hidden: true },
  { key: 'avg_fps', label: 'Failures/s (whole run)', get: (e) => e.fail_per_sec, fmt: rate, hidden: true },
  { key: 'p66', label: '66%ile (ms)', get: pct('66'), fmt: ms, hidden: true },
  { key: 'p75', label: '75%ile (ms)', get: pct('75'), fmt: ms, hidden: true },
  { key: 'p80', label: '80%ile (ms)', get: pct('80'), fmt: ms, hidden: true },
  { key: 'p90', label: '90%ile (ms)', get: pct('90'), fmt: ms, hidden: true },
  { key: 'p98', label: '98%ile (ms)', get: pct('98'), fmt: ms, hidden: true },
  { key: 'p999', label: '99.9%ile (ms)', get: pct('99.9'), fmt: ms, hidden: true },
  { key: 'p9999', label: '99.99%ile (ms)', get: pct('99.99'), fmt: ms, hidden: true },
  { key: 'bytes', label: 'Total size', get: (e) => e.bytes, fmt: bytes, hidden: true },
];

const rowKey = (e) => `${e.method}\u0000${e.name}`;

/** Rows rendered beyond the visible ones, above and below. */
const MARGIN = 15;

export class StatsTable {
  constructor({ table, chooser, filter, note, empty }) {
    this.table = table;
    this.thead = table.tHead;
    this.tbody = table.tBodies[0];
    this.tfoot = table.tFoot;
    this.scroller = table.parentElement;
    this.chooser = chooser;
    this.note = note;
    this.empty = empty;
    const defaults = COLUMNS.filter((c) => !c.hidden).map((c) => c.key);
    const saved = store.get('cicada-columns', defaults);
    this.visible = new Set(Array.isArray(saved) ? saved : defaults);
    this.visible.add('name');
    this.sort = store.get('cicada-sort', null); // {key, dir: 1 | -1} or null: server order
    this.filter = '';
    this.last = null; // {entries, total, truncated}
    this.view = []; // the entries to show: filtered and sorted
    this.rowHeight = 33; // measured once rows exist
    this.pool = []; // reusable rows: {tr, cells: Map(colKey -> td)}
    this.total = null;
    this.topSpacer = el('tr', { className: 'spacer' }, el('td'));
    this.bottomSpacer = el('tr', { className: 'spacer' }, el('td'));
    this.frame = 0;
    filter.addEventListener('input', () => {
      this.filter = filter.value.trim().toLowerCase();
      this.refresh();
    });
    this.scroller.addEventListener('scroll', () => this.schedule(), { passive: true });
    window.addEventListener('resize', () => this.schedule());
    this.buildChooser();
    this.rebuild();
  }

  columns() {
    return COLUMNS.filter((c) => this.visible.has(c.key));
  }

  buildChooser() {
    const boxes = COLUMNS.filter((c) => !c.fixed).map((c) => {
      const input = el('input', { type: 'checkbox', checked: this.visible.has(c.key) });
      input.dataset.column = c.key;
      input.addEventListener('change', () => {
        if (input.checked) this.visible.add(c.key);
        else this.visible.delete(c.key);
        store.set('cicada-columns', [...this.visible]);
        this.rebuild();
      });
      return el('label', {}, input, c.label);
    });
    this.chooser.replaceChildren(...boxes);
  }

  buildHeader() {
    const cells = this.columns().map((c) => {
      const th = el('th', { className: `sortable${c.text ? '' : ' num'}`, scope: 'col' }, c.label);
      th.dataset.column = c.key;
      th.title = 'Sort by this column (click again to reverse, a third time for the default order)';
      if (this.sort && this.sort.key === c.key) {
        th.setAttribute('aria-sort', this.sort.dir > 0 ? 'ascending' : 'descending');
      }
      th.addEventListener('click', () => this.toggleSort(c));
      return th;
    });
    this.thead.replaceChildren(el('tr', {}, ...cells));
  }

  toggleSort(column) {
    // Numbers sort descending first (the biggest is the interesting one), text ascending.
    const first = column.text ? 1 : -1;
    if (!this.sort || this.sort.key !== column.key) this.sort = { key: column.key, dir: first };
    else if (this.sort.dir === first) this.sort = { key: column.key, dir: -first };
    else this.sort = null;
    store.set('cicada-sort', this.sort);
    this.buildHeader();
    this.refresh();
  }

  /** New columns: new header, new row pool. */
  rebuild() {
    this.pool = [];
    this.total = null;
    this.tfoot.replaceChildren();
    this.topSpacer.firstChild.colSpan = this.columns().length;
    this.bottomSpacer.firstChild.colSpan = this.columns().length;
    this.tbody.replaceChildren(this.topSpacer, this.bottomSpacer);
    this.buildHeader();
    this.refresh();
  }

  makeRow() {
    const tr = el('tr', { className: 'row' });
    const cells = new Map();
    for (const c of this.columns()) {
      const td = el('td', { className: c.cls || (c.text ? '' : 'num') });
      cells.set(c.key, td);
      tr.append(td);
    }
    return { tr, cells };
  }

  fill(row, entry) {
    for (const c of this.columns()) {
      const td = row.cells.get(c.key);
      setText(td, c.fmt(c.get(entry)));
      if (c.bad) td.classList.toggle('fails', c.bad(entry));
      if (c.key === 'name' && td.title !== entry.name) td.title = entry.name;
    }
  }

  /** Shows these rows (the server's order is by name, then type). */
  update(entries, total, truncated) {
    this.last = { entries, total, truncated };
    this.refresh();
  }

  /** Recomputes the filtered, sorted view and draws it. */
  refresh() {
    if (!this.last) return;
    const { entries, total, truncated } = this.last;
    let view = this.filter ? entries.filter((e) => this.matches(e)) : entries;
    if (this.sort) {
      const column = COLUMNS.find((c) => c.key === this.sort.key);
      if (column) {
        const dir = this.sort.dir;
        view = [...view].sort((a, b) => {
          const x = column.get(a);
          const y = column.get(b);
          const c = column.text ? String(x).localeCompare(String(y)) : (x || 0) - (y || 0);
          return c * dir || rowKey(a).localeCompare(rowKey(b));
        });
      }
    }
    this.view = view;
    if (!this.total) {
      this.total = this.makeRow();
      this.total.tr.className = 'total';
      this.tfoot.replaceChildren(this.total.tr);
    }
    this.fill(this.total, { ...total, method: '', name: 'Aggregated' });
    this.empty.hidden = entries.length > 0;
    this.table.hidden = entries.length === 0;
    const shown = this.filter ? `${count(view.length)} of ${count(entries.length)} rows` : `${count(entries.length)} rows`;
    setText(this.note, entries.length === 0 ? '' : `${shown}${truncated
      ? ' · row limit reached: further names are counted in the OTHER row (give URLs with ids a fixed name)'
      : ''}`);
    this.draw();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** Fills the pool with the rows in view and sizes the spacers. */
  draw() {
    if (this.table.hidden) return;
    const total = this.view.length;
    const height = this.rowHeight;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / height) - MARGIN);
    const visible = Math.ceil((this.scroller.clientHeight || 800) / height) + 2 * MARGIN;
    const last = Math.min(total, first + visible);
    const needed = last - first;
    while (this.pool.length < needed) {
      const row = this.makeRow();
      this.pool.push(row);
      this.tbody.insertBefore(row.tr, this.bottomSpacer);
    }
    for (let i = 0; i < this.pool.length; i += 1) {
      const row = this.pool[i];
      if (i < needed) {
        this.fill(row, this.view[first + i]);
        if (row.tr.hidden) row.tr.hidden = false;
      } else if (!row.tr.hidden) {
        row.tr.hidden = true;
      }
    }
    this.topSpacer.hidden = first === 0;
    this.bottomSpacer.hidden = last >= total;
    this.topSpacer.firstChild.style.height = `${first * height}px`;
    this.bottomSpacer.firstChild.style.height = `${(total - last) * height}px`;
    // Measure the real row height once (fonts and zoom vary), then draw again if it differs.
    if (needed > 0 && this.pool[0].tr.offsetHeight > 0) {
      const measured = this.pool[0].tr.offsetHeight;
      if (Math.abs(measured - height) > 0.5) {
        this.rowHeight = measured;
        this.schedule();
      }
    }
  }

  matches(entry) {
    return entry.name.toLowerCase().includes(this.filter)
      || entry.method.toLowerCase().includes(this.filter);
  }
}
