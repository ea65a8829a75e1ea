//! Scenario hot reload with the real binary: a scenario mounted like a Kubernetes ConfigMap
//! (`scenario.yaml -> ..data/scenario.yaml`, `..data -> ..2026_N/`, updated by swapping the
//! `..data` symlink atomically), on a standalone run and on a master with two workers; and
//! SIGHUP with polling off. Users must switch paths without logging in again; a broken file
//! must be refused (API, `/metrics`) while the old scenario keeps running.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use cicada_testkit::{RecordingServer, free_port};
use serde_json::Value;

use crate::util::{cicada_bin, signal, spawn};
use crate::web::support::{http_get, start_cicada, stats_of};

/// How long any one condition may take to come true.
const WAIT: Duration = Duration::from_secs(30);

/// Users log in once (the token goes into every request's query) and request `path`.
fn scenario(path: &str) -> String {
    format!(
        r#"
users:
  - name: Agent
    wait: {{ constant: 50ms }}
    on_start:
      - request: {{ name: Login, method: POST, path: /api/v1/auth/login, extract: {{ token: "$.data.token" }} }}
    tasks:
      - {{ name: work, request: {{ name: work, path: "{path}?token={{{{ token }}}}" }} }}
"#
    )
}

/// A typo (`wieght`) the loader reports with its line and column.
const BROKEN: &str = r#"
users:
  - name: Agent
    wieght: 2
    tasks:
      - { name: work, request: { path: /c } }
"#;

/// A directory laid out as the kubelet mounts a ConfigMap.
struct ConfigMap {
    dir: tempfile::TempDir,
    generation: u32,
}

impl ConfigMap {
    fn new(text: &str) -> ConfigMap {
        let mut map = ConfigMap {
            dir: tempfile::tempdir().expect("tempdir"),
            generation: 0,
        };
        map.swap(text);
        std::os::unix::fs::symlink("..data/scenario.yaml", map.dir.path().join("scenario.yaml"))
            .expect("file symlink");
        map
    }

    /// Writes a new generation and points `..data` at it with one atomic rename.
    fn swap(&mut self, text: &str) {
        self.generation += 1;
        let name = format!(
            "..2026_01_01_00_00_{:02}.{}",
            self.generation, self.generation
        );
        let root = self.dir.path();
        std::fs::create_dir(root.join(&name)).expect("generation dir");
        std::fs::write(root.join(&name).join("scenario.yaml"), text).expect("scenario");
        std::os::unix::fs::symlink(&name, root.join("..data_tmp")).expect("new symlink");
        std::fs::rename(root.join("..data_tmp"), root.join("..data")).expect("atomic swap");
    }

    fn file(&self) -> String {
        self.dir.path().join("scenario.yaml").display().to_string()
    }
}

/// The tokens seen on requests to `path`.
fn tokens(server: &RecordingServer, path: &str) -> HashSet<String> {
    server
        .records()
        .iter()
        .filter(|r| r.path == path)
        .filter_map(|r| r.query.clone())
        .collect()
}

fn count(server: &RecordingServer, path: &str) -> usize {
    server.records().iter().filter(|r| r.path == path).count()
}

