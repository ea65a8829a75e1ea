//! Every kind of load error, with its line and column.

use super::{errors, one_error};
use crate::parse_str;
use std::path::Path;

const OK_TASKS: &str = "tasks: [ { request: { path: / } } ]";

#[test]
fn unknown_key_with_suggestion_and_position() {
    let src = "users:\n  - name: A\n    wieght: 3\n    tasks: [ { request: { path: / } } ]\n";
    let (line, col, msg) = one_error(src);
    assert_eq!((line, col), (3, 5));
    assert!(
        msg.contains("unknown key `wieght` in a user type (did you mean `weight`?)"),
        "{msg}"
    );
}

#[test]
fn display_has_origin_line_column_source_and_caret() {
    let src = "users:\n  - name: A\n    wieght: 3\n    tasks: [ { request: { path: / } } ]\n";
    let e = parse_str(src, "agents.yaml", Path::new("."))
        .map(|_| ())
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with("agents.yaml:3:5: unknown key `wieght`"),
        "{text}"
    );
    assert!(text.contains("\n 3 |     wieght: 3\n   |     ^"), "{text}");
}

#[test]
fn collects_many_errors_in_file_order() {
    let src = r#"
hots: http://x
users:
  - name: A
    wait: { between: [3s, 1s] }
    tasks:
      - request: { path: /a, methd: GET }
      - request: { path: /b, timeout: soon }
"#;
    let errs = errors(src);
    let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 5, 7, 8], "{errs:#?}");
    assert!(errs[0].message.contains("did you mean `host`"));
    assert!(errs[2].message.contains("did you mean `method`"));
}

#[test]
fn yaml_syntax_error() {
    let (line, _, msg) = one_error("users:\n  - name: [A\n");
    assert!(line >= 2, "{line}");
    assert!(msg.starts_with("invalid YAML"), "{msg}");
    let (_, _, msg) = one_error("users: []\nusers: []\n");
    assert!(msg.contains("duplicate"), "{msg}");
}

#[test]
fn structural_errors() {
    let cases: &[(&str, &str)] = &[
        ("host: x\n", "no user types"),
        ("", "expected the scenario (a mapping)"),
        ("- a\n- b\n", "expected the scenario (a mapping)"),
        ("users: []\n", "no user types"),
        ("users: [ { name: A } ]\n", "needs `tasks`"),
        ("users: [ { name: A, tasks: [] } ]\n", "`tasks` is empty"),
        (
            "users: [ { tasks: [ { request: { path: / } } ] } ]\n",
            "needs a `name`",
        ),
        (
            "users: [ { name: A, tasks: [ { name: t } ] } ]\n",
            "exactly one of `steps`",
        ),
        (
            "users: [ { name: A, tasks: [ { steps: [] } ] } ]\n",
            "`steps` is empty",
        ),
        (
            "users: [ { name: A, tasks: [ { steps: [ { think: 1s, set: { a: 1 } } ] } ] } ]\n",
            "exactly one of `request`, `think`, `set`",
        ),
        (
            "users: [ { name: A, tasks: [ { steps: [ { thnik: 1s } ] } ] } ]\n",
            "did you mean `think`",
        ),
        (
            "users: [ { name: A, tasks: [ { request: { method: GET } } ] } ]\n",
            "needs a `path`",
        ),
        (
            "users: [ { name: A, tasks: [ { request: { path: api/x } } ] } ]\n",
            "must start with `/`",
        ),
        (
            "users: [ { name: A, tasks: [ { request: { path: /, method: \"G T\" } } ] } ]\n",
            "invalid HTTP method",
        ),
        (
            "users: [ { name: A, tasks: [ { request: { path: /, json: {}, form: {} } } ] } ]\n",
            "at most one of `json`, `form`, `body`",
        ),
        (
            "users: [ { name: A, tasks: [ { request: { path: /, headers: { \"a b\": x } } } ] } ]\n",
            "invalid header name",
        ),
        (
            "users: [ { name: A, tasks: [ { request: { path: /, timeout: 0s } } ] } ]\n",
            "greater than zero",
        ),
        (
            "users: [ { name: A, tasks: [ { request: { path: /, expect: [600] } } ] } ]\n",
            "status code",
        ),
        (
            "host: ftp://x\nusers: [ { name: A, tasks: [ { request: { path: / } } ] } ]\n",
            "`host` must be a base URL",
        ),
        (
            "seed: -1\nusers: [ { name: A, tasks: [ { request: { path: / } } ] } ]\n",
            "`seed`",
        ),
        (
            "users: [ { name: A, weight: -1, tasks: [ { request: { path: / } } ] } ]\n",
            "whole number",
        ),
    ];
    for (src, expected) in cases {
        let errs = errors(src);
        assert!(
            errs.iter().any(|e| e.message.contains(expected)),
            "{src}\nexpected {expected:?} in {errs:#?}"
        );
        assert!(errs.iter().all(|e| e.line > 0 && e.column > 0), "{errs:#?}");
    }
}

