//! Driving Chromium: chromedriver on a free port, a session with a fresh profile, and small
//! helpers (run a script, wait for a condition, click, type, take a screenshot).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use cicada_testkit::free_port;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use super::support::WAIT;
use crate::util::cicada_bin;

pub fn screenshots_dir() -> PathBuf {
    // target/debug/cicada -> target/ui-screenshots
    let bin = cicada_bin();
    let target = bin
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"));
    let dir = target.join("ui-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

/// chromedriver on a free loopback port, and a session with a fresh profile.
pub struct Browser {
    pub client: Client,
    _driver: Child,
    _profile: tempfile::TempDir,
}

pub async fn browser(downloads: &Path) -> Option<Browser> {
    let Some(driver_bin) = which("chromedriver") else {
        eprintln!("SKIPPED: chromedriver not found (apt-get install chromium chromium-driver)");
        return None;
    };
    let chromium = which("chromium").or_else(|| which("chromium-browser"));
    let profile = tempfile::tempdir().expect("profile dir");
    // fantoccini's TLS stack needs a process-wide crypto provider; the workspace's rustls uses
    // ring. (Only plain HTTP to chromedriver is used; an error means one is installed already.)
    let _ = rustls::crypto::ring::default_provider().install_default();
    // chromedriver cannot be told to pick a port and report it; retry on a collision.
    for _ in 0..5 {
        let port = free_port().expect("free port");
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver starts");
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1440,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        args.push("--lang=en-US".into());
        let mut options = json!({
            "args": args,
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            },
        });
        if let Some(c) = &chromium {
            options["binary"] = json!(c.display().to_string());
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..50 {
            let builder = ClientBuilder::rustls().expect("tls");
            match builder
                .clone()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        _driver: driver,
                        _profile: profile,
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        drop(driver);
    }
    panic!("chromedriver did not accept a session");
}

/// Runs a script and returns its value.
pub async fn js(c: &Client, script: &str) -> Value {
    c.execute(script, vec![]).await.expect("script runs")
}

pub async fn text(c: &Client, selector: &str) -> String {
    let v = js(
        c,
        &format!("const n = document.querySelector({selector:?}); return n ? n.textContent.trim() : null;"),
    )
    .await;
    v.as_str().unwrap_or_default().to_owned()
}

/// Polls `script` (which returns a boolean) until it is true.
pub async fn wait_js(c: &Client, what: &str, script: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if js(c, script).await == json!(true) {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            let page = js(c, "return document.body.innerText").await;
            panic!(
                "timed out waiting for {what}; page:\n{}",
                page.as_str().unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn wait_text(c: &Client, selector: &str, expected: &str) {
    let script = format!(
        "const n = document.querySelector({selector:?}); return !!n && n.textContent.trim() === {expected:?};"
    );
    wait_js(c, &format!("{selector} = {expected:?}"), &script).await;
}

pub async fn screenshot(c: &Client, name: &str) {
    // Let a pending animation frame draw first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = c.screenshot().await.expect("screenshot");
    let path = screenshots_dir().join(format!("{name}.png"));
    std::fs::write(&path, png).expect("screenshot written");
    eprintln!("screenshot: {}", path.display());
}

pub async fn click(c: &Client, selector: &str) {
    c.find(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {selector}: {e}"));
}

pub async fn type_into(c: &Client, selector: &str, value: &str) {
    let input = c.find(Locator::Css(selector)).await.expect("input");
    input.clear().await.expect("clear");
    input.send_keys(value).await.expect("type");
}

pub async fn show_tab(c: &Client, tab: &str) {
    click(c, &format!("#tabbtn-{tab}")).await;
    wait_js(
        c,
        &format!("tab {tab}"),
        &format!("return !document.getElementById('tab-{tab}').hidden;"),
    )
    .await;
}

/// The Aggregated row's request count, as shown.
pub async fn total_requests_shown(c: &Client) -> u64 {
    text(c, "#stats-table tfoot td:nth-child(3)")
        .await
        .chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}
