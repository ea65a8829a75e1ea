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
//! - [`cli`]: flags; [`config_file`]: `cicada.toml` values added below flags and environment;
//!   [`config`]: flags resolved into typed settings;
//! - [`registry`]: built-in (Rust) scenarios; [`source`]: loading the scenario;
//! - [`headless`]: a run with tables on stdout; [`web_run`]: a run with the web UI;
//!   [`reports`]: report files;
//! - `reload`: scenario hot reload (the file polled by content, SIGHUP);
//! - [`signal`]: SIGINT/SIGTERM/SIGHUP; [`exit`]: exit statuses.

pub mod cli;
mod cluster_cmd;
pub mod config;
pub mod config_file;
mod demo_cmd;
pub mod headless;
mod launch;
mod otel;
pub mod registry;
mod reload;
pub mod reports;
pub mod signal;
pub mod source;
mod start_gate;
mod target_cmd;
mod validate;
pub mod web_run;
mod worker_metrics;

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
    let env = |name: &str| std::env::var(name).ok();
    let argv = with_locust_mode(std::env::args_os().collect(), &env);
    let cwd = std::env::current_dir().unwrap_or_default();
    let applied = match config_file::apply(argv, &env, &cwd) {
        Ok(applied) => applied,
        Err(e) => return usage_error(e),
    };
    let cli = match Cli::try_parse_from(&applied.argv) {
        Ok(cli) => cli,
        Err(e) => {
            if let Some(from_file) = applied.explain(&e) {
                return usage_error(from_file);
            }
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

/// Locust's images choose their role from `LOCUST_MODE_MASTER` / `LOCUST_MODE_WORKER`; a
/// migrated deployment that starts `cicada` without a subcommand gets the same role (an explicit
/// subcommand always wins).
fn with_locust_mode(
    mut argv: Vec<std::ffi::OsString>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<std::ffi::OsString> {
    let has_subcommand = argv
        .get(1)
        .is_some_and(|a| !a.to_string_lossy().starts_with('-'));
    if has_subcommand {
        return argv;
    }
    let set = |name: &str| {
        env(name)
            .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
    };
    let role = if set("LOCUST_MODE_MASTER") {
        Some("master")
    } else if set("LOCUST_MODE_WORKER") {
        Some("worker")
    } else {
        None
    };
    if let Some(role) = role {
        let at = argv.len().min(1);
        argv.insert(at, role.into());
    }
    argv
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

#[cfg(test)]
mod tests {
    use super::with_locust_mode;

    fn run(argv: &[&str], env: &[(&str, &str)]) -> Vec<String> {
        let env = |name: &str| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        };
        with_locust_mode(argv.iter().map(Into::into).collect(), &env)
            .into_iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn locust_mode_variables_pick_the_role_when_no_subcommand_is_given() {
        assert_eq!(
            run(&["cicada"], &[("LOCUST_MODE_MASTER", "true")]),
            ["cicada", "master"]
        );
        assert_eq!(
            run(&["cicada", "--headless"], &[("LOCUST_MODE_WORKER", "1")]),
            ["cicada", "worker", "--headless"]
        );
        assert_eq!(
            run(&["cicada", "run"], &[("LOCUST_MODE_MASTER", "true")]),
            ["cicada", "run"],
            "an explicit subcommand wins"
        );
        assert_eq!(
            run(&["cicada"], &[("LOCUST_MODE_MASTER", "false")]),
            ["cicada"]
        );
    }
}
