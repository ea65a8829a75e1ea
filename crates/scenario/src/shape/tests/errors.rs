//! Bad shapes: every problem at its line and column, with a helpful message.

use super::shape;
use crate::tests::{errors, load};

/// The diagnostics of a shape that must fail, as `(line, column, message)`.
fn errs(src: &str) -> Vec<(usize, usize, String)> {
    match crate::parse_shape_str(src, "shape.yaml") {
        Ok(s) => panic!("loaded but should not have: {s:?}\n{src}"),
        Err(e) => e
            .diagnostics()
            .iter()
            .map(|d| (d.line, d.column, d.message.clone()))
            .collect(),
    }
}

fn one(src: &str) -> (usize, usize, String) {
    let e = errs(src);
    assert_eq!(e.len(), 1, "{e:#?}");
    e[0].clone()
}

#[test]
fn unknown_time_zone_suggests_a_name() {
    let (line, col, msg) = one("timezone: Europe/Berln\nconstant: 5\n");
    assert_eq!((line, col), (1, 11));
    assert!(
        msg.starts_with("unknown time zone `Europe/Berln` (did you mean `Europe/Berlin`?)"),
        "{msg}"
    );
    let (_, _, msg) = one("timezone: America/NewYork\nconstant: 5\n");
    assert!(msg.contains("did you mean `America/New_York`?"), "{msg}");
    let (_, _, msg) = one("timezone: Mars/Olympus\nconstant: 5\n");
    assert!(msg.contains("IANA name"), "{msg}");
}

#[test]
fn diurnal_values_are_checked() {
    let (line, col, msg) = one("diurnal:\n  min_users: 10\n  max_users: 100\n  peak: \"25:00\"\n");
    assert_eq!((line, col), (4, 9));
    assert!(msg.contains("time of day from 00:00 to 23:59"), "{msg}");
    let (line, _, msg) = one("diurnal: { min_users: 200, max_users: 100, peak: 14 }\n");
    assert_eq!(line, 1);
    assert_eq!(msg, "`max_users` (100) is below `min_users` (200)");
    let (_, _, msg) =
        one("diurnal: { min_users: 1, max_users: 2, peak: [\"10:00\", \"10:30\"] }\n");
    assert!(msg.contains("at least an hour apart"), "{msg}");
    let (_, _, msg) = one("diurnal: { min_users: 1, max_users: 2, peak: 9, dip: 0.5 }\n");
    assert!(msg.contains("only applies with two peaks"), "{msg}");
    let (_, _, msg) = one(
        "diurnal: { min_users: 1, max_users: 2, peak: 9, weekdays: { sat: 0.5, sunday: 0 } }\n",
    );
    assert!(msg.contains("did you mean `sun`?"), "{msg}");
    let (_, _, msg) =
        one("diurnal: { min_users: 1, max_users: 2, peak: 9, holidays: [2026-13-01] }\n");
    assert!(msg.contains("is not a date"), "{msg}");
    let (_, _, msg) = one("diurnal: { min_user: 1, max_users: 2, peak: 9 }\n");
    assert!(msg.contains("did you mean `min_users`?"), "{msg}");
}

#[test]
fn users_and_rates_are_checked() {
    let (line, col, msg) = one("constant: -5\n");
    assert_eq!((line, col), (1, 11));
    assert_eq!(
        msg,
        "`constant` (a number of users) cannot be negative (found -5)"
    );
    let e = errs("stages:\n  - { duration: 1m, users: 5 }\n  - { duration: 0s, users: -1 }\n");
    assert_eq!(e.len(), 2, "{e:#?}");
    assert_eq!((e[0].0, e[0].1), (3, 17));
    assert!(e[0].2.contains("greater than zero"), "{e:#?}");
    assert_eq!((e[1].0, e[1].1), (3, 28));
    assert_eq!(e[1].2, "`users` cannot be negative (found -1)");
    let (_, _, msg) = one("constant: { users: 5, spawn_rate: 0 }\n");
    assert!(msg.contains("above 0"), "{msg}");
    let (_, _, msg) = one("open: { rate: -1, max_users: 5 }\n");
    assert!(msg.contains("from 0 to"), "{msg}");
    let (_, _, msg) = one("open: { rate: 1 }\n");
    assert!(msg.contains("needs `max_users`"), "{msg}");
    let (_, _, msg) = one("constant: 5\nbursts: { per_hour: 100, add: 5, duration: 1m }\n");
    assert!(msg.contains("at most 60"), "{msg}");
    let (_, _, msg) =
        one("constant: 5\nbursts: { per_hour: 1, add: 5, factor: 2, duration: 1m }\n");
    assert!(msg.contains("exactly one of `add`"), "{msg}");
}

#[test]
fn root_structure_is_checked() {
    let (_, _, msg) = one("constant: 5\ndiurnal: { min_users: 1, max_users: 2, peak: 9 }\n");
    assert!(msg.contains("exactly one of `constant`, `stages`"), "{msg}");
    let (line, _, msg) = one("constant: 5\nrepeat: true\n");
    assert_eq!(line, 2);
    assert!(msg.contains("only applies with `stages`"), "{msg}");
    let (line, col, msg) = one("constant: 5\nincidnets: []\n");
    assert_eq!((line, col), (2, 1));
    assert!(msg.contains("did you mean `incidents`?"), "{msg}");
    let (_, _, msg) = one("constant: 5\nfoo: [1, 2\n");
    assert!(msg.starts_with("invalid YAML"), "{msg}");
}

