#!/usr/bin/env python3
"""Summary and plot of a bench/soak run.

Reads the samples CSV written by bench/soak (t_s, rss_kib, cpu_s, target_rss_kib, target_cpu_s,
requests, failures, users, entries, stats_kib), prints duration, requests, mean CPU, RSS at the end of the
warm-up and at the end, and the least-squares slope of RSS over the samples after the warm-up
(MiB per hour) with PASS/FAIL against a limit; draws RSS (generator and target) and CPU per
interval into a small PNG.

The slope is an ordinary least-squares fit, so a single step (an allocator arena growing once)
weighs less than in a first-to-last difference, but a 25-minute window still turns 0.4 MiB of
noise into about 1 MiB/h: read it with the plot.
"""

import argparse
import csv
import json
import sys


def num(text):
    """A float, or None for an empty cell."""
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def slope_per_hour(points):
    """Least-squares slope of (seconds, MiB) points, in MiB per hour; None if under 2 points."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    if sxx == 0:
        return None
    sxy = sum((t - mx) * (v - my) for t, v in points)
    return sxy / sxx * 3600.0


def at_or_after(rows, key, t0):
    """The first non-empty value of `key` at or after t0 seconds."""
    for r in rows:
        if r["t_s"] >= t0 and r[key] is not None:
            return r[key]
    return None


def last(rows, key):
    for r in reversed(rows):
        if r[key] is not None:
            return r[key]
    return None


def cpu_percent(rows, key):
    """Mean CPU (% of one core) between the first and the last sample that have `key`."""
    pts = [(r["t_s"], r[key]) for r in rows if r[key] is not None]
    if len(pts) < 2 or pts[-1][0] <= pts[0][0]:
        return None
    return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0]) * 100.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--csv", required=True)
    ap.add_argument("--report", help="cicada's JSON report (--json), for the request count")
    ap.add_argument("--warmup-min", type=float, default=5.0)
    ap.add_argument("--limit-mib", type=float, default=1.0)
    ap.add_argument("--title", default="cicada soak")
    ap.add_argument("--png")
    ap.add_argument("--target-cpu", default="yes", help="no: the target restarts (flaps)")
    a = ap.parse_args()

    with open(a.csv, newline="") as f:
        rows = [{k: num(v) for k, v in r.items()} for r in csv.DictReader(f)]
    rows = [r for r in rows if r["t_s"] is not None and r["rss_kib"] is not None]
    if len(rows) < 2:
        print("too few samples", file=sys.stderr)
        return 2
    for r in rows:
        r["rss_mib"] = r["rss_kib"] / 1024.0
        r["target_rss_mib"] = None if r["target_rss_kib"] is None else r["target_rss_kib"] / 1024.0

    warm = a.warmup_min * 60.0
    duration = rows[-1]["t_s"]
    requests = last(rows, "requests")
    failures = last(rows, "failures")
    if a.report:
        try:
            with open(a.report) as f:
                total = json.load(f).get("total") or {}
            requests = total.get("requests", requests)
            failures = total.get("failures", failures)
        except (OSError, ValueError):
            pass
    after = [(r["t_s"], r["rss_mib"]) for r in rows if r["t_s"] >= warm]
    slope = slope_per_hour(after)
    t_after = [(r["t_s"], r["target_rss_mib"]) for r in rows
               if r["t_s"] >= warm and r["target_rss_mib"] is not None]
    t_slope = slope_per_hour(t_after)
    rss_warm = at_or_after(rows, "rss_mib", warm)
    rss_end = last(rows, "rss_mib")
    peak = max(r["rss_mib"] for r in rows)
    after_vals = [v for _, v in after]

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    print(f"duration        {duration / 60:.1f} min ({len(rows)} samples)")
    print(f"requests        {fmt(requests, ',.0f')} ({fmt(failures, ',.0f')} failed)"
          + (f", {requests / duration:,.0f}/s" if requests else ""))
    print(f"cicada CPU      {fmt(cpu_percent(rows, 'cpu_s'), '.1f')} % of one core (mean)")
    if a.target_cpu == "yes":
        print(f"target CPU      {fmt(cpu_percent(rows, 'target_cpu_s'), '.1f')} % of one core (mean)")
    print(f"cicada RSS      {fmt(rss_warm, '.1f')} MiB at {a.warmup_min:g} min, "
          f"{fmt(rss_end, '.1f')} MiB at the end, peak {peak:.1f} MiB; after the warm-up "
          f"{fmt(min(after_vals) if after_vals else None, '.1f')}-"
          f"{fmt(max(after_vals) if after_vals else None, '.1f')} MiB")
    print(f"target RSS      {fmt(at_or_after(rows, 'target_rss_mib', warm), '.1f')} MiB at "
          f"{a.warmup_min:g} min, {fmt(last(rows, 'target_rss_mib'), '.1f')} MiB at the end, "
          f"slope {fmt(t_slope, '+.2f')} MiB/h")
    verdict = "n/a (no samples after the warm-up)" if slope is None else (
        "PASS" if slope < a.limit_mib else "FAIL")
    print(f"cicada slope    {fmt(slope, '+.2f')} MiB/h after {a.warmup_min:g} min "
          f"(limit {a.limit_mib:g}): {verdict}")
    # The statistics rows' share (cicada_stats_memory_bytes, sampled from /metrics): it grows
    # while rows meet new latency buckets, up to a bound. Shown, not subtracted from the verdict.
    sampled = [r for r in rows if r["t_s"] >= warm and r.get("stats_kib") is not None]
    if len(sampled) >= 2:
        held = [(r["t_s"], r["stats_kib"] / 1024.0) for r in sampled]
        rest = [(r["t_s"], r["rss_mib"] - r["stats_kib"] / 1024.0) for r in sampled]
        print(f"stats rows      {held[0][1]:.1f} MiB at {a.warmup_min:g} min, {held[-1][1]:.1f} MiB "
              f"at the end, slope {fmt(slope_per_hour(held), '+.2f')} MiB/h; the rest of the "
              f"RSS {fmt(slope_per_hour(rest), '+.2f')} MiB/h")

    if a.png:
        plot(rows, a, warm, slope)
    return 0 if verdict == "PASS" else 1


def plot(rows, a, warm, slope):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["t_s"] / 60.0 for r in rows]
    fig, (ax, zx, bx) = plt.subplots(3, 1, figsize=(7, 5.6), dpi=80, sharex=True,
                                     gridspec_kw={"height_ratios": [2, 1.4, 1]})
    ax.plot(t, [r["rss_mib"] for r in rows], label="cicada RSS", color="tab:blue")
    ax.plot(t, [r["target_rss_mib"] for r in rows], label="target RSS", color="tab:orange",
            linewidth=0.8)
    ax.axvline(warm / 60.0, color="grey", linestyle=":", linewidth=0.8)
    ax.set_ylabel("MiB")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(a.title, fontsize=10)
    ax.grid(alpha=0.3)
    # The generator's RSS after the warm-up, zoomed, with the least-squares line.
    after = [r for r in rows if r["t_s"] >= warm]
    if after:
        zx.plot([r["t_s"] / 60.0 for r in after], [r["rss_mib"] for r in after],
                color="tab:blue", linewidth=0.9, label="cicada RSS after the warm-up")
        if slope is not None:
            n = len(after)
            mt = sum(r["t_s"] for r in after) / n
            mv = sum(r["rss_mib"] for r in after) / n
            ends = (after[0]["t_s"], after[-1]["t_s"])
            zx.plot([e / 60.0 for e in ends], [mv + slope / 3600.0 * (e - mt) for e in ends],
                    color="black", linestyle="--", linewidth=0.8,
                    label=f"fit {slope:+.2f} MiB/h")
        lo = min(r["rss_mib"] for r in after)
        hi = max(r["rss_mib"] for r in after)
        pad = max(0.5, (hi - lo) * 0.2)
        zx.set_ylim(lo - pad, hi + pad)
        zx.legend(loc="lower right", fontsize=8)
    zx.set_ylabel("MiB")
    zx.grid(alpha=0.3)
    # CPU per interval, % of one core.
    for key, label, color in (("cpu_s", "cicada", "tab:blue"),
                              ("target_cpu_s", "target", "tab:orange")):
        if key == "target_cpu_s" and a.target_cpu != "yes":
            continue
        xs, ys = [], []
        for p, q in zip(rows, rows[1:]):
            if p[key] is None or q[key] is None or q["t_s"] <= p["t_s"]:
                continue
            xs.append(q["t_s"] / 60.0)
            ys.append(max(0.0, (q[key] - p[key]) / (q["t_s"] - p["t_s"]) * 100.0))
        bx.plot(xs, ys, label=label, color=color, linewidth=0.8)
    bx.set_ylabel("CPU %")
    bx.set_xlabel("minutes")
    bx.set_ylim(bottom=0)
    bx.legend(loc="upper right", fontsize=8)
    bx.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(a.png)


if __name__ == "__main__":
    sys.exit(main())