#[test]
fn semantic_errors_across_user_types() {
    let dup = format!("users:\n  - {{ name: A, {OK_TASKS} }}\n  - {{ name: A, {OK_TASKS} }}\n");
    let (line, col, msg) = one_error(&dup);
    assert_eq!(
        (line, col, msg.as_str()),
        (3, 13, "duplicate user type name `A`")
    );
    let zero = format!(
        "users:\n  - {{ name: A, weight: 0, {OK_TASKS} }}\n  - {{ name: B, weight: 0, {OK_TASKS} }}\n"
    );
    assert!(one_error(&zero).2.contains("has weight 0"));
    let fixed_zero = format!("users:\n  - {{ name: A, fixed_count: 0, {OK_TASKS} }}\n");
    assert!(one_error(&fixed_zero).2.contains("fixed_count: 0"));
    let fixed_big = format!(
        "users:\n  - {{ name: A, fixed_count: 4294967295, {OK_TASKS} }}\n  - {{ name: B, fixed_count: 5, {OK_TASKS} }}\n"
    );
    assert!(one_error(&fixed_big).2.contains("add up to more than"));
    // Fixed types next to zero-weight ones are fine as long as some weighted type runs.
    let tasks_zero = "users: [ { name: A, tasks: [ { weight: 0, request: { path: / } } ] } ]\n";
    assert!(
        one_error(tasks_zero)
            .2
            .contains("every task of user type `A` has weight 0")
    );
    let sequential_zero = "users: [ { name: A, sequential: true, tasks: [ { weight: 0, request: { path: / } } ] } ]\n";
    assert!(parse_str(sequential_zero, "t", Path::new(".")).is_ok());
}

#[test]
fn bad_durations_regexes_and_paths() {
    let src = r#"users:
  - name: A
    wait: { constant: 3 parsecs }
    tasks:
      - request:
          path: /
          checks:
            - { jsonpath: "$.a[", exists: true }
            - { jsonpath: "$.a", matches: "(unclosed" }
            - { pointer: "a/b" }
          extract: { x: "$$bad", y: { header: "bad header" }, z: { jsonpath: "$.a", pointer: "/a" } }
"#;
    let errs = errors(src);
    let find = |s: &str| {
        errs.iter()
            .find(|e| e.message.contains(s))
            .map(|e| (e.line, e.column))
    };
    assert_eq!(find("expected a wait"), None);
    assert_eq!(find("duration"), Some((3, 23)));
    assert_eq!(find("invalid JSONPath `$.a[`"), Some((8, 27)));
    assert_eq!(
        find("invalid regular expression: unclosed group"),
        Some((9, 43))
    );
    assert_eq!(find("invalid JSON Pointer"), Some((10, 26)));
    assert_eq!(find("invalid JSONPath `$$bad`"), Some((11, 25)));
    assert_eq!(find("invalid header name"), Some((11, 47)));
    assert_eq!(
        find("exactly one of `jsonpath`, `pointer`, `header`"),
        Some((11, 66))
    );
    assert_eq!(errs.len(), 7, "{errs:#?}");
}

#[test]
fn data_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "data: { c: { file: missing.csv } }",
            "cannot read data file `missing.csv`: no such file",
        ),
        ("data: { c: { file: x.xml } }", "cannot tell the format"),
        ("data: { c: { rows: [] } }", "has no rows"),
        (
            "data: { c: { rows: [1], file: a.csv } }",
            "exactly one of `file` or `rows`",
        ),
        (
            "data: { c: { rows: [1], order: shuffled } }",
            "order: random",
        ),
        ("data: { \"a-b\": { rows: [1] } }", "must be an identifier"),
    ];
    for (data, expected) in cases {
        let src = format!("{data}\nusers: [ {{ name: A, {OK_TASKS} }} ]\n");
        let errs = errors(&src);
        assert!(
            errs.iter()
                .any(|e| e.message.contains(expected) && e.line == 1),
            "{expected:?} in {errs:#?}"
        );
    }
}

