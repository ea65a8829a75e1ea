//! The web UI in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`)
//! driven over WebDriver by fantoccini, against the real `cicada` binary in UI mode whose
//! target is a recording server.
//!
//! The test loads the page, starts a swarm from the Start dialog, sees rows appear and numbers
//! change, edits the user count and sees it follow, visits every tab (a PNG of each lands in
//! `target/ui-screenshots/`, to be looked at), stops, opens and downloads the HTML report, and
//! finally stops cicada with SIGTERM and checks the `--html` file it wrote.
//!
//! Without `chromedriver` on the PATH the test is skipped with a message (`scripts/test`
//! installs it).

use std::path::Path;
use std::time::Duration;

use cicada_testkit::RecordingServer;
use fantoccini::Client;
use serde_json::json;

use super::driver::{
    browser, click, js, screenshot, show_tab, text, total_requests_shown, type_into, wait_js,
    wait_text,
};
use super::support::{SCENARIO, WAIT, start_cicada};
use crate::util::{finish, scenario, signal};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_in_a_real_browser() {
    let dir = tempfile::tempdir().expect("tempdir");
    let downloads = dir.path().join("downloads");
    std::fs::create_dir_all(&downloads).expect("downloads dir");
    let Some(browser) = browser(&downloads).await else {
        return;
    };
    // Run the steps in a task so that a failed assertion still ends the browser session
    // (otherwise Chromium outlives chromedriver).
    let client = browser.client.clone();
    let steps = tokio::spawn(async move { walk_through(&client, &downloads, dir).await });
    let outcome = steps.await;
    let _ = browser.client.clone().close().await;
    drop(browser);
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn walk_through(c: &Client, downloads: &Path, dir: tempfile::TempDir) {
    let server = RecordingServer::start().await.expect("server");
    let file = scenario(dir.path(), "web.yaml", SCENARIO);
    let html = dir.path().join("final.html");
    let cicada = start_cicada(&[
        "run",
        "-f",
        &file,
        "-H",
        &server.url(),
        "--web-port",
        "0",
        "-u",
        "6",
        "-r",
        "50",
        "--max-entries",
        "3",
        "--html",
        html.to_str().expect("path"),
    ])
    .await;

    // The page loads and waits for Start: nothing is sent yet.
    c.goto(&cicada.url).await.expect("page loads");
    wait_text(c, "#connection", "live").await;
    wait_text(c, "#state", "ready").await;
    assert_eq!(server.count(), 0, "no traffic before Start");
    assert!(text(c, "#host").await.starts_with("http://127.0.0.1:"));
    screenshot(c, "01-ready").await;

    // Start from the dialog (prefilled with -u/-r).
    click(c, "#btn-start").await;
    wait_js(
        c,
        "the dialog",
        "return document.getElementById('swarm-dialog').open;",
    )
    .await;
    let users = js(c, "return document.getElementById('in-users').value").await;
    assert_eq!(users, json!("6"), "the form starts from -u");
    screenshot(c, "02-start-dialog").await;
    type_into(c, "#in-users", "4").await;
    click(c, "#swarm-submit").await;
    wait_text(c, "#state", "running").await;
    wait_text(c, "#users", "4").await;

    // Rows appear, and the numbers move.
    wait_js(
        c,
        "rows",
        "return document.querySelectorAll('#stats-table tbody tr.row:not([hidden])').length >= 3;",
    )
    .await;
    let first = total_requests_shown(c).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while total_requests_shown(c).await <= first {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the request count never moved"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(server.count() > 0);
    let names = js(
        c,
        "return [...document.querySelectorAll('#stats-table tbody td.name')].map(n => n.textContent)",
    )
    .await;
    assert!(names.to_string().contains("/api/v1/policies"), "{names}");
    assert_eq!(
        text(c, "#stats-table tfoot td:nth-child(2)").await,
        "Aggregated"
    );
    screenshot(c, "03-statistics").await;

    // Sort by # Requests, then back.
    click(c, "#stats-table th[data-column='requests']").await;
    wait_js(
        c,
        "sorted",
        "return document.querySelector(\"#stats-table th[data-column='requests']\").getAttribute('aria-sort') === 'descending';",
    )
    .await;

    // Filter by name: three of the four names remain as rows (which one went into the OTHER
    // row depends on which came last), and OTHER's name does not match.
    type_into(c, "#filter", "/api/v1/").await;
    wait_js(
        c,
        "three rows left",
        "return document.querySelectorAll('#stats-table tbody tr.row:not([hidden])').length === 3;",
    )
    .await;
    js(
        c,
        "const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input')); return true;",
    )
    .await;

    // The column chooser adds a column (and it shows at once).
    click(c, "#columns summary").await;
    click(c, "#column-chooser input[data-column='fail_ratio']").await;
    wait_js(
        c,
        "the Failure % column",
        "return !!document.querySelector(\"#stats-table th[data-column='fail_ratio']\") && document.querySelector('#stats-table tbody tr.row').children.length === 14;",
    )
    .await;
    screenshot(c, "03b-column-chooser").await;
    click(c, "#column-chooser input[data-column='fail_ratio']").await;
    click(c, "#columns summary").await;
    wait_js(
        c,
        "the column gone",
        "return !document.querySelector(\"#stats-table th[data-column='fail_ratio']\");",
    )
    .await;

    // Edit: fewer users, without a restart; the count follows.
    click(c, "#btn-edit").await;
    wait_js(
        c,
        "the dialog",
        "return document.getElementById('swarm-dialog').open;",
    )
    .await;
    type_into(c, "#in-users", "2").await;
    click(c, "#swarm-submit").await;
    wait_text(c, "#users", "2").await;
    wait_text(c, "#state", "running").await;

    // Every tab.
    show_tab(c, "charts").await;
    wait_js(
        c,
        "three charts",
        "return document.querySelectorAll('#tab-charts canvas').length >= 3;",
    )
    .await;
    screenshot(c, "04-charts").await;
    show_tab(c, "failures").await;
    wait_js(
        c,
        "a failure row",
        "return document.querySelectorAll('#failures-table tbody tr').length >= 1;",
    )
    .await;
    assert!(text(c, "#failures-table tbody").await.contains("HTTP 503"));
    screenshot(c, "05-failures").await;
    show_tab(c, "workers").await;
    wait_js(
        c,
        "the local worker",
        "return document.querySelectorAll('#workers-table tbody tr').length === 1;",
    )
    .await;
    screenshot(c, "06-workers").await;
    show_tab(c, "ratio").await;
    wait_js(
        c,
        "ratio cards",
        "return document.querySelectorAll('#ratio .card').length === 2;",
    )
    .await;
    assert!(text(c, "#ratio").await.contains("75.0%"));
    screenshot(c, "07-current-ratio").await;
    show_tab(c, "downloads").await;
    screenshot(c, "08-downloads").await;
    show_tab(c, "logs").await;
    wait_js(
        c,
        "the row-limit warning",
        "return document.getElementById('logs-table').textContent.includes('row limit');",
    )
    .await;
    // Its component (the JSON log lines' `component`) as a badge, the module on hover.
    wait_js(
        c,
        "the warning's component badge",
        "return [...document.querySelectorAll('#logs-table tbody tr')].some((r) => \
           r.textContent.includes('row limit') \
           && r.querySelector('td.component .badge')?.textContent === 'control' \
           && r.querySelector('td.component').title.startsWith('cicada_control'));",
    )
    .await;
    screenshot(c, "09-logs").await;

    // Dark theme, and it sticks across a reload.
    show_tab(c, "stats").await;
    click(c, "#btn-theme").await;
    let theme = js(c, "return document.documentElement.dataset.theme").await;
    let dark_first = theme == json!("dark");
    if !dark_first {
        click(c, "#btn-theme").await;
    }
    c.refresh().await.expect("reload");
    wait_text(c, "#connection", "live").await;
    assert_eq!(
        js(c, "return document.documentElement.dataset.theme").await,
        json!("dark")
    );
    wait_js(
        c,
        "rows",
        "return document.querySelectorAll('#stats-table tbody tr.row:not([hidden])').length >= 3;",
    )
    .await;
    screenshot(c, "10-statistics-dark").await;
    show_tab(c, "charts").await;
    wait_js(
        c,
        "charts",
        "return document.querySelectorAll('#tab-charts canvas').length >= 3;",
    )
    .await;
    screenshot(c, "11-charts-dark").await;
    click(c, "#btn-theme").await;

    // Stop.
    click(c, "#btn-stop").await;
    wait_text(c, "#state", "stopped").await;
    wait_text(c, "#users", "0").await;
    screenshot(c, "12-stopped").await;

    // The HTML report opens with its charts drawn.
    c.goto(&format!("{}api/report.html", cicada.url))
        .await
        .expect("report opens");
    wait_js(
        c,
        "report charts",
        "return document.querySelectorAll('#charts canvas').length >= 3;",
    )
    .await;
    let title = js(c, "return document.title").await;
    assert!(
        title.as_str().is_some_and(|t| t.contains("web.yaml")),
        "{title}"
    );
    // The whole report in one picture.
    c.set_window_size(1440, 2800).await.expect("resize");
    screenshot(c, "13-report").await;
    c.set_window_size(1440, 900).await.expect("resize");

    // ... and downloads as a file that opens on its own.
    c.goto(&cicada.url).await.expect("back to the UI");
    show_tab(c, "downloads").await;
    click(c, "a[href='/api/report.html?download=1']").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    let downloaded = loop {
        let found = std::fs::read_dir(downloads)
            .expect("downloads dir")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with(".html"));
        if let Some(p) = found {
            break p;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the report was not downloaded"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    c.goto(&format!("file://{}", downloaded.display()))
        .await
        .expect("the downloaded report opens");
    wait_js(
        c,
        "downloaded report charts",
        "return document.querySelectorAll('#charts canvas').length >= 3;",
    )
    .await;

    // SIGTERM: cicada stops cleanly and writes --html.
    signal(&cicada.child, 15);
    let out = finish(cicada.child, Duration::from_secs(30)).await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    let report = std::fs::read_to_string(&html).expect("--html written");
    assert!(report.contains("cicada report") && report.contains("/api/v1/policies"));
    let printed = cicada.stdout.lock().map(|s| s.clone()).unwrap_or_default();
    assert!(
        printed.contains("Aggregated"),
        "final tables printed:\n{printed}"
    );
}
