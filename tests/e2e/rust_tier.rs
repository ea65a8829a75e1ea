//! The Rust tier: `examples/rust_user.rs` registers a user type in Rust and runs it through
//! cicada's command line.

use std::path::PathBuf;
use std::time::Duration;

use cicada_testkit::RecordingServer;

use crate::util::{cicada_bin, entry, finish, read_json, spawn, total_requests};

fn example_bin() -> PathBuf {
    // Cargo builds examples next to the binaries when it builds the tests.
    let bin = cicada_bin();
    let dir = bin.parent().expect("target dir");
    dir.join("examples").join("rust_user")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rust_user_type_runs_through_the_cli() {
    let example = example_bin();
    assert!(
        example.exists(),
        "{} is missing: `cargo test` builds examples, `cargo test --test e2e` alone does not",
        example.display()
    );
    let server = RecordingServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");

    let list = finish(
        spawn(&example, &["validate", "--list"]),
        Duration::from_secs(20),
    )
    .await;
    assert!(list.stdout.contains("shop"), "{list:?}");

    let out = finish(
        spawn(
            &example,
            &[
                "run",
                "--headless",
                "--scenario",
                "shop",
                "-H",
                &server.url(),
                "-u",
                "4",
                "-r",
                "50",
                "-t",
                "3s",
                "--json",
                json.to_str().unwrap(),
                "--only-summary",
            ],
        ),
        Duration::from_secs(40),
    )
    .await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    let report = read_json(&json);
    assert_eq!(total_requests(&report), server.count());
    assert_eq!(
        entry(&report, "POST", "Login")["requests"].as_u64(),
        Some(4)
    );
    assert!(
        entry(&report, "GET", "/api/v1/policies?page=[n]")["requests"]
            .as_u64()
            .unwrap()
            > 0
    );
    // The token from the login is sent on later requests.
    let records = server.records();
    assert!(
        records
            .iter()
            .filter(|r| r.path == "/api/v1/policies")
            .all(|r| r.headers["authorization"]
                .to_str()
                .unwrap()
                .starts_with("Bearer tok-"))
    );
    assert_eq!(report["total"]["failures"].as_u64(), Some(0), "{report:#}");
}
