//! Loading valid scenarios: structure, defaults, data files, summary.

use super::{EXAMPLE, load, load_in, request, temp_dir};
use crate::{Step, Wait, load_file};
use std::time::Duration;

fn example_dir() -> std::path::PathBuf {
    let dir = temp_dir();
    std::fs::write(
        dir.join("users.csv"),
        "email,password\na@x.io,pw1\nb@x.io,pw2\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    dir
}

#[test]
fn the_brief_example_loads() {
    let dir = example_dir();
    std::fs::write(dir.join("s.yaml"), EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
    let s = load_file(&dir.join("s.yaml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.host.as_deref(), Some("http://127.0.0.1:3000"));
    let agent = &s.user_types[0];
    assert_eq!(
        (agent.name.as_str(), agent.weight, agent.fixed_count),
        ("Agent", 3, Some(2))
    );
    assert_eq!(
        agent.wait,
        Wait::Between {
            min: Duration::from_secs(1),
            max: Duration::from_secs(3)
        }
    );
    assert!(!agent.sequential);
    assert_eq!(agent.on_start.len(), 1);
    assert!(agent.on_stop.is_empty());
    assert_eq!(agent.tasks.len(), 2);
    let t0 = &agent.tasks[0];
    assert_eq!(
        (t0.name.as_str(), t0.weight, t0.tags.clone()),
        ("Create then view", 20, vec!["write".to_owned()])
    );
    assert!(matches!(t0.steps[1], Step::Think(Wait::Between { .. })));
    assert_eq!(&**request(&s, 0, 0, 2).name(), "/api/v1/quotes/[id]");
    assert_eq!(agent.tasks[1].name, "List");
    assert_eq!(&**request(&s, 0, 1, 0).method_str(), "GET");
    assert_eq!(
        request(&s, 0, 1, 0).timeout(),
        Some(Duration::from_secs(10))
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn summary_lists_types_tasks_and_requests() {
    let src = r#"
users:
  - name: Agent
    weight: 3
    wait: { constant: 2s }
    on_start: [ { request: { method: POST, path: /login, name: Login } } ]
    tasks:
      - { name: Write, weight: 1, tags: [write], steps: [ { request: { method: POST, path: /q } }, { think: 1s }, { set: { a: 1 } } ] }
      - { name: Read, weight: 3, request: { path: "/q/{{ counter() }}", name: "/q/[n]" } }
  - name: Admin
    weight: 1
    sequential: true
    tasks: [ { request: { path: /admin } } ]
  - name: Bot
    fixed_count: 2
    tasks: [ { request: { path: /bot } } ]
"#;
    let text = load(src).summary();
    for expected in [
        "3 user type(s), 4 task(s), 5 request step(s)",
        "Agent: weight 3 (75.0% of weighted users), wait constant 2s",
        "    POST Login",
        "  25.0%  Write  [write]",
        "            POST /q",
        "            think constant 1s",
        "            set a",
        "  75.0%  Read",
        "            GET /q/[n]",
        "Admin: weight 1 (25.0% of weighted users), wait no wait",
        "tasks (in order):",
        "Bot: fixed 2 user(s)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn defaults_apply() {
    let s = load("users: [ { name: U, tasks: [ { request: { path: / } } ] } ]");
    let u = &s.user_types[0];
    assert_eq!(
        (u.weight, u.fixed_count, u.wait, u.sequential),
        (1, None, Wait::None, false)
    );
    assert_eq!(u.tasks[0].weight, 1);
    // A task without a name is named after its first request.
    assert_eq!(u.tasks[0].name, "/");
    assert_eq!(request(&s, 0, 0, 0).method(), http::Method::GET);
    assert_eq!(request(&s, 0, 0, 0).timeout(), None);
    assert_eq!(s.host, None);
}

#[test]
fn seed_is_taken_from_the_file_and_can_be_replaced() {
    let mut s = load("seed: 42\nusers: [ { name: U, tasks: [ { request: { path: / } } ] } ]");
    assert_eq!(s.seed(), 42);
    s.set_seed(7);
    assert_eq!(s.seed(), 7);
}

#[test]
fn data_from_csv_json_and_inline_rows() {
    let dir = temp_dir();
    std::fs::write(dir.join("a.csv"), "id,name\n1,x\n2,y\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("b.json"), r#"[{"id": 1}, {"id": 2}, {"id": 3}]"#)
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("c.txt"), "[1]").unwrap_or_else(|e| panic!("{e}"));
    let s = load_in(
        r#"
data:
  a: { file: a.csv }
  b: { file: b.json, order: random }
  c: { file: c.txt, format: json }
  d: { rows: [ { k: v }, 5 ] }
users: [ { name: U, tasks: [ { request: { path: "/{{ pick('a').id }}/{{ pick('b').id }}/{{ pick('c') }}/{{ data.d }}" } } ] } ]
"#,
        &dir,
    );
    let names: Vec<&str> = s.globals.datasets.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["a", "b", "c", "d"]);
    assert_eq!(
        s.globals
            .datasets
            .iter()
            .map(|d| d.rows.len())
            .collect::<Vec<_>>(),
        [2, 3, 1, 2]
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_scenario_ships_with_its_data_files() {
    let dir = temp_dir();
    std::fs::write(dir.join("a.csv"), "id\n7\n8\n").unwrap_or_else(|e| panic!("{e}"));
    let text = r#"
data:
  a: { file: a.csv }
users: [ { name: U, tasks: [ { request: { path: "/{{ pick('a').id }}" } } ] } ]
"#;
    let s = load_in(text, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        s.data_files.iter().collect::<Vec<_>>(),
        [(&"a.csv".to_string(), &"id\n7\n8\n".to_string())]
    );
    // Elsewhere (no such folder): the shipped copy is used.
    let copy = crate::parse_shipped(text, "master:s.yaml", &s.data_files)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(copy.globals.datasets[0].rows.len(), 2);
    let missing = crate::parse_shipped(text, "master:s.yaml", &Default::default())
        .map(|_| ())
        .unwrap_err();
    assert!(
        missing
            .to_string()
            .contains("data file `a.csv` was not shipped with the scenario"),
        "{missing}"
    );
}

#[test]
fn load_file_reports_a_missing_file() {
    let e = load_file(std::path::Path::new("/nonexistent/cicada.yaml"))
        .map(|_| ())
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/cicada.yaml: cannot read scenario"),
        "{e}"
    );
}

#[test]
fn yaml_anchors_and_merges_work() {
    let s = load(
        r#"
users:
  - &base
    name: A
    weight: 2
    tasks: [ { request: { path: /a } } ]
  - <<: *base
    name: B
"#,
    );
    assert_eq!(s.user_types.len(), 2);
    assert_eq!(
        (s.user_types[1].name.as_str(), s.user_types[1].weight),
        ("B", 2)
    );
    let s = load(
        "users:\n  - name: A\n    wait: &w 1s\n    tasks: [ { request: { path: /a } }, { steps: [ { think: *w } ] } ]\n",
    );
    assert!(matches!(
        s.user_types[0].tasks[1].steps[0],
        Step::Think(Wait::Constant(_))
    ));
}
