//! Many simulated workers against a real master, for `bench/master.sh`: each opens the real
//! protocol stream, says hello, sends a heartbeat every second and a statistics report with
//! `--entries` request names (full HDR histograms) every two seconds, and measures how long the
//! master takes to acknowledge each report (a lagging master shows as growing latency).
//!
//! ```text
//! cargo run --release -p cicada-cluster --example simulated_workers -- \
//!     --master 127.0.0.1:5557 --workers 50 --entries 1000 --secs 60
//! ```

use std::time::{Duration, Instant};

use cicada_cluster::proto::cluster_client::ClusterClient;
use cicada_cluster::proto::{
    Heartbeat, Hello, StatsReport, TypeCount, WorkerMessage, WorkerState, master_message,
    worker_message,
};
use cicada_cluster::{CICADA_VERSION, PROTOCOL_VERSION};
use cicada_stats::{Interval, RequestKey};
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

struct Args {
    master: String,
    workers: usize,
    entries: usize,
    secs: u64,
    user_type: String,
}

fn args() -> Args {
    let mut a = Args {
        master: "127.0.0.1:5557".into(),
        workers: 50,
        entries: 1000,
        secs: 60,
        user_type: "U".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--master" => a.master = value,
            "--workers" => a.workers = value.parse().unwrap_or(a.workers),
            "--entries" => a.entries = value.parse().unwrap_or(a.entries),
            "--secs" => a.secs = value.parse().unwrap_or(a.secs),
            "--user-type" => a.user_type = value,
            other => {
                eprintln!("unknown flag {other}");
                std::process::exit(2);
            }
        }
    }
    a
}

/// One interval with `entries` names, ten requests each at varied latencies.
fn interval(entries: usize, round: u64) -> Vec<u8> {
    let mut i = Interval::new();
    for e in 0..entries {
        let key = RequestKey::new("GET", format!("/api/v1/resource/{e}"));
        for r in 0..10u64 {
            let us = 500 + (e as u64 * 37 + r * 1013 + round * 7) % 200_000;
            i.record(&key, Duration::from_micros(us), 512, None);
        }
    }
    i.to_bytes()
}

async fn worker(n: usize, a: &Args, payload: Vec<u8>) -> Vec<Duration> {
    let mut client = ClusterClient::connect(format!("http://{}", a.master))
        .await
        .expect("the master accepts")
        .max_decoding_message_size(64 * 1024 * 1024);
    let (tx, rx) = mpsc::channel(64);
    // A full queue drops the message: the bench measures the master, not this sender.
    let send = |kind| {
        let _ = tx.try_send(WorkerMessage { kind: Some(kind) });
    };
    send(worker_message::Kind::Hello(Hello {
        protocol_version: PROTOCOL_VERSION,
        cicada_version: CICADA_VERSION.into(),
        worker_id: format!("sim-{n}"),
        ..Hello::default()
    }));
    let mut replies = client
        .session(ReceiverStream::new(rx))
        .await
        .expect("a stream")
        .into_inner();
    let end = Instant::now() + Duration::from_secs(a.secs);
    let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
    let mut stats = tokio::time::interval(Duration::from_secs(2));
    let mut seq = 0u64;
    let mut sent_at: Vec<(u64, Instant)> = Vec::new();
    let mut latencies = Vec::new();
    while Instant::now() < end {
        tokio::select! {
            _ = heartbeat.tick() => {
                send(worker_message::Kind::Heartbeat(Heartbeat {
                    state: WorkerState::Running as i32,
                    running: vec![TypeCount { user_type: a.user_type.clone(), users: 0 }],
                    ..Heartbeat::default()
                }));
            }
            _ = stats.tick() => {
                seq += 1;
                sent_at.push((seq, Instant::now()));
                send(worker_message::Kind::Stats(StatsReport { seq, interval: payload.clone() }));
            }
            reply = replies.next() => match reply {
                Some(Ok(m)) => {
                    if let Some(master_message::Kind::HeartbeatReply(r)) = m.kind {
                        sent_at.retain(|(s, at)| {
                            if *s <= r.stats_acked {
                                latencies.push(at.elapsed());
                                false
                            } else {
                                true
                            }
                        });
                    }
                }
                _ => break,
            },
        }
    }
    latencies
}

#[tokio::main]
async fn main() {
    let a = std::sync::Arc::new(args());
    let payload = interval(a.entries, 0);
    eprintln!(
        "{} simulated workers, {} entries each ({} bytes per report), {} s",
        a.workers,
        a.entries,
        payload.len(),
        a.secs
    );
    let mut tasks = Vec::new();
    for n in 0..a.workers {
        let (a, payload) = (a.clone(), payload.clone());
        tasks.push(tokio::spawn(async move { worker(n, &a, payload).await }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "reports acknowledged: {}, ack latency p50 {:?}, p99 {:?}, max {:?}",
        all.len(),
        pct(0.5),
        pct(0.99),
        all.last().copied().unwrap_or_default()
    );
}
