//! Whole-crate tests: loading, rendering and evaluating complete scenarios.
//! (Module-level unit tests live next to their code.)

mod docs;
mod errors;
mod evaluate;
mod load;
mod props;
mod render;
mod secrets;

use crate::{Diagnostic, RequestStep, Scenario, Step, parse_str};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Loads `src` or fails the test with the full diagnostic text.
pub(crate) fn load(src: &str) -> Scenario {
    load_in(src, Path::new("."))
}

pub(crate) fn load_in(src: &str, dir: &Path) -> Scenario {
    match parse_str(src, "test.yaml", dir) {
        Ok(s) => s,
        Err(e) => panic!("scenario failed to load:\n{e}"),
    }
}

/// The diagnostics of a scenario that must fail to load.
pub(crate) fn errors(src: &str) -> Vec<Diagnostic> {
    match parse_str(src, "test.yaml", Path::new(".")) {
        Ok(_) => panic!("scenario loaded but should not have:\n{src}"),
        Err(e) => e.diagnostics().to_vec(),
    }
}

/// The one diagnostic of a failing scenario, as `(line, column, message)`.
pub(crate) fn one_error(src: &str) -> (usize, usize, String) {
    let errs = errors(src);
    assert_eq!(errs.len(), 1, "expected one diagnostic, got {errs:#?}");
    (errs[0].line, errs[0].column, errs[0].message.clone())
}

/// The request at `steps[step]` of task `task` of user type `user`.
pub(crate) fn request(s: &Scenario, user: usize, task: usize, step: usize) -> &RequestStep {
    match &s.user_types[user].tasks[task].steps[step] {
        Step::Request(r) => r,
        other => panic!("not a request: {other:?}"),
    }
}

/// A fresh, empty folder under the system temp dir (removed by the caller if it cares).
pub(crate) fn temp_dir() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "cicada-scenario-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// The scenario from the design brief, used by several tests.
pub(crate) const EXAMPLE: &str = r#"
host: http://127.0.0.1:3000
defaults:
  headers: { User-Agent: "cicada/0.1" }
  timeout: 10s
vars: { password: password123 }
data:
  creds: { file: users.csv, order: sequential }
users:
  - name: Agent
    weight: 3
    fixed_count: 2
    wait: { between: [1s, 3s] }
    sequential: false
    on_start:
      - request:
          name: Login
          method: POST
          path: /api/v1/auth/login
          json: { email: "{{ fake('email') }}", password: "{{ vars.password }}" }
          expect: [200]
          extract: { token: "$.data.token" }
    on_stop: []
    headers: { Authorization: "Bearer {{ token }}" }
    tasks:
      - name: Create then view
        weight: 20
        tags: [write]
        steps:
          - request:
              method: POST
              path: /api/v1/quotes
              json: { type: "{{ choice(['AUTO', 'HOME']) }}", coverageAmount: "{{ randint(1000, 50000) }}" }
              extract: { quote_id: "$.data.id" }
          - think: { between: [3s, 6s] }
          - request: { method: GET, path: "/api/v1/quotes/{{ quote_id }}", name: "/api/v1/quotes/[id]" }
      - name: List
        weight: 30
        request: { method: GET, path: /api/v1/policies }
"#;

#[test]
fn scenario_is_send_sync_and_state_is_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Scenario>();
    send::<crate::UserState>();
    send_sync::<crate::LoadError>();
}