#[test]
fn template_errors() {
    let t = |path: &str| {
        format!(
            "vars: {{ password: x }}\ndata: {{ creds: {{ rows: [1] }} }}\nusers:\n  - name: A\n    tasks: [ {{ request: {{ path: \"{path}\" }} }} ]\n"
        )
    };
    let cases: &[(&str, &str)] = &[
        ("/{{ id", "template syntax error"),
        ("/{{ quote_idd }}", "unknown variable `quote_idd`"),
        (
            "/{{ rnadint(1, 2) }}",
            "unknown function `rnadint` (did you mean `randint`?)",
        ),
        (
            "/{{ vars.pasword }}",
            "unknown variable `vars.pasword`: no such key under `vars` (did you mean `vars.password`?)",
        ),
        ("/{{ data.cred }}", "unknown dataset `data.cred`"),
        ("/{{ user.name }}", "`user` only has `id`"),
        ("/{{ pick('cred') }}", "pick(): no dataset named `cred`"),
        ("/{{ fake('emial') }}", "unknown fake() kind `emial`"),
        ("/{{ 1 | uper }}", "unknown filter `uper`"),
        (
            "/{{ env.CICADA_SURELY_UNSET_VARIABLE_X }}",
            "environment variable",
        ),
    ];
    for (path, expected) in cases {
        let errs = errors(&t(path));
        assert!(
            errs.iter()
                .any(|e| e.message.contains(expected) && (e.line, e.column) == (5, 33)),
            "{path}: {expected:?} in {errs:#?}"
        );
    }
}

#[test]
fn variables_are_per_user_type() {
    // `token` is extracted by A only; B using it is an error, A using it is fine.
    let src = r#"
users:
  - name: A
    on_start: [ { request: { path: /login, extract: { token: "$.t" } } } ]
    tasks: [ { request: { path: "/a/{{ token }}" } } ]
  - name: B
    tasks: [ { request: { path: "/b/{{ token }}" } } ]
"#;
    let (line, _, msg) = one_error(src);
    assert_eq!(line, 7);
    assert!(
        msg.contains("no `extract` or `set` in user type `B` sets it"),
        "{msg}"
    );
    // Defaults headers are checked against every user type.
    let src = "defaults: { headers: { X: \"{{ token }}\" } }\nusers:\n  - name: A\n    tasks: [ { steps: [ { set: { token: 1 } }, { request: { path: / } } ] } ]\n  - name: B\n    tasks: [ { request: { path: / } } ]\n";
    let (line, _, msg) = one_error(src);
    assert_eq!(line, 1);
    assert!(msg.contains("user type `B`"), "{msg}");
}

#[test]
fn reserved_and_invalid_variable_names() {
    let src = "users: [ { name: A, tasks: [ { steps: [ { set: { vars: 1, uuid: 2, \"1x\": 3, ok: 4 } } ] } ] } ]\n";
    let errs = errors(src);
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(errs[0].message.contains("reserved"));
    assert!(errs[2].message.contains("must be an identifier"));
}

#[test]
fn errors_never_echo_vars_values() {
    let src = "vars: { password: hunter2-secret }\nusers: [ { name: A, tasks: [ { request: { path: \"/{{ vars.pasword }}\" } } ] } ]\n";
    let errs = errors(src);
    assert!(
        errs.iter().all(|e| !e.message.contains("hunter2")),
        "{errs:#?}"
    );
}

#[test]
fn unquoted_template_values_get_a_hint() {
    let src = "users:\n  - name: A\n    tasks:\n      - request:\n          path: {{ id }}\n          json: { a: {{ b }} }\n";
    let errs = errors(src);
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert_eq!((errs[0].line, errs[0].column), (5, 17));
    assert!(errs[0].message.contains("must be quoted"), "{errs:#?}");
    assert_eq!(errs[1].line, 6);
}

#[test]
fn host_with_credentials_is_refused_at_its_place_without_the_password() {
    let src = "users: [ { name: A, tasks: [ { request: { path: / } } ] } ]\nhost: http://alice:hunter22@127.0.0.1:8080\n";
    let (line, col, msg) = one_error(src);
    assert_eq!((line, col), (2, 7));
    assert_eq!(msg, crate::HOST_CREDENTIALS_MESSAGE);
    let text = parse_str(src, "s.yaml", Path::new("."))
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("s.yaml:2:7: host must not contain credentials"),
        "{text}"
    );
    assert!(!text.contains("hunter22"), "{text}");
}