#[test]
fn incident_problems() {
    let base = "constant: 5\nincidents:\n  - name: x\n    duration: 5m\n    users_factor: 2\n";
    let (line, col, msg) = one(&format!("{base}    cron: \"61 * * * *\"\n"));
    assert_eq!((line, col), (6, 11));
    assert_eq!(msg, "minute field `61`: 61 is out of range 0-59");
    let (_, _, msg) = one(&format!("{base}    cron: \"0 0 31 2 *\"\n"));
    assert!(msg.contains("never matches"), "{msg}");
    let (_, _, msg) = one(&format!("{base}    cron: \"0 * * *\"\n"));
    assert!(msg.contains("5 fields"), "{msg}");
    let (_, _, msg) =
        one("constant: 5\nincidents:\n  - { name: x, cron: \"@daily\", duration: 1h }\n");
    assert!(msg.contains("changes nothing"), "{msg}");
    let (_, _, msg) = one(
        "constant: 5\nincidents:\n  - { name: x, cron: \"@daily\", duration: 8d, users_factor: 2 }\n",
    );
    assert!(msg.contains("at most 7 days"), "{msg}");
    let e = errs(
        "constant: 5\nincidents:\n  - { name: x, cron: \"@daily\", duration: 1h, users_factor: 2 }\n  - { name: x, cron: \"@daily\", duration: 1h, users_factor: 2 }\n",
    );
    assert!(e[0].2.contains("duplicate incident name"), "{e:#?}");
    let (_, _, msg) = one(
        "constant: 5\nincidents:\n  - { name: x, cron: \"@daily\", duration: 1h, extra_task: { name: b, path: nope } }\n",
    );
    assert!(msg.contains("must start with `/`"), "{msg}");
    let (_, _, msg) = one(
        "constant: 5\nincidents:\n  - { name: x, cron: \"@daily\", duration: 1h, extra_task: { name: b, path: /x, method: FETCH } }\n",
    );
    assert!(msg.contains("unknown method"), "{msg}");
}

const SCENARIO: &str = "
users:
  - name: Agent
    tasks:
      - { name: Create quote, request: { method: POST, path: /q } }
      - { name: List, request: { method: GET, path: /l } }
shape:
  timezone: Europe/Berlin
  constant: 5
  incidents:
    - name: storm
      cron: \"0 14 * * *\"
      duration: 10m
      weights: { Create quote: 5 }
";

#[test]
fn scenario_shape_section() {
    let s = load(SCENARIO);
    let Some(shape) = &s.shape else {
        panic!("no shape")
    };
    assert_eq!(shape.incidents[0].weights[0].task, "Create quote");
    assert!(
        load("users: [{ name: A, tasks: [{ request: { path: / } }] }]\n")
            .shape
            .is_none()
    );
    let e = errors(&SCENARIO.replace("Create quote: 5", "Create qoute: 5"));
    assert_eq!(e.len(), 1, "{e:#?}");
    assert_eq!((e[0].line, e[0].column), (14, 18));
    assert_eq!(
        e[0].message,
        "incident `storm`: no task is named `Create qoute` (did you mean `Create quote`?)"
    );
    let e = errors(&SCENARIO.replace("Europe/Berlin", "Europe/Berlni"));
    assert!(
        e[0].message.contains("did you mean `Europe/Berlin`?"),
        "{e:#?}"
    );
}

#[test]
fn separate_shape_file_is_checked_against_a_scenario() {
    let s = load(SCENARIO);
    let ok = shape(
        "constant: 5\nincidents:\n  - { name: a, cron: \"@daily\", duration: 1h, weights: { List: 2 }, extra_task: { name: b, path: /x, user_type: Agent } }\n",
    );
    assert!(ok.check_names(&s, "shape.yaml").is_ok());
    let bad = shape(
        "constant: 5\nincidents:\n  - { name: a, cron: \"@daily\", duration: 1h, weights: { Lsit: 2 }, extra_task: { name: b, path: /x, user_type: Agnet } }\n",
    );
    let e = match bad.check_names(&s, "shape.yaml") {
        Ok(()) => panic!("accepted"),
        Err(e) => e,
    };
    let text = e.to_string();
    assert!(text.contains("shape.yaml:3:"), "{text}");
    assert!(
        text.contains("no task is named `Lsit` (did you mean `List`?)"),
        "{text}"
    );
    assert!(
        text.contains("no user type is named `Agnet` (did you mean `Agent`?)"),
        "{text}"
    );
}

#[test]
fn shape_files_load_from_disk() {
    let dir = crate::tests::temp_dir();
    let path = dir.join("day.yaml");
    std::fs::write(&path, "timezone: UTC\nconstant: 3\n").unwrap_or_else(|e| panic!("{e}"));
    let s = crate::load_shape_file(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.timezone, chrono_tz::UTC);
    let missing = crate::load_shape_file(&dir.join("nope.yaml"));
    assert!(missing.is_err_and(|e| e.to_string().contains("cannot read shape")));
    let _ = std::fs::remove_dir_all(dir);
}
