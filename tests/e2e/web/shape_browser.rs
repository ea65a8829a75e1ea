//! The load shape in a real browser: the Shape tab (curve with a "now" marker, next changes,
//! incident edges), the "shape paused — resume" banner after a Stop by hand, and Resume.
//! Screenshots land in `target/ui-screenshots/` (`shape-*.png`). Skipped without
//! `chromedriver`, like the other browser test.

use std::path::Path;

use cicada_testkit::RecordingServer;
use fantoccini::Client;

use super::driver::{browser, click, js, screenshot, show_tab, text, wait_js, wait_text};
use super::support::{SCENARIO, start_cicada};
use crate::util::{scenario, signal};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shape_tab_and_the_paused_banner() {
    let dir = tempfile::tempdir().expect("tempdir");
    let downloads = dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).expect("downloads dir");
    let Some(browser) = browser(&downloads).await else {
        return;
    };
    let client = browser.client.clone();
    let steps = tokio::spawn(async move { walk_through(&client, dir.path()).await });
    let outcome = steps.await;
    let _ = browser.client.clone().close().await;
    drop(browser);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn walk_through(c: &Client, dir: &Path) {
    let server = RecordingServer::start().await.expect("server");
    let file = scenario(dir, "web.yaml", SCENARIO);
    // A day in a minute: the curve moves while we look; an incident every 2 virtual hours.
    let shape = scenario(
        dir,
        "shape.yaml",
        r#"
diurnal: { min_users: 2, max_users: 8, peak: "12:00", spawn_rate: 50 }
incidents:
  - name: quote storm
    cron: "0 */2 * * *"
    duration: 30m
    weights: { create: 5 }
"#,
    );
    let mut cicada = start_cicada(&[
        "run",
        "-f",
        &file,
        "-H",
        &server.url(),
        "--web-port",
        "0",
        "--shape",
        &shape,
        "--time-scale",
        "1440",
        "--autostart",
        "-t",
        "60s",
    ])
    .await;

    c.goto(&cicada.url).await.expect("page loads");
    wait_text(c, "#connection", "live").await;
    wait_text(c, "#state", "running").await;
    // The Shape tab appears for a run with a shape.
    wait_js(
        c,
        "the Shape tab",
        "return !document.getElementById('tabbtn-shape').hidden;",
    )
    .await;
    show_tab(c, "shape").await;
    wait_text(c, "#shape-state", "running").await;
    wait_js(
        c,
        "the curve",
        "return !!document.querySelector('#shape-curve canvas');",
    )
    .await;
    wait_js(
        c,
        "next changes",
        "return document.querySelectorAll('#shape-changes tbody tr').length > 2;",
    )
    .await;
    assert!(
        text(c, "#shape-description")
            .await
            .starts_with("diurnal 2..8 users")
    );
    // An incident window passes every 5 real seconds: its edges are listed.
    wait_js(
        c,
        "an incident edge",
        "return [...document.querySelectorAll('#shape-events tbody td')].some(t => t.textContent === 'quote storm');",
    )
    .await;
    // The top bar says when an incident is on (from the live stream).
    wait_js(
        c,
        "the incident in the top bar",
        "return document.getElementById('shape-live').textContent.includes('incident: quote storm');",
    )
    .await;
    screenshot(c, "shape-1-tab").await;

    // The Edit dialog warns that editing pauses the shape.
    click(c, "#btn-edit").await;
    wait_js(
        c,
        "the dialog's shape note",
        "return document.getElementById('swarm-dialog').open && !document.getElementById('swarm-shape-note').hidden;",
    )
    .await;
    click(c, "#swarm-cancel").await;

    // Stop by hand: the shape pauses, visibly.
    click(c, "#btn-stop").await;
    wait_js(
        c,
        "the paused banner",
        "return !document.getElementById('shape-banner').hidden;",
    )
    .await;
    let banner = text(c, "#shape-banner-text").await;
    assert!(banner.contains("stopped by hand"), "{banner}");
    wait_text(c, "#shape-state", "paused").await;
    screenshot(c, "shape-2-paused").await;

    // Resume: the banner goes, the shape runs and sets users again.
    click(c, "#btn-shape-resume").await;
    wait_js(
        c,
        "the banner hidden",
        "return document.getElementById('shape-banner').hidden;",
    )
    .await;
    wait_text(c, "#shape-state", "running").await;
    wait_text(c, "#state", "running").await;
    let users = js(
        c,
        "return Number(document.getElementById('users').textContent)",
    )
    .await;
    assert!(users.as_f64().is_some(), "{users}");

    signal(&cicada.child, 15);
    let _ = tokio::time::timeout(super::support::WAIT, cicada.child.wait()).await;
}
