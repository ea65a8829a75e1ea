//! The bundled DynaClaimz scenarios against the stand-in target: the YAML mix
//! (`scenarios/dynaclaimz.yaml`) and the Rust-tier `dynaclaimz-agents`, each for 30 s against its
//! own `cicada target` process, with zero failures; and `cicada demo`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Child;

use crate::util::{
    cicada_bin, collect_lines, entry, finish, read_json, signal, spawn, target_addr, total_requests,
};

/// The repository's `scenarios/` folder.
fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// The credentials file as it must be for the target's default seed.
fn expected_users_csv() -> String {
    let seed = cicada_target::Seed::generate(cicada_target::DEFAULT_SEED);
    let mut csv = String::from("email,password\n");
    for user in &seed.users {
        csv.push_str(&format!(
            "{},{}\n",
            user.email,
            cicada_target::SEED_PASSWORD
        ));
    }
    csv
}

#[test]
fn bundled_credentials_match_the_default_seed() {
    let path = scenarios_dir().join("dynaclaimz-users.csv");
    let bundled = std::fs::read_to_string(&path).unwrap_or_default();
    let expected = expected_users_csv();
    assert!(
        bundled == expected,
        "{} is out of date; it must be:\n{expected}",
        path.display()
    );
}

/// A `cicada target` process on a free port, and its address. The access log is off; stderr is
/// drained so the process never blocks on it.
async fn start_target() -> (Child, String) {
    let mut child = spawn(
        &cicada_bin(),
        &[
            "target",
            "--listen",
            "127.0.0.1:0",
            "--access-log",
            "off",
            "--log-format",
            "text",
        ],
    );
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut lines = BufReader::new(stderr).lines();
    let addr = target_addr(&mut lines, Duration::from_secs(30)).await;
    collect_lines(lines);
    (child, addr)
}

/// Runs `cicada run --headless` for 30 s against a fresh target and returns the JSON report.
async fn run_30s(source: &[&str], users: &str, dir: &Path, name: &str) -> serde_json::Value {
    let (target, addr) = start_target().await;
    let report = dir.join(name);
    let host = format!("http://{addr}");
    let mut args = vec!["run", "--headless", "--only-summary"];
    args.extend_from_slice(source);
    let report_arg = report.display().to_string();
    args.extend_from_slice(&[
        "-H",
        &host,
        "-u",
        users,
        "-r",
        "10",
        "-t",
        "30s",
        "--json",
        &report_arg,
    ]);
    let run = finish(spawn(&cicada_bin(), &args), Duration::from_secs(90)).await;
    signal(&target, 15);
    let stopped = finish(target, Duration::from_secs(30)).await;
    assert_eq!(run.code(), Some(0), "{name}: {}", run.stderr);
    assert_eq!(stopped.code(), Some(0), "the target stops cleanly");
    read_json(&report)
}

/// Zero failures, with the failure rows in the message when there are some.
fn assert_no_failures(report: &serde_json::Value, what: &str) {
    assert!(total_requests(report) > 0, "{what}: no requests");
    assert_eq!(
        report["total"]["failures"].as_u64(),
        Some(0),
        "{what} had failures: {:#}",
        report["failures"]
    );
}

/// The README mix and the agents, each against its own target for 30 s (concurrently).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundled_scenarios_run_without_failures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mix_file = scenarios_dir()
        .join("dynaclaimz.yaml")
        .display()
        .to_string();
    let mix_source = ["-f", mix_file.as_str()];
    let (mix, agents) = tokio::join!(
        run_30s(&mix_source, "30", dir.path(), "mix.json"),
        run_30s(
            &["--scenario", "dynaclaimz-agents"],
            "30",
            dir.path(),
            "agents.json"
        ),
    );

    assert_no_failures(&mix, "the YAML mix");
    let mix_rows = [
        ("GET", "Get Policies", 0.30),
        ("POST", "Create Policy", 0.20),
        ("GET", "Get Claims", 0.20),
        ("POST", "Create Claim", 0.10),
        ("GET", "Get Quotes", 0.10),
        ("GET", "Health Check", 0.10),
    ];
    let count =
        |method: &str, name: &str| entry(&mix, method, name)["requests"].as_u64().unwrap_or(0);
    let tasks: u64 = mix_rows.iter().map(|(m, n, _)| count(m, n)).sum();
    assert!(tasks > 200, "too few tasks for a mix check: {tasks}");
    for (method, name, share) in mix_rows {
        let seen = count(method, name) as f64 / tasks as f64;
        assert!(
            (seen - share).abs() < 0.08,
            "{name}: {seen:.3} of the tasks, expected about {share}"
        );
    }
    // Set-up requests have their own rows.
    assert!(count("POST", "Login") > 0);

    assert_no_failures(&agents, "dynaclaimz-agents");
    for (method, name) in [
        ("GET", "Startup: Load Users"),
        ("POST", "Login"),
        ("POST", "1. Calculate Premium"),
        ("POST", "2. Create Quote"),
        ("GET", "1. Find Active Policy"),
        ("GET", "1. Find Claim to Process"),
    ] {
        let row = entry(&agents, method, name);
        assert!(row["requests"].as_u64().unwrap_or(0) > 0, "{method} {name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_headless_and_exits_zero() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("demo.json");
    let report_arg = report.display().to_string();
    let args = [
        "demo",
        "--headless",
        "-t",
        "20s",
        "--target-port",
        "0",
        "--json",
        &report_arg,
    ];
    let run = finish(spawn(&cicada_bin(), &args), Duration::from_secs(60)).await;
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let report = read_json(&report);
    assert_no_failures(&report, "the demo");
    assert!(
        run.stderr
            .contains("DynaClaimz stand-in listening on http://127.0.0.1:")
    );
}

#[tokio::test]
async fn validate_knows_both_bundled_scenarios() {
    let list = crate::util::run_cicada(&["validate", "--list"]).await;
    assert_eq!(list.code(), Some(0), "{}", list.stderr);
    assert!(list.stdout.contains("dynaclaimz-agents"), "{}", list.stdout);
    let agents = crate::util::run_cicada(&["validate", "--scenario", "dynaclaimz-agents"]).await;
    assert_eq!(agents.code(), Some(0), "{}", agents.stderr);
    assert!(agents.stdout.contains("QuoteAgent") && agents.stdout.contains("ClaimsAgent"));
    let file = scenarios_dir()
        .join("dynaclaimz.yaml")
        .display()
        .to_string();
    let mix = crate::util::run_cicada(&["validate", "-f", &file]).await;
    assert_eq!(mix.code(), Some(0), "{}", mix.stderr);
    for task in [
        "Get Policies",
        "Create Policy",
        "Get Claims",
        "Create Claim",
        "Get Quotes",
        "Health Check",
    ] {
        assert!(mix.stdout.contains(task), "{task}: {}", mix.stdout);
    }
}
