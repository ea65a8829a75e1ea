//! Memory and hot-path cost of the recorder and the statistics with many request names.
//!
//! Not a criterion benchmark (the workspace has none): a plain binary that simulates seconds of
//! traffic and prints figures. Run it with
//!
//! ```text
//! cargo bench -p cicada-stats --bench many_names
//! CICADA_BENCH_THREADS=8 cargo bench -p cicada-stats --bench many_names
//! ```
//!
//! Phase 1 ("memory"): `threads` threads record 5,000 requests per simulated second each, half
//! on 6 names and half spread over 3,000 names, latencies log-uniform between 1 ms and 10 s;
//! once a second the recorder's interval is applied to a `Stats` (1,000 rows), as the
//! standalone aggregator does. It prints the process's resident memory (VmRSS) before and after,
//! and the heap held by recorder slots and statistics rows.
//!
//! Phase 2 ("hot path"): ns per `Recorder::record` on one thread, for 6 names and for 3,000
//! names once the statistics table is full.

use std::hint::black_box;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant, UNIX_EPOCH};

use cicada_stats::{Recorder, RequestKey, Stats, StatsConfig};

const NAMES: usize = 3000;
const PER_THREAD_PER_SECOND: usize = 5000;

/// xorshift64*: deterministic and cheap.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// 1 ms .. 10 s, log-uniform.
    fn latency(&mut self) -> Duration {
        let x = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        Duration::from_micros((1000.0 * 10f64.powf(4.0 * x)) as u64)
    }
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

fn wired() -> (Recorder, Stats) {
    let recorder = Recorder::new();
    #[allow(unused_mut)]
    let mut stats = Stats::new(StatsConfig::default());
    stats.publish_admission(recorder.admission()); // new-api
    (recorder, stats)
}

/// Heap held by recorder slots and statistics rows (API added with the compact histograms).
fn report_heap(recorder: &Recorder, stats: &Stats) {
    let mib = |b: usize| b as f64 / f64::from(1 << 20);
    println!(
        "memory: recorder {} slots, {:.2} MiB; statistics rows {:.2} MiB",
        recorder.slot_count(),
        mib(recorder.heap_bytes()),
        mib(stats.rows_heap_bytes()),
    );
}

fn main() {
    let threads: usize = std::env::var("CICADA_BENCH_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let seconds: u64 = std::env::var("CICADA_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let common: Vec<RequestKey> = (0..6)
        .map(|n| RequestKey::new("GET", format!("/common/{n}")))
        .collect();
    let many: Vec<RequestKey> = (0..NAMES)
        .map(|n| RequestKey::new("GET", format!("/many/{n}")))
        .collect();

    // Phase 1: memory.
    let rss_start = rss_mib();
    let (recorder, mut stats) = wired();
    let started = Instant::now();
    // Long-lived recording threads (like a runtime's workers: one shard each), in step with
    // the aggregator through a barrier: record one second, then wait while it is applied.
    let barrier = Barrier::new(threads + 1);
    thread::scope(|s| {
        for t in 0..threads {
            let (recorder, common, many, barrier) = (&recorder, &common, &many, &barrier);
            s.spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1));
                for _ in 0..seconds {
                    for i in 0..PER_THREAD_PER_SECOND {
                        let r = rng.next();
                        let key = if i % 2 == 0 {
                            &common[(r % 6) as usize]
                        } else {
                            &many[(r % NAMES as u64) as usize]
                        };
                        recorder.record(key, rng.latency(), 512, None);
                    }
                    barrier.wait();
                    barrier.wait();
                }
            });
        }
        for second in 0..seconds {
            barrier.wait();
            let at = UNIX_EPOCH + Duration::from_secs(1_000_000 + second);
            stats.apply(recorder.take(), at, 1000);
            barrier.wait();
        }
    });
    let rss_end = rss_mib();
    println!(
        "memory: {threads} threads, {seconds} s x {} requests/s over {} names: {:.1} s; \
         VmRSS {rss_start:.1} -> {rss_end:.1} MiB (+{:.1}); rows {}",
        threads * PER_THREAD_PER_SECOND,
        NAMES + 6,
        started.elapsed().as_secs_f64(),
        rss_end - rss_start,
        stats.entry_count(),
    );
    report_heap(&recorder, &stats); // new-api

    // Phase 2: hot path, one thread, an interval taken every 100,000 records (not timed).
    // The machine may be shared: the best batch is reported besides the median.
    let cases: [(&str, &[RequestKey], bool); 3] = [
        ("6 names, 20-80 ms", &common, false),
        ("6 names, 1 ms-10 s", &common, true),
        ("3,000 names, 1 ms-10 s", &many, true),
    ];
    for (label, keys, wide) in cases {
        let mut rng = Rng(42);
        let batch = 100_000;
        // Pre-computed so that only `record` is timed.
        let plan: Vec<(usize, Duration)> = (0..batch)
            .map(|_| {
                let k = (rng.next() % keys.len() as u64) as usize;
                let d = if wide {
                    rng.latency()
                } else {
                    Duration::from_micros(20_000 + rng.next() % 60_000)
                };
                (k, d)
            })
            .collect();
        let mut per_batch = Vec::new();
        for second in 0..30 {
            let t0 = Instant::now();
            for &(k, d) in &plan {
                recorder.record(black_box(&keys[k]), d, 512, None);
            }
            per_batch.push(t0.elapsed().as_nanos() as f64 / batch as f64);
            let at = UNIX_EPOCH + Duration::from_secs(2_000_000 + second);
            stats.apply(recorder.take(), at, 1000);
        }
        per_batch.sort_by(f64::total_cmp);
        println!(
            "hot path: {label}: best {:.1} ns/record, median {:.1}",
            per_batch[0],
            per_batch[per_batch.len() / 2]
        );
    }
}
