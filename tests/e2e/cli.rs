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
        &["run", "-f", &file, "--max-entries", "0", "-t", "1s"],
        // A worker refuses its bad flags before it looks for its master (none is listening).
        &["worker", "--master-host", "::1", "--max-entries", "0"],
        &["worker", "--master-host", "::1", "--worker-threads", "0"],
        &["worker", "--master-host", "::1", "--stop-timeout", "soon"],
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

/// `cicada` started in `dir` (where it looks for `cicada.toml`) with extra environment.
async fn cicada_in(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> crate::util::Finished {
    let mut command = tokio::process::Command::new(crate::util::cicada_bin());
    command
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("CICADA_CONFIG")
        .env_remove("CICADA_FILE")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    crate::util::finish(
        command.spawn().expect("the binary starts"),
        std::time::Duration::from_secs(60),
    )
    .await
}

#[tokio::test]
async fn the_config_file_sits_below_flags_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    scenario(dir.path(), "good.yaml", GOOD);
    let other = "users:\n  - name: Auditor\n    tasks:\n      - name: Audit\n        request: { path: /audit }\n";
    scenario(dir.path(), "other.yaml", other);
    std::fs::write(
        dir.path().join("cicada.toml"),
        "# shared\nlog-level = \"warn\"\n[validate]\nfile = \"good.yaml\"\n",
    )
    .unwrap();

    let from_file = cicada_in(dir.path(), &["validate"], &[]).await;
    assert_eq!(from_file.code(), Some(0), "{from_file:?}");
    assert!(from_file.stdout.contains("Reader"), "{from_file:?}");

    let from_env = cicada_in(dir.path(), &["validate"], &[("CICADA_FILE", "other.yaml")]).await;
    assert_eq!(from_env.code(), Some(0), "{from_env:?}");
    assert!(from_env.stdout.contains("Auditor"), "{from_env:?}");
    assert!(!from_env.stdout.contains("Reader"), "{from_env:?}");

    let from_flag = cicada_in(
        dir.path(),
        &["validate", "-f", "other.yaml"],
        &[("CICADA_FILE", "good.yaml")],
    )
    .await;
    assert!(from_flag.stdout.contains("Auditor"), "{from_flag:?}");

    // A headless run entirely configured by a named file; the report shows it ran.
    std::fs::write(
        dir.path().join("run.toml"),
        "[run]\nfile = \"other.yaml\"\nhost = \"http://127.0.0.1:9\"\nheadless = true\n\
         run-time = \"1s\"\nusers = 2\nspawn-rate = 100\njson = \"out.json\"\nonly-summary = true\n",
    )
    .unwrap();
    let run = cicada_in(dir.path(), &["run"], &[("CICADA_CONFIG", "run.toml")]).await;
    assert_eq!(run.code(), Some(0), "{run:?}");
    let report = crate::util::read_json(&dir.path().join("out.json"));
    assert!(
        crate::util::entry(&report, "GET", "/audit")["failures"].as_u64() > Some(0),
        "the dead port's refusals are counted: {report}"
    );
}

#[tokio::test]
async fn a_bad_config_file_names_the_line_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    scenario(dir.path(), "good.yaml", GOOD);
    std::fs::write(
        dir.path().join("cicada.toml"),
        "[validate]\nfiel = \"good.yaml\"\n",
    )
    .unwrap();
    let out = cicada_in(dir.path(), &["validate"], &[]).await;
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(
        out.stderr.contains(
            "cicada.toml:2:1: `fiel` is not a flag of `cicada validate` (did you mean `file`?)"
        ),
        "{out:?}"
    );
    std::fs::write(dir.path().join("cicada.toml"), "[run]\nusers = -3\n").unwrap();
    let out = cicada_in(dir.path(), &["run", "-f", "good.yaml"], &[]).await;
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(
        out.stderr
            .contains("cicada.toml:2:1: invalid value '-3' for '--users"),
        "{out:?}"
    );
}

/// Issue "Observability outputs": a host with `user:password@` would show in /api/info, the
/// reports and the logs, so every way of giving one is refused before anything runs, with the
/// same message and without echoing the password.
#[tokio::test]
async fn a_host_with_credentials_is_refused_without_echoing_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(dir.path(), "good.yaml", GOOD);
    let secret_host = GOOD.replace(
        "host: http://127.0.0.1:9",
        "host: http://alice:hunter22@127.0.0.1:9",
    );
    let with_creds = scenario(dir.path(), "creds.yaml", &secret_host);
    let flag = "http://alice:hunter22@127.0.0.1:9";
    type Env<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(&[&str], Env<'_>)] = &[
        (
            &["run", "-f", &file, "-H", flag, "--headless", "-t", "1s"],
            &[],
        ),
        (
            &[
                "master",
                "-f",
                &file,
                "-H",
                flag,
                "--master-bind",
                "127.0.0.1:0",
                "--web-port",
                "0",
            ],
            &[],
        ),
        (
            &["run", "-f", &file, "--headless", "-t", "1s"],
            &[("LOCUST_HOST", flag)],
        ),
        (&["run", "-f", &with_creds, "--headless", "-t", "1s"], &[]),
        (&["validate", "-f", &with_creds], &[]),
    ];
    for (args, env) in cases {
        let out = cicada_in(dir.path(), args, env).await;
        assert_eq!(out.code(), Some(2), "{args:?}: {out:?}");
        assert!(
            out.stderr.contains(
                "host must not contain credentials (user:password@); put them in a header or \
                 the scenario's secrets"
            ),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("hunter22") && !out.stdout.contains("hunter22"),
            "{args:?} echoed the password: {out:?}"
        );
    }
    // The scenario's error has its place, like every scenario error.
    let out = cicada_in(dir.path(), &["validate", "-f", &with_creds], &[]).await;
    assert!(out.stderr.contains("creds.yaml:2:7:"), "{}", out.stderr);
}
