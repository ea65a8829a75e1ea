//! Against the recording server: the mix follows the weights, templated bodies and extracted
//! tokens arrive as sent, and the server saw exactly what cicada counted.

use std::collections::HashSet;

use cicada_testkit::RecordingServer;

use crate::util::{entry, read_json, run_cicada, scenario, total_requests};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_mix_follows_weights_and_counts_match() {
    let server = RecordingServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "mix.yaml",
        r#"
users:
  - name: A
    weight: 1
    tasks:
      - { name: one, weight: 1, request: { path: /a/one } }
      - { name: three, weight: 3, request: { path: /a/three } }
  - name: B
    weight: 1
    tasks:
      - { name: b, request: { path: /b } }
"#,
    );
    let json = dir.path().join("out.json");
    let out = run_cicada(&[
        "run",
        "--headless",
        "-f",
        &file,
        "-H",
        &server.url(),
        "-u",
        "8",
        "-r",
        "100",
        "-t",
        "3s",
        "--json",
        json.to_str().unwrap(),
        "--only-summary",
        "--seed",
        "7",
    ])
    .await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    let report = read_json(&json);
    assert_eq!(
        server.count(),
        total_requests(&report),
        "server saw what cicada counted"
    );

    let records = server.records();
    let count = |p: &str| records.iter().filter(|r| r.path == p).count() as f64;
    let (one, three) = (count("/a/one"), count("/a/three"));
    assert!(one > 50.0, "enough samples: {one}");
    let ratio = three / one;
    assert!((2.5..3.5).contains(&ratio), "tasks 1:3, got {ratio:.2}");
    // Both user types got half of the users.
    assert!(count("/b") > 0.0);
    // Default row names are the paths as written.
    assert_eq!(
        entry(&report, "GET", "/a/three")["requests"]
            .as_f64()
            .unwrap(),
        three
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templated_bodies_and_extracted_tokens_arrive_as_sent() {
    let server = RecordingServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "flow.yaml",
        r#"
defaults:
  headers: { User-Agent: "cicada-e2e/1" }
vars: { password: password123 }
users:
  - name: Agent
    wait: { constant: 100ms }
    on_start:
      - request:
          name: Login
          method: POST
          path: /api/v1/auth/login
          json: { email: "{{ fake('email') }}", password: "{{ vars.password }}" }
          expect: [200]
          extract: { token: "$.data.token" }
    headers: { Authorization: "Bearer {{ token }}" }
    tasks:
      - name: Create then view
        steps:
          - request:
              method: POST
              path: /api/v1/quotes
              json: { type: "{{ choice(['AUTO', 'HOME']) }}", coverageAmount: "{{ randint(1000, 50000) }}", nested: { tags: ["x", "{{ user.id }}"] } }
              expect: [201]
              extract: { quote_id: "$.data.id" }
          - request: { method: GET, path: "/api/v1/quotes/{{ quote_id }}", name: "/api/v1/quotes/[id]", query: { verbose: "true" } }
"#,
    );
    let json = dir.path().join("out.json");
    let out = run_cicada(&[
        "run",
        "--headless",
        "-f",
        &file,
        "-H",
        &server.url(),
        "-u",
        "5",
        "-r",
        "50",
        "-t",
        "2s",
        "--json",
        json.to_str().unwrap(),
        "--only-summary",
    ])
    .await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    let report = read_json(&json);
    assert_eq!(report["total"]["failures"].as_u64(), Some(0), "{report:#}");

    let records = server.records();
    let logins: Vec<_> = records
        .iter()
        .filter(|r| r.path == "/api/v1/auth/login")
        .collect();
    assert_eq!(logins.len(), 5, "one login per user");
    let mut issued = HashSet::new();
    for login in &logins {
        let body: serde_json::Value = serde_json::from_slice(&login.body).unwrap();
        assert_eq!(body["password"], "password123");
        assert!(body["email"].as_str().unwrap().contains('@'));
        assert_eq!(login.headers["user-agent"], "cicada-e2e/1");
    }
    // Tokens the server issued are exactly the ones users send back.
    for r in &records {
        if r.path == "/api/v1/auth/login" {
            continue;
        }
        let auth = r.headers["authorization"].to_str().unwrap().to_string();
        assert!(auth.starts_with("Bearer tok-"), "{auth}");
        issued.insert(auth);
    }
    assert!(!issued.is_empty() && issued.len() <= 5, "{issued:?}");

    let creates: Vec<_> = records
        .iter()
        .filter(|r| r.path == "/api/v1/quotes")
        .collect();
    assert!(!creates.is_empty());
    for c in &creates {
        assert_eq!(c.headers["content-type"], "application/json");
        let body: serde_json::Value = serde_json::from_slice(&c.body).unwrap();
        assert!(matches!(body["type"].as_str(), Some("AUTO" | "HOME")));
        let amount = body["coverageAmount"]
            .as_i64()
            .expect("a JSON number, not a string");
        assert!((1000..=50000).contains(&amount));
        assert_eq!(body["nested"]["tags"][0], "x");
        assert!(
            body["nested"]["tags"][1].is_number(),
            "user.id keeps its type"
        );
    }
    // Every view uses an id the server handed out in a create response.
    let views: Vec<_> = records
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/quotes/"))
        .collect();
    assert!(!views.is_empty());
    for v in &views {
        assert!(v.path.starts_with("/api/v1/quotes/id-"), "{}", v.path);
        assert_eq!(v.query.as_deref(), Some("verbose=true"));
    }
    // Trace context: every request has a traceparent; the two requests of one task run share
    // the trace id; baggage names the user type and the task.
    let trace_of = |r: &cicada_testkit::Recorded| {
        let v = r.headers["traceparent"].to_str().unwrap().to_string();
        let parts: Vec<String> = v.split('-').map(str::to_string).collect();
        assert_eq!(parts.len(), 4, "{v}");
        assert_eq!((parts[1].len(), parts[2].len()), (32, 16), "{v}");
        parts[1].clone()
    };
    let create_traces: HashSet<String> = creates.iter().map(|c| trace_of(c)).collect();
    for v in &views {
        assert!(
            create_traces.contains(&trace_of(v)),
            "a view shares its create's trace"
        );
        assert_eq!(
            v.headers["baggage"],
            "cicada.synthetic=true,cicada.user_type=Agent,cicada.task=Create%20then%20view"
        );
    }
    for login in &logins {
        let baggage = login.headers["baggage"].to_str().unwrap();
        assert!(baggage.ends_with("cicada.task=on_start"), "{baggage}");
    }
    // Ids create no rows of their own.
    assert_eq!(
        entry(&report, "GET", "/api/v1/quotes/[id]")["requests"]
            .as_u64()
            .unwrap(),
        views.len() as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_select_tasks() {
    let server = RecordingServer::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = scenario(
        dir.path(),
        "tags.yaml",
        r#"
users:
  - name: U
    wait: { constant: 10ms }
    tasks:
      - { name: read, tags: [read], request: { path: /read } }
      - { name: write, tags: [write], request: { method: POST, path: /write } }
      - { name: admin, tags: [read, admin], request: { path: /admin } }
"#,
    );
    let out = run_cicada(&[
        "run",
        "--headless",
        "-f",
        &file,
        "-H",
        &server.url(),
        "-u",
        "3",
        "-r",
        "50",
        "-t",
        "1s",
        "--tags",
        "read",
        "--exclude-tags",
        "admin",
        "--only-summary",
    ])
    .await;
    assert_eq!(out.code(), Some(0), "{out:?}");
    let records = server.records();
    assert!(!records.is_empty());
    assert!(
        records.iter().all(|r| r.path == "/read"),
        "only the read task ran"
    );

    // A filter that leaves nothing is a usage error.
    let out = run_cicada(&[
        "run",
        "--headless",
        "-f",
        &file,
        "-H",
        &server.url(),
        "-t",
        "1s",
        "--tags",
        "nope",
    ])
    .await;
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(out.stderr.contains("tag"), "{}", out.stderr);
}
