//! Rendering requests and evaluating responses.

use super::{load, request};
use crate::{FailureKind, Scenario, Step, UserState};
use serde_json::json;
use std::time::Duration;

fn one(path_and_rest: &str) -> Scenario {
    load(&format!(
        "users: [ {{ name: U, tasks: [ {{ request: {path_and_rest} }} ] }} ]"
    ))
}

fn render(s: &Scenario, state: &mut UserState) -> crate::RenderedRequest {
    request(s, 0, 0, 0)
        .render(state)
        .unwrap_or_else(|e| panic!("{e:?}"))
}

fn body_json(r: &crate::RenderedRequest) -> serde_json::Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {:?}", r.body))
}

#[test]
fn headers_merge_defaults_user_step_case_insensitively() {
    let s = load(
        r#"
defaults: { headers: { User-Agent: "cicada/0.1", X-A: default, X-B: default }, timeout: 10s }
users:
  - name: U
    headers: { x-a: user, X-C: "c{{ user.id }}" }
    tasks:
      - request: { path: /x, headers: { X-B: step }, json: { a: 1 }, timeout: 2s }
      - request: { path: /y, headers: { content-type: text/plain }, json: { a: 1 } }
"#,
    );
    let mut st = UserState::new(&s, 9);
    let r = render(&s, &mut st);
    let h = |n: &str| {
        r.headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(h("user-agent").as_deref(), Some("cicada/0.1"));
    assert_eq!(h("x-a").as_deref(), Some("user"));
    assert_eq!(h("x-b").as_deref(), Some("step"));
    assert_eq!(h("x-c").as_deref(), Some("c9"));
    assert_eq!(h("content-type").as_deref(), Some("application/json"));
    assert_eq!(r.timeout, Some(Duration::from_secs(2)));
    assert_eq!(&r.body[..], br#"{"a":1}"#);
    let r2 = request(&s, 0, 1, 0)
        .render(&mut st)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        r2.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"text/plain"[..])
    );
    assert_eq!(r2.timeout, Some(Duration::from_secs(10)));
}

#[test]
fn json_leaves_keep_their_type() {
    let s = load(
        r#"
vars: { n: 7, list: [1, 2] }
data: { creds: { rows: [ { email: a@x.io, password: p } ] } }
users:
  - name: U
    tasks:
      - request:
          method: post
          path: /q
          json:
            int: "{{ randint(1, 5) }}"
            float: "{{ uniform(0, 1) }}"
            text: "n={{ vars.n }}"
            copy: "{{ vars.list }}"
            row: "{{ pick('creds') }}"
            bool: "{{ 1 == 1 }}"
            none: "{{ none }}"
            static: [1, "two", { three: 3.5 }]
            nested: [ "{{ vars.n + 1 }}", { deep: "{{ 'x' ~ vars.n }}" } ]
"#,
    );
    let r = render(&s, &mut UserState::new(&s, 1));
    assert_eq!(r.method, http::Method::POST);
    let b = body_json(&r);
    assert!(
        b["int"].as_i64().is_some_and(|n| (1..=5).contains(&n)),
        "{b}"
    );
    assert!(
        b["float"].as_f64().is_some_and(|f| (0.0..1.0).contains(&f)),
        "{b}"
    );
    assert_eq!(b["text"], json!("n=7"));
    assert_eq!(b["copy"], json!([1, 2]));
    assert_eq!(b["row"], json!({"email": "a@x.io", "password": "p"}));
    assert_eq!(b["bool"], json!(true));
    assert_eq!(b["none"], json!(null));
    assert_eq!(b["static"], json!([1, "two", {"three": 3.5}]));
    assert_eq!(b["nested"], json!([8, {"deep": "x7"}]));
}

