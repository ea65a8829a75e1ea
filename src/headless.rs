//! A headless run: start the engine, aggregate statistics every second, print a table every
//! few seconds, stop on the run time or a signal, then print the summary and write reports.
//!
//! Shutdown order matters and is written down here: (1) the engine's users are told to stop
//! and get `stop_timeout` to finish their in-flight request; (2) only then is the last interval
//! taken from the recorder, so the final report includes those last requests; (3) reports are
//! written. The aggregator never blocks users: they record into sharded buffers, and the one
//! lock on [`Stats`] is held only by this task.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use cicada_engine::{Engine, EngineConfig, EngineHandle, Plan};
use cicada_stats::{Recorder, Stats, report};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::config::RunConfig;
use crate::reports::ReportFiles;

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Requests counted.
    pub requests: u64,
    /// Failed requests counted.
    pub failures: u64,
    /// `failures / requests` (0 without requests).
    pub fail_ratio: f64,
    /// True when `--fail-ratio` was given and exceeded.
    pub fail_ratio_exceeded: bool,
}

/// Runs users until `run_time` passes or `shutdown` is cancelled.
pub async fn run(
    cfg: &RunConfig,
    plan: Arc<Plan>,
    host: Url,
    shutdown: CancellationToken,
) -> anyhow::Result<Outcome> {
    let reports = ReportFiles::of(cfg);

    let recorder = Recorder::new();
    let stats = Arc::new(Mutex::new(Stats::new(cfg.stats.clone())));
    let engine_stop = CancellationToken::new();
    let engine = Engine::start(
        plan,
        EngineConfig {
            host: host.clone(),
            client: cfg.client.clone(),
            seed: cfg.seed,
        },
        recorder.clone(),
        engine_stop.clone(),
    )?;
    tracing::info!(
        host = %host,
        users = cfg.users,
        spawn_rate = cfg.spawn_rate,
        run_time = ?cfg.run_time,
        "starting"
    );
    engine.set_users(cfg.users, cfg.spawn_rate);

    let deadline = cfg.run_time.map(|t| Instant::now() + t);
    let mut second = tokio::time::interval(Duration::from_secs(1));
    second.set_missed_tick_behavior(MissedTickBehavior::Delay);
    second.tick().await; // the first tick is immediate
    let mut next_print = cfg.print_interval.map(|p| Instant::now() + p);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = sleep_until_opt(deadline) => {
                tracing::info!("run time reached, stopping");
                break;
            }
            _ = second.tick() => {
                aggregate(&recorder, &stats, &engine);
                if let (Some(at), Some(every)) = (next_print, cfg.print_interval)
                    && Instant::now() >= at
                {
                    print_table(&stats);
                    next_print = Some(at + every);
                }
            }
        }
    }

    // (1) stop users and let in-flight requests finish.
    engine_stop.cancel();
    if tokio::time::timeout(cfg.stop_timeout, engine.finished())
        .await
        .is_err()
    {
        tracing::warn!(
            timeout = ?cfg.stop_timeout,
            "some users did not finish their request in time; their last requests are not counted"
        );
    }
    // (2) the last interval, (3) the summary and reports.
    aggregate(&recorder, &stats, &engine);
    let stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
    println!("{}", report::table(&stats));
    println!("Response time percentiles (approximated)");
    println!("{}", report::percentile_table(&stats));
    if stats.total_failures() > 0 {
        println!("Error report");
        println!("{}", report::failures_table(&stats));
    }
    reports.write(&stats)?;

    let fail_ratio = stats.fail_ratio();
    let exceeded = cfg.fail_ratio.is_some_and(|limit| fail_ratio > limit);
    if exceeded {
        tracing::error!(
            fail_ratio = format!("{:.2}%", fail_ratio * 100.0),
            limit = format!("{:.2}%", cfg.fail_ratio.unwrap_or(0.0) * 100.0),
            "failure ratio above --fail-ratio"
        );
    }
    Ok(Outcome {
        requests: stats.total_requests(),
        failures: stats.total_failures(),
        fail_ratio,
        fail_ratio_exceeded: exceeded,
    })
}

/// Moves what users recorded since the last call into the statistics.
fn aggregate(recorder: &Recorder, stats: &Mutex<Stats>, engine: &EngineHandle) {
    let interval = recorder.take();
    let users = engine.status().users;
    let mut stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
    stats.apply(interval, SystemTime::now(), users);
    if let Some(warning) = stats.take_overflow_warning() {
        tracing::warn!("{warning}");
    }
}

fn print_table(stats: &Mutex<Stats>) {
    let stats = stats.lock().unwrap_or_else(PoisonError::into_inner);
    println!("{}", report::table(&stats));
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
