//! Secret variables: the `secrets:` section, secret-named `vars`, and values a user stores in
//! secret-named variables.

use super::{errors, load, request};
use crate::{ResponseView, Step, UserState};
use http::HeaderMap;

const SCENARIO: &str = r#"
vars: { api_key: key-abcdef, region: eu-west }
secrets:
  password: password123
users:
  - name: U
    tasks:
      - name: login
        steps:
          - request:
              method: POST
              path: /login
              json: { password: "{{ vars.password }}", key: "{{ vars.api_key }}" }
              extract: { token: { jsonpath: $.token }, user_name: { jsonpath: $.name } }
          - set: { refresh_token: "r-{{ token }}" }
"#;

#[test]
fn secrets_render_and_are_known_to_every_user() {
    let s = load(SCENARIO);
    let mut st = UserState::new(&s, 1);
    let rendered = request(&s, 0, 0, 0).render(&mut st).expect("renders");
    let body = String::from_utf8_lossy(&rendered.body).into_owned();
    assert!(
        body.contains("password123") && body.contains("key-abcdef"),
        "{body}"
    );
    let secrets = st.secrets();
    assert_eq!(
        secrets.redact("pw password123 key key-abcdef region eu-west"),
        "pw [redacted] key [redacted] region eu-west"
    );
}

#[test]
fn extracted_and_set_secret_names_join_the_users_secrets() {
    let s = load(SCENARIO);
    let mut st = UserState::new(&s, 1);
    let g0 = st.secrets().generation();
    let headers = HeaderMap::new();
    request(&s, 0, 0, 0)
        .evaluate(
            &ResponseView {
                status: 200,
                headers: &headers,
                body: br#"{"token":"tok-9876543210","name":"alice-liddell"}"#,
            },
            &mut st,
        )
        .expect("extracts");
    assert_ne!(st.secrets().generation(), g0);
    let Step::Set(set) = &s.user_types[0].tasks[0].steps[1] else {
        panic!("a set step");
    };
    set.apply(&mut st).expect("sets");
    let redacted = st
        .secrets()
        .redact("t=tok-9876543210 r=r-tok-9876543210 n=alice-liddell");
    assert_eq!(redacted, "t=[redacted] r=[redacted] n=alice-liddell");
    // Another user knows the scenario's secrets, not this user's token.
    let mut other = UserState::new(&s, 2);
    assert_eq!(other.secrets().redact("tok-9876543210"), "tok-9876543210");
    assert_eq!(other.secrets().redact("password123"), "[redacted]");
}

#[test]
fn secret_columns_of_a_drawn_row_are_secrets() {
    let s = load(
        r#"
data:
  creds: { rows: [ { email: a@example.com, password: row-password-1 } ] }
users:
  - name: U
    tasks:
      - request: { method: POST, path: /login, json: { e: "{{ data.creds.email }}", p: "{{ data.creds.password }}" } }
"#,
    );
    let mut st = UserState::new(&s, 1);
    assert_eq!(
        st.secrets().redact("row-password-1"),
        "row-password-1",
        "not drawn yet"
    );
    request(&s, 0, 0, 0).render(&mut st).expect("renders");
    assert_eq!(
        st.secrets().redact("row-password-1 a@example.com"),
        "[redacted] a@example.com"
    );
}

#[test]
fn summary_names_secrets_without_values() {
    let summary = load(SCENARIO).summary();
    assert!(summary.contains("api_key, password"), "{summary}");
    assert!(!summary.contains("password123") && !summary.contains("key-abcdef"));
}

#[test]
fn bad_secrets_are_reported() {
    let errs = errors(
        r#"
vars: { password: a-long-one }
secrets:
  password: other-value
  nested: { a: b }
  pin: "12"
users: [ { name: U, tasks: [ { request: { path: / } } ] } ]
"#,
    );
    let messages: Vec<String> = errs.iter().map(|e| e.message.clone()).collect();
    assert_eq!(errs.len(), 3, "{messages:#?}");
    assert!(
        messages[0].contains("both `vars` and `secrets`"),
        "{messages:#?}"
    );
    assert_eq!(errs[0].line, 4);
    assert!(messages[1].contains("to be a text"), "{messages:#?}");
    assert!(messages[2].contains("shorter than 4"), "{messages:#?}");
    let errs = errors("secrets: [a]\nusers: [ { name: U, tasks: [ { request: { path: / } } ] } ]");
    assert!(errs[0].message.contains("`secrets`"), "{errs:#?}");
}