async fn until(what: &str, mut f: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !f().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn scenario_status(url: &str) -> Value {
    stats_of(url).await["scenario"].clone()
}

/// `users` users on path /a move to /b without logging in again.
async fn valid_reload_moves_users(
    server: &RecordingServer,
    map: &mut ConfigMap,
    url: &str,
    users: usize,
) {
    until("every user on /a", async || {
        tokens(server, "/a").len() == users
    })
    .await;
    map.swap(&scenario("/b"));
    until("every user on /b", async || {
        tokens(server, "/b").len() == users
    })
    .await;
    assert_eq!(
        tokens(server, "/b"),
        tokens(server, "/a"),
        "the same users, with the tokens their on_start extracted"
    );
    assert_eq!(
        count(server, "/api/v1/auth/login"),
        users,
        "nobody logged in again"
    );
    let s = scenario_status(url).await;
    assert_eq!(s["reloads_ok"], 1, "{s}");
    assert_eq!(s["last_reload"]["ok"], true, "{s}");
}

/// A broken file is refused: the errors in the API and `/metrics`, /b keeps running.
async fn invalid_reload_is_refused(server: &RecordingServer, map: &mut ConfigMap, url: &str) {
    map.swap(BROKEN);
    until("the refusal in the status", async || {
        scenario_status(url).await["reloads_error"] == 1
    })
    .await;
    let s = scenario_status(url).await;
    assert_eq!(s["last_reload"]["ok"], false, "{s}");
    let errors = s["last_reload"]["errors"].to_string();
    assert!(
        errors.contains("scenario.yaml:4:5") && errors.contains("wieght"),
        "file:line:column in {errors}"
    );
    let (_, metrics) = http_get(url, "/metrics").await;
    assert!(
        metrics.contains("cicada_scenario_reloads_total{result=\"error\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("cicada_scenario_reloads_total{result=\"ok\"} 1"));
    let b_then = count(server, "/b");
    until("more traffic on /b", async || {
        count(server, "/b") > b_then + 20
    })
    .await;
    assert_eq!(count(server, "/c"), 0, "the broken scenario never ran");
}

/// The same users on the path a data file gives (`/d`).
const WITH_DATA: &str = r#"
users:
  - name: Agent
    wait: { constant: 50ms }
    on_start:
      - request: { name: Login, method: POST, path: /api/v1/auth/login, extract: { token: "$.data.token" } }
    tasks:
      - { name: work, request: { name: work, path: "/{{ pick('paths').p }}?token={{ token }}" } }
data:
  paths: { file: paths.csv }
"#;

/// After a refusal: the file put back clears it; a new scenario refused for a missing data
/// file applies once only the data file appears (nothing else changes).
async fn refusals_clear_and_a_data_file_fix_applies(
    server: &RecordingServer,
    map: &mut ConfigMap,
    url: &str,
) {
    map.swap(&scenario("/b"));
    until("the refusal cleared", async || {
        scenario_status(url).await["last_reload"]["ok"] == true
    })
    .await;
    let s = scenario_status(url).await;
    assert_eq!(
        (s["reloads_ok"].clone(), s["reloads_error"].clone()),
        (1.into(), 1.into()),
        "{s}"
    );

    map.swap(WITH_DATA);
    until("the missing data file refused", async || {
        scenario_status(url).await["reloads_error"] == 2
    })
    .await;
    let errors = scenario_status(url).await["last_reload"]["errors"].to_string();
    assert!(errors.contains("paths.csv"), "{errors}");
    // The data file beside the scenario's path, as the scenario names it.
    std::fs::write(map.dir.path().join("paths.csv"), "p\nd\n").expect("data file");
    until("the fixed scenario applied", async || {
        count(server, "/d") > 0
    })
    .await;
    let s = scenario_status(url).await;
    assert_eq!(
        (s["reloads_ok"].clone(), s["reloads_error"].clone()),
        (2.into(), 2.into()),
        "{s}"
    );
    assert_eq!(
        count(server, "/api/v1/auth/login"),
        3,
        "nobody logged in again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standalone_run_reloads_a_configmap_swap_and_refuses_a_broken_file() {
    let server = RecordingServer::start().await.expect("server");
    let mut map = ConfigMap::new(&scenario("/a"));
    let file = map.file();
    let mut run = start_cicada(&[
        "run",
        "-f",
        &file,
        "-H",
        &server.url(),
        "--web-port",
        "0",
        "--autostart",
        "-u",
        "3",
        "-r",
        "100",
        "--reload-interval",
        "300ms",
    ])
    .await;
    valid_reload_moves_users(&server, &mut map, &run.url, 3).await;
    invalid_reload_is_refused(&server, &mut map, &run.url).await;
    refusals_clear_and_a_data_file_fix_applies(&server, &mut map, &run.url).await;
    let _ = run.child.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_when_polling_is_off() {
    let server = RecordingServer::start().await.expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let file: PathBuf = dir.path().join("scenario.yaml");
    std::fs::write(&file, scenario("/a")).expect("scenario");
    let path = file.display().to_string();
    let mut run = start_cicada(&[
        "run",
        "-f",
        &path,
        "-H",
        &server.url(),
        "--web-port",
        "0",
        "--autostart",
        "-u",
        "2",
        "-r",
        "100",
        "--reload-interval",
        "0",
    ])
    .await;
    until("both users on /a", async || {
        tokens(&server, "/a").len() == 2
    })
    .await;
    write_replacing(&file, &scenario("/b"));
    signal(&run.child, 1);
    until("both users on /b", async || {
        tokens(&server, "/b").len() == 2
    })
    .await;
    assert_eq!(count(&server, "/api/v1/auth/login"), 2);
    let _ = run.child.kill().await;
}

/// An editor's save: a new file renamed over the old one.
fn write_replacing(file: &Path, text: &str) {
    let tmp = file.with_extension("yaml.tmp");
    std::fs::write(&tmp, text).expect("temp file");
    std::fs::rename(&tmp, file).expect("rename");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_ships_a_reload_to_both_workers_and_refuses_a_broken_file() {
    let server = RecordingServer::start().await.expect("server");
    let mut map = ConfigMap::new(&scenario("/a"));
    let file = map.file();
    let port = free_port().expect("port").to_string();
    let bind = format!("127.0.0.1:{port}");
    let mut master = start_cicada(&[
        "master",
        "-f",
        &file,
        "-H",
        &server.url(),
        "--web-port",
        "0",
        "--master-bind",
        &bind,
        "--autostart",
        "--expect-workers",
        "2",
        "-u",
        "4",
        "-r",
        "100",
        "--adopt-window",
        "1s",
        "--reload-interval",
        "300ms",
    ])
    .await;
    let worker = |id: &str| {
        spawn(
            &cicada_bin(),
            &[
                "worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                &port,
                "--worker-id",
                id,
            ],
        )
    };
    let (mut w1, mut w2) = (worker("w1"), worker("w2"));
    // 2 users on each worker: 4 distinct tokens on /b means both workers switched.
    until("2 users on each worker", async || {
        let (_, body) = http_get(&master.url, "/api/workers").await;
        let v: Value = serde_json::from_str(&body).unwrap_or_default();
        let users: Vec<u64> = v["workers"]
            .as_array()
            .map(|ws| ws.iter().filter_map(|w| w["users"].as_u64()).collect())
            .unwrap_or_default();
        users == [2, 2]
    })
    .await;
    valid_reload_moves_users(&server, &mut map, &master.url, 4).await;
    invalid_reload_is_refused(&server, &mut map, &master.url).await;
    let (_, body) = http_get(&master.url, "/api/workers").await;
    assert!(
        body.contains("\"users\":2"),
        "workers kept their users: {body}"
    );
    for child in [&mut w1, &mut w2, &mut master.child] {
        let _ = child.kill().await;
    }
}
