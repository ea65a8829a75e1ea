//! Property tests: nothing panics, whatever the input. Arbitrary strings, mutated versions
//! of a valid scenario and random templates go through loading, and whatever loads is
//! rendered and evaluated against arbitrary responses.

use crate::{ResponseView, Scenario, Step, UserState, parse_str};
use proptest::prelude::*;
use std::path::Path;

const BASE: &str = r#"host: http://127.0.0.1:3000
seed: 1
defaults:
  headers: { User-Agent: "cicada/0.1", X-Trace: "{{ uuid() }}" }
  timeout: 5s
vars: { password: pw, n: 3, list: [1, 2, 3] }
data:
  d: { rows: [ { email: a@x.io }, { email: b@x.io } ] }
  r: { rows: [1, 2], order: random }
users:
  - name: Agent
    weight: 2
    wait: { between: [1s, 2s] }
    on_start:
      - request:
          name: Login
          method: POST
          path: /login
          json: { email: "{{ data.d.email }}", password: "{{ vars.password }}", n: "{{ randint(1, vars.n) }}" }
          expect: [200, "2xx"]
          extract: { token: "$.token", ids: { jsonpath: "$.items[*].id", list: true, max: 5, optional: true } }
    headers: { Authorization: "Bearer {{ token }}" }
    tasks:
      - name: Flow
        weight: 3
        tags: [a]
        steps:
          - set: { q: "{{ fake('word') }}", c: "{{ counter() }}" }
          - request:
              path: "/items/{{ c }}"
              query: { q: "{{ q }}", t: "{{ now('+1d', '%Y-%m-%d') }}" }
              checks: [ { jsonpath: "$.id" }, { pointer: /name, matches: "^a" }, { jsonpath: "$.n", equals: "{{ vars.n }}" } ]
              extract: { item: { pointer: /id }, rid: { header: X-Id, optional: true } }
          - think: { constant: 1s }
          - request: { method: PUT, path: "/items/{{ item }}", form: { a: "{{ pick('d').email }}" } }
      - name: Raw
        request: { method: POST, path: /raw, body: "{% for i in vars.list %}{{ i }},{% endfor %}", expect: 200 }
  - name: Bot
    fixed_count: 1
    sequential: true
    wait: { throughput: 2 }
    tasks:
      - request: { path: "/b/{{ weighted_choice(vars.list, [1, 1, 1]) }}/{{ uniform(0, 1) }}" }
"#;

/// Runs every step of every user type against each response; must not panic.
fn exercise(s: &Scenario, responses: &[(u16, Vec<u8>)]) {
    let _ = s.summary();
    let headers = http::HeaderMap::new();
    for user in &s.user_types {
        let mut st = UserState::new(s, 7);
        let steps = user
            .on_start
            .iter()
            .chain(user.tasks.iter().flat_map(|t| &t.steps))
            .chain(&user.on_stop);
        for step in steps {
            match step {
                Step::Request(r) => {
                    let _ = r.render(&mut st);
                    for (status, body) in responses {
                        let _ = r.evaluate(
                            &ResponseView {
                                status: *status,
                                headers: &headers,
                                body,
                            },
                            &mut st,
                        );
                    }
                    let _ = r.render(&mut st);
                }
                Step::Set(set) => {
                    let _ = set.apply(&mut st);
                }
                Step::Think(w) => {
                    let _ = w.delay(std::time::Duration::from_millis(5), 0.5);
                }
            }
        }
    }
}

