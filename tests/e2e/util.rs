//! Helpers shared by the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufRead, Lines};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

/// The binary under test.
pub fn cicada_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cicada"))
}

/// What a finished run printed.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Starts `program args...` with piped output.
pub fn spawn(program: &Path, args: &[&str]) -> Child {
    command(program, args).spawn().expect("the binary starts")
}

/// The command [`spawn`] runs, for a caller that adds to its environment first.
pub fn command(program: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(program);
    command
        .args(args)
        .env_remove("RUST_LOG")
        // Output is piped, so the default (`auto`) would be JSON; these tests read text lines.
        // A test that wants JSON passes `--log-format json` (a flag beats the environment).
        .env("CICADA_LOG_FORMAT", "text")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Waits for a child with a hard limit (the child is killed past it and the test fails).
pub async fn finish(child: Child, limit: Duration) -> Finished {
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .expect("the process ended within its time limit")
        .expect("the process output was read");
    Finished {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs cicada to completion (at most 60 s).
pub async fn run_cicada(args: &[&str]) -> Finished {
    finish(spawn(&cicada_bin(), args), Duration::from_secs(60)).await
}

/// Writes a scenario file into `dir` and returns its path as a string.
pub fn scenario(dir: &Path, name: &str, yaml: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, yaml).expect("scenario written");
    path.display().to_string()
}

/// Reads a JSON report.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("report exists");
    serde_json::from_str(&text).expect("report is JSON")
}

/// The `total.requests` of a JSON report.
pub fn total_requests(report: &serde_json::Value) -> u64 {
    report["total"]["requests"]
        .as_u64()
        .expect("total.requests")
}

/// The entry for (method, name) in a JSON report.
pub fn entry<'a>(report: &'a serde_json::Value, method: &str, name: &str) -> &'a serde_json::Value {
    report["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["method"] == method && e["name"] == name)
        .unwrap_or_else(|| panic!("no entry {method} {name} in {report:#}"))
}

/// Sends a signal to a child process.
pub fn signal(child: &Child, sig: i32) {
    let pid = child.id().expect("child still running");
    // The `kill` command keeps `unsafe` out of the tests (the workspace forbids it).
    let status = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{sig} {pid}");
}

/// Reads a `cicada target`'s stderr lines until it logs the address it bound (`host:port`);
/// the test fails if none comes within `limit` or the stream ends first.
pub async fn target_addr<R: AsyncBufRead + Unpin>(lines: &mut Lines<R>, limit: Duration) -> String {
    tokio::time::timeout(limit, async {
        while let Some(line) = lines.next_line().await.expect("stderr is readable") {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                return rest.split_whitespace().next().map(str::to_string);
            }
        }
        None
    })
    .await
    .expect("the target starts within its time limit")
    .expect("the target logs its address")
}

/// Reads the rest of a pipe's lines in the background (so the process never blocks on a full
/// pipe); the handle yields them once the pipe closes.
pub fn collect_lines<R>(mut lines: Lines<R>) -> JoinHandle<Vec<String>>
where
    R: AsyncBufRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut rest = Vec::new();
        while let Ok(Some(l)) = lines.next_line().await {
            rest.push(l);
        }
        rest
    })
}

/// Splits a raw HTTP/1 response into its status code (0 without a status line) and its body
/// (empty without one).
pub fn parse_response(raw: &[u8]) -> (u16, String) {
    let text = String::from_utf8_lossy(raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}
