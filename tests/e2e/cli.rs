//! The command line: validation, bad input, exit statuses.

use crate::util::{run_cicada, scenario};

const GOOD: &str = r#"
host: http://127.0.0.1:9
users:
  - name: Reader
    weight: 3
    wait: { between: [1s, 3s] }
    tasks:
      - name: List policies
        weight: 2
        request: { method: GET, path: /api/v1/policies }
      - name: Health
        request: { path: /health }
  - name: Writer
    weight: 1
    tasks:
      - name: Create
        request: { method: POST, path: /api/v1/quotes, json: { type: AUTO } }
"#;

#[tokio::test]
async fn validate_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "good.yaml", GOOD);
    let out = run_cicada(&["validate", "-f", &file]).await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    for expected in [
        "Reader",
        "Writer",
        "75",
        "25",
        "List policies",
        "/api/v1/policies",
        "POST",
    ] {
        assert!(
            out.stdout.contains(expected),
            "missing {expected:?} in:\n{}",
            out.stdout
        );
    }
}

#[tokio::test]
async fn a_bad_scenario_names_file_line_and_column_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    // `wieght` is a typo on line 4.
    let bad = "users:\n  - name: A\n    tasks:\n      - wieght: 1\n        request: { path: / }\n";
    let file = scenario(dir.path(), "bad.yaml", bad);
    for cmd in [
        vec!["validate", "-f", file.as_str()],
        vec![
            "run",
            "-f",
            file.as_str(),
            "-H",
            "http://127.0.0.1:9",
            "-t",
            "1s",
        ],
    ] {
        let out = run_cicada(&cmd).await;
        assert_eq!(out.code(), Some(2), "{out:?}");
        assert!(out.stderr.contains("bad.yaml:4:"), "{}", out.stderr);
        assert!(
            out.stderr.contains("weight"),
            "did-you-mean: {}",
            out.stderr
        );
    }
}

#[tokio::test]
async fn bad_flags_exit_2_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "good.yaml", GOOD);
    let cases: &[&[&str]] = &[
        &["run", "-f", &file, "-t", "soon"],
        &["run", "-f", &file, "-u", "many"],
        &["run", "-f", &file, "-H", "ftp://127.0.0.1"],
        &["run", "--scenario", "nope"],
        &["run", "-f", "/nonexistent/s.yaml"],
        &[
            "run",
            "-f",
            &file,
            "--json",
            "/nonexistent-dir/out.json",
            "-t",
            "1s",
        ],
        &["run", "--no-such-flag"],
    ];
    for args in cases {
        let out = run_cicada(args).await;
        assert_eq!(out.code(), Some(2), "{args:?}: {out:?}");
        assert!(!out.stderr.trim().is_empty(), "{args:?} printed no error");
    }
}

#[tokio::test]
async fn a_missing_host_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "nohost.yaml",
        "users:\n  - name: A\n    tasks:\n      - name: t\n        request: { path: / }\n",
    );
    let out = run_cicada(&["run", "-f", &file, "-t", "1s"]).await;
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(out.stderr.contains("-H"), "{}", out.stderr);
}