#[test]
fn query_form_and_raw_bodies() {
    let s =
        one(r#"{ path: "/s?fixed=1", query: { q: "a b&c", n: "{{ user.id }}", tag: [x, y] } }"#);
    assert_eq!(
        render(&s, &mut UserState::new(&s, 4)).path_and_query,
        "/s?fixed=1&q=a+b%26c&n=4&tag=x&tag=y"
    );
    let s = one(r#"{ path: /s, query: { q: "a b" } }"#);
    assert_eq!(
        render(&s, &mut UserState::new(&s, 4)).path_and_query,
        "/s?q=a+b"
    );
    let s = one(r#"{ method: POST, path: /f, form: { user: "u{{ user.id }}", x: "1&2" } }"#);
    let r = render(&s, &mut UserState::new(&s, 3));
    assert_eq!(&r.body[..], b"user=u3&x=1%262");
    assert_eq!(
        r.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b"application/x-www-form-urlencoded"[..])
    );
    let s = one(r#"{ method: PUT, path: /r, body: "id={{ user.id }}\n" }"#);
    let r = render(&s, &mut UserState::new(&s, 5));
    assert_eq!(&r.body[..], b"id=5\n");
    assert!(r.headers.get("content-type").is_none());
}

#[test]
fn absolute_urls_and_bad_rendered_paths() {
    let s = one(r#"{ path: "https://other.example/x" }"#);
    assert_eq!(
        render(&s, &mut UserState::new(&s, 1)).path_and_query,
        "https://other.example/x"
    );
    let s = load(
        "users: [ { name: U, tasks: [ { steps: [ { set: { p: nope } }, { request: { path: \"{{ p }}\" } } ] } ] } ]",
    );
    let mut st = UserState::new(&s, 1);
    if let Step::Set(set) = &s.user_types[0].tasks[0].steps[0] {
        set.apply(&mut st).unwrap_or_else(|e| panic!("{e:?}"));
    }
    let err = request(&s, 0, 0, 1).render(&mut st).unwrap_err();
    assert_eq!(
        (err.kind, err.message.as_str()),
        (
            FailureKind::Render,
            "render path: must start with / or http(s)://"
        )
    );
}

#[test]
fn undefined_variable_at_runtime_is_a_render_failure() {
    let s = load(
        "users: [ { name: U, tasks: [ { steps: [ { request: { path: /a, extract: { id: \"$.id\" } } }, { request: { path: \"/b/{{ id }}\" } } ] } ] } ]",
    );
    let err = request(&s, 0, 0, 1)
        .render(&mut UserState::new(&s, 1))
        .unwrap_err();
    assert_eq!(err.kind, FailureKind::Render);
    assert_eq!(err.message, "render path: undefined value");
}

#[test]
fn functions_counter_uuid_choice_now() {
    let s = one(
        r#"{ path: "/{{ counter() }}/{{ uuid() }}/{{ choice(['a', 'b']) }}/{{ weighted_choice(['x', 'y'], [0, 1]) }}/{{ now() }}/{{ now('+1d', '%Y') }}/{{ now(format='%H') }}" }"#,
    );
    let mut st = UserState::new(&s, 1);
    let parts: Vec<String> = render(&s, &mut st)
        .path_and_query
        .split('/')
        .map(str::to_owned)
        .collect();
    assert_eq!(parts[1], "1");
    assert_eq!(parts[2].len(), 36);
    assert!(uuid::Uuid::parse_str(&parts[2]).is_ok_and(|u| u.get_version_num() == 4));
    assert!(parts[3] == "a" || parts[3] == "b");
    assert_eq!(parts[4], "y");
    assert!(
        parts[5].ends_with('Z') && parts[5].len() == 20,
        "{}",
        parts[5]
    );
    assert_eq!(parts[6].len(), 4);
    assert_eq!(parts[7].len(), 2);
    // The counter is per user and increments per call.
    assert!(render(&s, &mut st).path_and_query.starts_with("/2/"));
    assert!(
        render(&s, &mut UserState::new(&s, 2))
            .path_and_query
            .starts_with("/1/")
    );
}

#[test]
fn function_argument_errors_are_render_failures() {
    for path in [
        "/{{ randint(5, 1) }}",
        "/{{ choice([]) }}",
        "/{{ weighted_choice([1], [0]) }}",
        "/{{ now('soon') }}",
        "/{{ fake(vars.k) }}",
    ] {
        let s = load(&format!(
            "vars: {{ k: nope }}\nusers: [ {{ name: U, tasks: [ {{ request: {{ path: \"{path}\" }} }} ] }} ]"
        ));
        let err = request(&s, 0, 0, 0)
            .render(&mut UserState::new(&s, 1))
            .unwrap_err();
        assert_eq!(
            (err.kind, err.message.as_str()),
            (FailureKind::Render, "render path: invalid operation"),
            "{path}"
        );
    }
}

#[test]
fn runaway_templates_run_out_of_fuel() {
    let s = one(
        r#"{ path: "/{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}" }"#,
    );
    let err = request(&s, 0, 0, 0)
        .render(&mut UserState::new(&s, 1))
        .unwrap_err();
    assert_eq!(err.message, "render path: engine ran out of fuel");
}

#[test]
fn same_seed_and_id_reproduce_random_data() {
    let src = "seed: 5\nusers: [ { name: U, tasks: [ { request: { path: \"/{{ fake('email') }}/{{ randint(1, 1000000) }}/{{ uuid() }}\" } } ] } ]";
    let (a, b) = (load(src), load(src));
    let p = |s: &Scenario, id| render(s, &mut UserState::new(s, id)).path_and_query;
    assert_eq!(p(&a, 1), p(&b, 1));
    assert_ne!(p(&a, 1), p(&a, 2));
}

#[test]
fn data_rows_sequential_random_and_per_user() {
    let s = load(
        r#"
data:
  seq: { rows: [a, b, c] }
  rnd: { rows: [x, y, z], order: random }
users:
  - name: U
    tasks:
      - request: { path: "/{{ pick('seq') }}" }
      - request: { path: "/{{ data.rnd }}/{{ data.rnd }}" }
"#,
    );
    // pick() on a sequential dataset is round-robin across all users.
    let picks: Vec<String> = (0..4)
        .map(|id| render(&s, &mut UserState::new(&s, id)).path_and_query)
        .collect();
    assert_eq!(picks, ["/a", "/b", "/c", "/a"]);
    // data.NAME is drawn once per user and then stays the same for that user.
    for id in 0..4 {
        let mut st = UserState::new(&s, id);
        let first = request(&s, 0, 1, 0)
            .render(&mut st)
            .map(|r| r.path_and_query)
            .unwrap_or_default();
        let parts: Vec<&str> = first.split('/').collect();
        assert_eq!(parts[1], parts[2]);
        assert!(["x", "y", "z"].contains(&parts[1]));
        let again = request(&s, 0, 1, 0)
            .render(&mut st)
            .map(|r| r.path_and_query)
            .unwrap_or_default();
        assert_eq!(first, again);
    }
}

#[test]
fn set_steps_keep_types_and_see_earlier_values() {
    let s = load(
        r#"
data: { creds: { rows: [ { email: e@x.io, password: pw } ] } }
users:
  - name: U
    tasks:
      - steps:
          - set: { cred: "{{ pick('creds') }}", n: "{{ 2 + 3 }}", label: "n is {{ 5 }}", list: [1, "{{ 1 + 1 }}"], obj: { k: v } }
          - set: { twice: "{{ n * 2 }}", email: "{{ cred.email }}" }
"#,
    );
    let mut st = UserState::new(&s, 1);
    for step in &s.user_types[0].tasks[0].steps {
        if let Step::Set(set) = step {
            set.apply(&mut st).unwrap_or_else(|e| panic!("{e:?}"));
        }
    }
    assert_eq!(
        st.get_var("cred"),
        Some(json!({"email": "e@x.io", "password": "pw"}))
    );
    assert_eq!(st.get_var("n"), Some(json!(5)));
    assert_eq!(st.get_var("label"), Some(json!("n is 5")));
    assert_eq!(st.get_var("list"), Some(json!([1, 2])));
    assert_eq!(st.get_var("obj"), Some(json!({"k": "v"})));
    assert_eq!(st.get_var("twice"), Some(json!(10)));
    assert_eq!(st.get_var("email"), Some(json!("e@x.io")));
    assert_eq!(st.user_id(), 1);
    st.set_var("n", json!("rust"));
    assert_eq!(st.get_var("n"), Some(json!("rust")));
}

#[test]
fn invalid_rendered_header_values_do_not_leak_the_value() {
    let s = load(
        "users: [ { name: U, headers: { Authorization: \"Bearer {{ token }}\" }, tasks: [ { steps: [ { set: { token: \"secret\\nvalue\" } }, { request: { path: / } } ] } ] } ]",
    );
    let mut st = UserState::new(&s, 1);
    if let Step::Set(set) = &s.user_types[0].tasks[0].steps[0] {
        set.apply(&mut st).unwrap_or_else(|e| panic!("{e:?}"));
    }
    let e = request(&s, 0, 0, 1).render(&mut st).unwrap_err();
    assert_eq!(
        e.message,
        "render header authorization: invalid header value"
    );
}

#[test]
fn env_and_vars_in_templates() {
    let Ok(path) = std::env::var("PATH") else {
        return;
    };
    let s = one(r#"{ path: "/x", headers: { X-Path: "{{ env.PATH }}" } }"#);
    let r = render(&s, &mut UserState::new(&s, 1));
    assert_eq!(
        r.headers.get("x-path").and_then(|v| v.to_str().ok()),
        Some(path.as_str())
    );
}

#[test]
fn credentials_are_hidden_from_debug_output() {
    let s = load(
        "users: [ { name: U, headers: { Authorization: \"Bearer {{ token }}\", Cookie: sid=static-secret }, tasks: [ { steps: [ { set: { token: tok-secret } }, { request: { path: / } } ] } ] } ]",
    );
    let mut st = UserState::new(&s, 1);
    if let Step::Set(set) = &s.user_types[0].tasks[0].steps[0] {
        set.apply(&mut st).unwrap_or_else(|e| panic!("{e:?}"));
    }
    let r = request(&s, 0, 0, 1)
        .render(&mut st)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        r.headers.get("authorization").map(|v| v.as_bytes()),
        Some(&b"Bearer tok-secret"[..])
    );
    let shown = format!("{r:?} {st:?}");
    assert!(!shown.contains("secret"), "{shown}");
}

#[test]
fn growing_variables_are_bounded() {
    let s = load(
        "users: [ { name: U, tasks: [ { steps: [ { set: { l: [] } }, { set: { l: \"{{ l + [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] * 100 }}\" } } ] } ] } ]",
    );
    let mut st = UserState::new(&s, 1);
    let steps = &s.user_types[0].tasks[0].steps;
    if let Step::Set(init) = &steps[0] {
        init.apply(&mut st).unwrap_or_else(|e| panic!("{e:?}"));
    }
    for _ in 0..20 {
        if let Step::Set(grow) = &steps[1] {
            grow.apply(&mut st).unwrap_or_else(|e| panic!("{e:?}"));
        }
    }
    let len = st.get_var("l").and_then(|v| v.as_array().map(Vec::len));
    assert_eq!(len, Some(crate::convert::MAX_ITEMS));
}

#[test]
fn jinja_control_flow_and_filters() {
    let s = load(
        r#"
vars: { items: [a, b] }
users:
  - name: U
    tasks:
      - steps:
          - request: { path: /t, extract: { x: $.x, y: $.y } }
          - request:
              method: POST
              path: /t
              body: "{% for i in vars.items %}{{ loop.index }}={{ i | upper }};{% endfor %}{% if x is defined %}x{% endif %}{{ y | default('d') }}{% set z = 2 %}{{ z }}"
"#,
    );
    // `x` and `y` are known (extracted by the first step) but not set yet.
    let r = request(&s, 0, 0, 1)
        .render(&mut UserState::new(&s, 1))
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(&r.body[..], b"1=A;2=B;d2");
}

#[test]
fn inherited_headers_wait_for_their_variables_but_step_headers_do_not() {
    let s = load(
        r#"
users:
  - name: U
    headers: { Authorization: "Bearer {{ token }}" }
    on_start:
      - request: { method: POST, path: /login, extract: { token: "$.data.token" } }
    tasks:
      - request: { path: /x, headers: { X-Trace: "{{ trace_id }}" }, extract: { trace_id: "$.t" } }
"#,
    );
    let mut st = UserState::new(&s, 1);
    let Step::Request(login) = &s.user_types[0].on_start[0] else {
        panic!("a request step")
    };
    // Before the login extracted a token, the user-level header is left out.
    let r = login.render(&mut st).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(r.headers.get("authorization").is_none());
    st.set_var("token", json!("abc"));
    let r = login.render(&mut st).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(r.headers["authorization"], "Bearer abc");
    // A header the step itself sets must render: an undefined variable fails the request.
    let err = request(&s, 0, 0, 0).render(&mut st).unwrap_err();
    assert_eq!(err.kind, FailureKind::Render);
    assert!(err.message.contains("x-trace"), "{}", err.message);
}
