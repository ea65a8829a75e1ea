//! cicada: a load generator that runs around the clock and sends realistic user traffic to a
//! web API.
//!
//! This crate is the command line: it parses flags, loads the scenario, and wires the
//! components together. The work happens in the component crates:
//!
//! - `cicada-scenario`: the YAML scenario model (parsing, validation, templates, checks);
//! - `cicada-engine`: simulated users and their HTTP sessions;
//! - `cicada-stats`: histograms, bounded history, reports;
//! - `cicada-telemetry`: logging.
//!
//! A crate that writes user types in Rust depends on this one, registers them in a
//! [`Registry`] and calls [`main_with`] (see `examples/rust_user.rs`); the types it needs are
//! re-exported under [`engine`].
//!
//! # Layout
//! - [`cli`]: flags; [`config`]: flags resolved into typed settings;
//! - [`registry`]: built-in (Rust) scenarios; [`source`]: loading the scenario;
//! - [`headless`]: a run with tables on stdout; [`web_run`]: a run with the web UI;
//!   [`reports`]: report files;
//! - [`signal`]: SIGINT/SIGTERM; [`exit`]: exit statuses.

pub mod cli;
mod cluster_cmd;
pub mod config;
mod demo_cmd;
pub mod headless;
mod launch;
mod otel;
pub mod registry;
pub mod reports;
pub mod signal;
pub mod source;
mod start_gate;
mod target_cmd;
mod validate;
pub mod web_run;

use std::process::ExitCode;

use clap::Parser;
use tokio_util::sync::CancellationToken;

pub use cicada_engine as engine;
pub use registry::Registry;

use crate::cli::{Cli, Command, RunArgs};

/// Exit statuses.
pub mod exit {
    /// The run ended normally.
    pub const OK: u8 = 0;
    /// `--fail-ratio` was exceeded.
    pub const FAIL_RATIO: u8 = 1;
    /// Bad flags or a bad scenario: nothing ran.
    pub const USAGE: u8 = 2;
    /// A runtime error (e.g. a report could not be written).
    pub const RUNTIME: u8 = 3;
}

/// The `cicada` command line, with the given built-in scenarios.
pub fn main_with(registry: Registry) -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    match cli.command {
        Command::Validate(args) => validate::run(&args, &registry),
        Command::Run(args) => run_command(&args, &registry),
        Command::Target(args) => target_cmd::run(&args),
        Command::Demo(args) => demo_cmd::run(&args, &registry),
        Command::Master(args) => cluster_cmd::master(&args, &registry),
        Command::Worker(args) => cluster_cmd::worker(&args, &registry),
    }
}

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(exit::USAGE)
}

fn run_command(args: &RunArgs, registry: &Registry) -> ExitCode {
    let prepared = match launch::prepare(args, registry) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let host = match launch::resolve_host(&prepared) {
        Ok(h) => h,
        Err(code) => return code,
    };
    let runtime = match launch::runtime(prepared.cfg.worker_threads) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let plan = prepared.loaded.plan.clone();
    let result = runtime.block_on(async {
        let shutdown = CancellationToken::new();
        tokio::spawn(signal::cancel_on_signal(shutdown.clone()));
        launch::drive(prepared, plan, host, shutdown).await
    });
    launch::finish(runtime, result)
}