fn load_any(text: &str, responses: &[(u16, Vec<u8>)]) {
    match parse_str(text, "prop.yaml", Path::new("/nonexistent-dir")) {
        Ok(s) => exercise(&s, responses),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

#[test]
fn base_scenario_loads_and_runs() {
    let s = parse_str(BASE, "base.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let good = br#"{"token": "t", "items": [{"id": 1}], "id": 5, "name": "abc", "n": 3}"#.to_vec();
    exercise(&s, &[(200, good)]);
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, String),
    DuplicateLine(usize),
    SwapLines(usize, usize),
}

fn snippet() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("{{".to_owned()),
        Just("}}".to_owned()),
        Just("{%".to_owned()),
        Just(": ".to_owned()),
        Just("- ".to_owned()),
        Just("\n".to_owned()),
        Just("  ".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("&a ".to_owned()),
        Just("*a".to_owned()),
        Just("<<: ".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("~".to_owned()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("1e400".to_owned()),
        Just("\t".to_owned()),
        Just("$[?(@".to_owned()),
        any::<String>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..20).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (any::<usize>(), snippet()).prop_map(|(a, s)| Mutation::Insert(a, s)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for m in mutations {
        match m {
            Mutation::Delete(at, n) => {
                let at = at % (chars.len() + 1);
                let end = (at + n).min(chars.len());
                chars.drain(at..end);
            }
            Mutation::Insert(at, s) => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, s.chars());
            }
            Mutation::DuplicateLine(i) | Mutation::SwapLines(i, _) => {
                let s: String = chars.iter().collect();
                let mut lines: Vec<&str> = s.lines().collect();
                if lines.is_empty() {
                    continue;
                }
                let (len, a) = (lines.len(), i % lines.len());
                match m {
                    Mutation::SwapLines(_, j) => lines.swap(a, j % len),
                    _ => lines.insert(a, lines[a]),
                }
                chars = lines.join("\n").chars().collect();
            }
        }
    }
    chars.into_iter().collect()
}

fn responses() -> impl Strategy<Value = Vec<(u16, Vec<u8>)>> {
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        Just(
            br#"{"token": "t", "items": [{"id": 1}, {"id": "x"}], "id": 5, "name": "abc", "n": 3}"#
                .to_vec()
        ),
        Just(br#"{"token": {"deep": [1, 2]}, "id": null}"#.to_vec()),
        Just(b"[]".to_vec()),
    ];
    proptest::collection::vec((any::<u16>(), body), 1..3)
}

fn template_piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "{{",
        "}}",
        "{%",
        "%}",
        "{#",
        "#}",
        " ",
        "x",
        "vars.n",
        "vars.list",
        "randint(1,",
        "5)",
        "choice(",
        "[",
        "]",
        "(",
        ")",
        "|",
        "upper",
        "length",
        "for i in range(9999)",
        "endfor",
        "if",
        "endif",
        "'",
        "\"",
        ",",
        "now(",
        "'+1d'",
        "format='%Q'",
        "pick('d')",
        "pick('zz')",
        "data.d",
        "fake('email')",
        "uuid()",
        "counter()",
        "~",
        "*",
        "'a' * 100000",
        "user.id",
        "token",
        "None",
        "1/0",
        "-",
        "+",
        ".email",
        "namespace()",
        "dict(a=1)",
        "loop.index",
        "set y = 1",
        "raw",
        "endraw",
        "weighted_choice([1],[1])",
        "uniform(1e308, -1e308)",
    ])
}

proptest! {
    // 256 cases by default; raise with PROPTEST_CASES for a longer search.
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>(), responses in responses()) {
        load_any(&text, &responses);
    }

    #[test]
    fn mutated_scenarios_never_panic(mutations in proptest::collection::vec(mutation(), 1..6), responses in responses()) {
        load_any(&apply(BASE, &mutations), &responses);
    }

    #[test]
    fn random_templates_never_panic(pieces in proptest::collection::vec(template_piece(), 0..14), responses in responses()) {
        let template: String = pieces.concat();
        let quoted = serde_json::to_string(&template).unwrap_or_default();
        let text = format!(
            "vars: {{ n: 3, list: [1, 2] }}\ndata: {{ d: {{ rows: [ {{ email: e }} ] }} }}\nusers:\n  - name: U\n    tasks:\n      - steps:\n          - set: {{ token: 1, v: {quoted} }}\n          - request: {{ path: \"/{{{{ token }}}}\", headers: {{ X: {quoted} }}, json: {{ a: {quoted} }}, query: {{ q: {quoted} }}, checks: [ {{ jsonpath: $.a, equals: {quoted} }} ] }}\n"
        );
        load_any(&text, &responses);
    }
}

#[test]
fn deeply_nested_inputs_are_refused_not_overflowed() {
    let parens = format!("{}1{}", "(".repeat(5000), ")".repeat(5000));
    let brackets = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let path = format!("$.a{}", "[?(@.b".repeat(2000));
    for template in [
        format!("{{{{ {parens} }}}}"),
        format!("{{{{ {brackets} }}}}"),
        "{% if x %}".repeat(3000),
    ] {
        let quoted = serde_json::to_string(&template).unwrap_or_default();
        load_any(
            &format!(
                "users: [ {{ name: U, tasks: [ {{ request: {{ path: /, body: {quoted} }} }} ] }} ]"
            ),
            &[],
        );
    }
    let quoted = serde_json::to_string(&path).unwrap_or_default();
    load_any(
        &format!(
            "users: [ {{ name: U, tasks: [ {{ request: {{ path: /, extract: {{ a: {quoted} }} }} }} ] }} ]"
        ),
        &[],
    );
    let yaml = format!("users: {}{}", "[".repeat(3000), "]".repeat(3000));
    load_any(&yaml, &[]);
}
