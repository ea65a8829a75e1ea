//! Against a real nginx: what nginx served equals what cicada counted.

use cicada_testkit::Nginx;

use crate::util::{read_json, run_cicada, scenario, total_requests};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_counted_equal_requests_served() {
    let nginx = Nginx::start(
        r#"location = /api/v1/policies { default_type application/json; return 200 '{"data":[{"id":"p1"}]}'; }
           location = /api/v1/claims { return 503; }"#,
    )
    .expect("nginx starts (apt-get install nginx-light)");
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "s.yaml",
        r#"
users:
  - name: Reader
    tasks:
      - name: policies
        weight: 4
        request: { path: /api/v1/policies, checks: [ { jsonpath: "$.data[0].id", equals: p1 } ] }
      - name: claims
        weight: 1
        request: { path: /api/v1/claims }
"#,
    );
    let json = dir.path().join("out.json");
    let csv = dir.path().join("out");
    let out = run_cicada(&[
        "run",
        "-f",
        &file,
        "-H",
        &nginx.url(),
        "-u",
        "10",
        "-r",
        "100",
        "-t",
        "3s",
        "--headless",
        "--json",
        json.to_str().unwrap(),
        "--csv",
        csv.to_str().unwrap(),
    ])
    .await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    let report = read_json(&json);
    let served = nginx.access_log().unwrap();
    let counted = total_requests(&report);
    assert!(counted > 100, "a few hundred requests at least: {counted}");
    assert_eq!(
        served.len() as u64,
        counted,
        "nginx served exactly what cicada counted"
    );

    // The 503s are failures with their reason; the policies are not.
    let claims_served = served
        .iter()
        .filter(|l| l.contains("/api/v1/claims"))
        .count() as u64;
    let failures = &report["failures"];
    let claims_failure = failures
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "/api/v1/claims")
        .expect("a failure row for claims");
    assert_eq!(claims_failure["count"].as_u64().unwrap(), claims_served);
    assert!(claims_failure["reason"].as_str().unwrap().contains("503"));
    assert_eq!(report["total"]["failures"].as_u64().unwrap(), claims_served);

    // The CSV files exist with Locust's headers.
    let stats_csv = std::fs::read_to_string(dir.path().join("out_stats.csv")).unwrap();
    assert!(stats_csv.starts_with("Type,Name,Request Count,Failure Count,Median Response Time"));
    assert!(stats_csv.contains("Aggregated"));
    let failures_csv = std::fs::read_to_string(dir.path().join("out_failures.csv")).unwrap();
    assert!(failures_csv.starts_with("Method,Name,Error,Occurrences"));
    let history_csv = std::fs::read_to_string(dir.path().join("out_stats_history.csv")).unwrap();
    assert!(history_csv.lines().count() >= 2, "at least one history row");

    // The table was printed during the run and at the end.
    assert!(out.stdout.contains("Aggregated"), "{}", out.stdout);
    assert!(
        out.stdout.contains("Response time percentiles"),
        "{}",
        out.stdout
    );
}
