//! `cicada demo`: the DynaClaimz stand-in target and a run against it, in one process.
//!
//! The demo is `cicada target` on 127.0.0.1:`--target-port` plus `cicada run` with the users
//! started at once (`dynaclaimz-agents` by default, 50 users at 5/s). The run's flags are built
//! as a `cicada run` command line and parsed by the same clap definitions, so the demo resolves
//! settings exactly as `run` does (including flags added to `run` later). The target's port is
//! bound before anything else, so a busy port fails at once (exit 2) and port 0 works: the run
//! is pointed at the port actually bound. Ctrl-C (or `-t`) ends the run first, then the target
//! stops, so the users never see it vanish mid-run.
//!
//! With `--otel`, both halves export spans (the users as `cicada`, the target as
//! `cicada-target`) to the same collector: each task run is one trace, from the task span
//! through the client spans to the target's server spans.

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use tokio_util::sync::CancellationToken;

use crate::cli::{DemoArgs, RunArgs};
use crate::config::parse_host;
use crate::otel::Otel;
use crate::registry::Registry;
use crate::{launch, signal, usage_error};

/// The scenario the demo runs when none is given.
pub const DEFAULT_SCENARIO: &str = "dynaclaimz-agents";

/// `cicada run`'s flags on their own, to parse the command line the demo builds.
#[derive(Debug, Parser)]
#[command(name = "cicada-demo-run")]
struct RunOnly {
    #[command(flatten)]
    args: RunArgs,
}

/// The `cicada run` command line equivalent to `args` against the target at `target`.
fn run_argv(args: &DemoArgs, target: SocketAddr) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec!["cicada-demo-run".into()];
    let mut push = |flag: &str, value: OsString| {
        argv.push(flag.into());
        argv.push(value);
    };
    match (&args.source.scenario_file, &args.source.scenario) {
        (Some(file), _) => push("--file", file.clone().into_os_string()),
        (None, Some(name)) => push("--scenario", name.into()),
        (None, None) => push("--scenario", DEFAULT_SCENARIO.into()),
    }
    push("--host", format!("http://{target}").into());
    push("--users", args.users.to_string().into());
    push("--spawn-rate", args.spawn_rate.to_string().into());
    push("--web-port", args.web_port.to_string().into());
    if let Some(t) = &args.run_time {
        push("--run-time", t.into());
    }
    if let Some(json) = &args.json {
        push("--json", json.clone().into_os_string());
    }
    if let Some(endpoint) = &args.otel_endpoint {
        push("--otel-endpoint", endpoint.into());
    }
    if args.otel {
        argv.push("--otel".into());
    }
    argv.push("--autostart".into());
    if args.headless {
        argv.push("--headless".into());
    }
    argv
}

/// Runs `cicada demo` to completion.
pub fn run(args: &DemoArgs, registry: &Registry) -> ExitCode {
    // Bind first: a busy port is the most likely problem and must fail before anything starts.
    let wanted = SocketAddr::from((Ipv4Addr::LOCALHOST, args.target_port));
    let listener = match std::net::TcpListener::bind(wanted)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
    {
        Ok(l) => l,
        Err(e) => {
            return usage_error(format!(
                "cannot listen on {wanted} for the target: {e} (pick another --target-port)"
            ));
        }
    };
    let target_addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => return usage_error(format!("cannot read the target's address: {e}")),
    };
    let run_args = match RunOnly::try_parse_from(run_argv(args, target_addr)) {
        Ok(r) => r.args,
        Err(e) => return usage_error(e),
    };
    let prepared = match launch::prepare(&run_args, registry) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let host = match parse_host("the target", &format!("http://{target_addr}")) {
        Ok(h) => h,
        Err(e) => return usage_error(e),
    };
    let runtime = match launch::runtime(prepared.cfg.worker_threads) {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    // The target exports as its own service, so the trace shows both sides.
    let env = |name: &str| std::env::var(name).ok();
    let target_otel = match crate::config::resolve_otel(
        args.otel,
        args.otel_endpoint.as_deref(),
        "cicada-target",
        &env,
    ) {
        Ok(o) => o.map(|mut c| {
            c.service_name = "cicada-target".to_string();
            c
        }),
        Err(e) => return usage_error(e),
    };
    let plan = prepared.loaded.plan.clone();
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        // The access log stays off: its lines would bury the tables (and the UI shows traffic).
        let config = cicada_target::TargetConfig {
            access_log: cicada_target::AccessLogDest::Off,
            ..Default::default()
        };
        let target_spans = Otel::start(target_otel.as_ref())?;
        let state = cicada_target::AppState::new_traced(&config, target_spans.queue())?;
        let stop_target = CancellationToken::new();
        let target = tokio::spawn(cicada_target::serve_state(
            state,
            listener,
            stop_target.clone().cancelled_owned(),
        ));
        tracing::info!(
            "DynaClaimz stand-in listening on http://{target_addr} (every seeded user's password is {})",
            cicada_target::SEED_PASSWORD
        );
        let shutdown = CancellationToken::new();
        tokio::spawn(signal::cancel_on_signal(shutdown.clone()));
        let outcome = launch::drive(prepared, plan, host, shutdown).await;
        // The run is over (its users stopped): now the target may go.
        stop_target.cancel();
        match tokio::time::timeout(Duration::from_secs(10), target).await {
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "the target ended with an error"),
            Ok(_) => {}
            Err(_) => tracing::warn!("the target did not stop within 10 s"),
        }
        target_spans.stop().await;
        outcome
    });
    launch::finish(runtime, result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};

    fn demo(args: &[&str]) -> DemoArgs {
        let mut argv = vec!["cicada", "demo"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv).map(|c| c.command) {
            Ok(Command::Demo(d)) => *d,
            other => panic!("not a demo: {other:?}"),
        }
    }

    fn run_args(args: &[&str]) -> RunArgs {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 4321));
        match RunOnly::try_parse_from(run_argv(&demo(args), addr)) {
            Ok(r) => r.args,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn defaults_run_the_agents_at_once() {
        let d = demo(&[]);
        assert_eq!(
            (d.target_port, d.users, d.spawn_rate, d.web_port),
            (3000, 50, 5.0, 8089)
        );
        let r = run_args(&[]);
        assert_eq!(r.source.scenario.as_deref(), Some(DEFAULT_SCENARIO));
        assert_eq!(r.host.as_deref(), Some("http://127.0.0.1:4321"));
        assert_eq!((r.users, r.spawn_rate), (Some(50), Some(5.0)));
        assert!(r.autostart && !r.headless);
    }

    #[test]
    fn flags_pass_through() {
        let r = run_args(&[
            "-f",
            "mix.yaml",
            "-u",
            "7",
            "-r",
            "2",
            "-t",
            "20s",
            "--json",
            "out.json",
            "--headless",
            "--web-port",
            "0",
        ]);
        assert_eq!(
            r.source.scenario_file.as_deref(),
            Some(std::path::Path::new("mix.yaml"))
        );
        assert_eq!(r.run_time.as_deref(), Some("20s"));
        assert_eq!(r.json.as_deref(), Some(std::path::Path::new("out.json")));
        assert_eq!((r.users, r.web_port), (Some(7), 0));
        assert!(r.headless);
        assert!(!r.otel.otel && r.otel.otel_endpoint.is_none());
        let r = run_args(&["--otel", "--otel-endpoint", "http://127.0.0.1:4317"]);
        assert!(r.otel.otel);
        assert_eq!(
            r.otel.otel_endpoint.as_deref(),
            Some("http://127.0.0.1:4317")
        );
    }
}
