//! A headless run: start the users at once, print a table every few seconds, stop on the run
//! time or a signal, then print the summary and write the reports.
//!
//! The [`Controller`] does the work (engine, aggregation every second, run time); this module
//! only prints. Shutdown order is the controller's: users are told to stop and get
//! `stop_timeout` to finish their in-flight request, and only then is the last interval taken,
//! so the final report includes those last requests.

use cicada_control::Controller;
use cicada_stats::{Stats, report};
use cicada_web::ReportInfo;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::config::RunConfig;
use crate::reports::{ReportFiles, scenario_label};
use crate::start_gate::StartGate;

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
    controller: Controller,
    gate: StartGate,
    shutdown: CancellationToken,
) -> anyhow::Result<Outcome> {
    let host = controller.status().host;
    if controller.has_shape() {
        tracing::info!(host = %host, run_time = ?cfg.run_time, "starting with the load shape");
    } else {
        tracing::info!(host = %host, users = cfg.users, spawn_rate = cfg.spawn_rate, run_time = ?cfg.run_time, "starting");
    }
    // Subscribe before starting, so a very short run time cannot end unnoticed.
    let run_ended = controller.run_time_elapsed();
    tokio::pin!(run_ended);
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = gate.autostart(&controller, cfg) => {}
    }

    let mut ticks = controller.ticks();
    let mut next_print = cfg.print_interval.map(|p| Instant::now() + p);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            _ = &mut run_ended => break,
            changed = ticks.changed() => {
                if changed.is_err() {
                    break;
                }
                if let (Some(at), Some(every)) = (next_print, cfg.print_interval)
                    && Instant::now() >= at
                {
                    controller.with_stats(|s| println!("{}", report::table(s)));
                    next_print = Some(at + every);
                }
            }
        }
    }

    if !controller.shutdown(cfg.stop_timeout).await {
        tracing::warn!(
            timeout = ?cfg.stop_timeout,
            "some users did not finish their request in time; their last requests are not counted"
        );
    }
    let info = ReportInfo {
        scenario: scenario_label(&cfg.source),
        host,
        plan: Some(controller.plan()),
    };
    controller.with_stats(|stats| finish(cfg, stats, &info))
}

/// Prints the final tables (statistics, percentiles, failures) like Locust at the end of a run.
pub fn print_summary(stats: &Stats) {
    println!("{}", report::table(stats));
    println!("{}", report::percentile_table(stats));
    if stats.total_failures() > 0 {
        println!("Error report");
        println!("{}", report::failures_table(stats));
    }
}

/// The end of a run (headless or with the web UI): the final tables, the report files, and
/// the `--fail-ratio` verdict.
pub fn finish(cfg: &RunConfig, stats: &Stats, info: &ReportInfo) -> anyhow::Result<Outcome> {
    print_summary(stats);
    ReportFiles::of(cfg).write(stats, info)?;
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
