// Number and time formatting, in the units Locust shows.

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

/** A count with thousands separators. */
export const count = (n) => integer.format(n || 0);

/** Milliseconds: more decimals for small values, like the console table. */
export function ms(v) {
  v = Number(v) || 0;
  if (v < 10) return v.toFixed(2);
  if (v < 100) return v.toFixed(1);
  return integer.format(Math.round(v));
}

/** A rate per second, one decimal. */
export const rate = (v) => (Number(v) || 0).toFixed(1);

/** A ratio (0-1) as a percentage. */
export function percent(ratio, digits = 0) {
  const p = (Number(ratio) || 0) * 100;
  if (p > 0 && p < 1 && digits === 0) return '<1%';
  return `${p.toFixed(digits)}%`;
}

/** Bytes as B, KiB, MiB, GiB. */
export function bytes(n) {
  n = Number(n) || 0;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${i === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[i]}`;
}

/** Unix seconds as a local date and time. */
export function dateTime(unixSecs) {
  if (!unixSecs) return '–';
  return new Date(unixSecs * 1000).toLocaleString(undefined, {
    month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
}

/** Unix milliseconds as a local time of day (with the date when it is not today). */
export function clock(unixMs) {
  const d = new Date(unixMs);
  const today = new Date();
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return d.toDateString() === today.toDateString()
    ? time
    : `${d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })} ${time}`;
}

/** A duration in seconds as "1h 2m", "3m 4s", "5s". */
export function duration(secs) {
  secs = Math.max(0, Math.round(secs));
  const d = Math.floor(secs / 86400);
  const h = Math.floor((secs % 86400) / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s}s`;
  return `${s}s`;
}

/** How long ago (Unix seconds), e.g. "just now", "12s ago". */
export function ago(unixSecs) {
  const secs = Date.now() / 1000 - unixSecs;
  return secs < 2 ? 'just now' : `${duration(secs)} ago`;
}
