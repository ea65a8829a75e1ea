use std::ffi::OsString;
use std::path::Path;

use clap::Parser;

use super::*;
use crate::cli::{Cli, Command, RunArgs};

fn no_env(_: &str) -> Option<String> {
    None
}

fn argv(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

fn with_file(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(DEFAULT_FILE), text).expect("write");
    dir
}

fn run_args(words: &[&str], dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> RunArgs {
    let applied = apply(argv(words), env, dir).expect("file applies");
    match Cli::try_parse_from(&applied.argv).expect("parses").command {
        Command::Run(args) => *args,
        other => panic!("not run: {other:?}"),
    }
}

fn error(words: &[&str], dir: &Path) -> String {
    match apply(argv(words), &no_env, dir) {
        Ok(applied) => match Cli::try_parse_from(&applied.argv) {
            Ok(_) => panic!("expected an error"),
            Err(e) => applied
                .explain(&e)
                .map_or_else(|| format!("clap: {e}"), |e| e.to_string()),
        },
        Err(e) => e.to_string(),
    }
}

#[test]
fn without_a_file_argv_is_unchanged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let words = ["cicada", "run", "--scenario", "x", "-u", "3"];
    let applied = apply(argv(&words), &no_env, dir.path()).expect("applies");
    assert_eq!(applied.argv, argv(&words));
}

#[test]
fn file_values_fill_what_flags_leave_unset() {
    let dir = with_file(
        "# shared by every subcommand that has the flag\n\
         host = \"http://127.0.0.1:3000\"\n\
         users = 5\n\
         master-bind = \"0.0.0.0:5557\"   # only master has it: ignored by run\n\
         [run]\n\
         spawn_rate = 2.5\n\
         headless = true\n\
         tags = [\"read\", \"write\"]\n\
         users = 9\n",
    );
    let args = run_args(&["cicada", "run", "--scenario", "x"], dir.path(), &no_env);
    assert_eq!(args.host.as_deref(), Some("http://127.0.0.1:3000"));
    assert_eq!(args.users, Some(9), "[run] wins over the top level");
    assert_eq!(args.spawn_rate, Some(2.5));
    assert!(args.headless);
    assert_eq!(args.tags, ["read", "write"]);
}

#[test]
fn flags_and_locust_variables_win_over_the_file() {
    let dir = with_file("users = 5\nhost = \"http://127.0.0.1:1\"\nheadless = false\n");
    let args = run_args(
        &["cicada", "run", "--scenario", "x", "-u", "7"],
        dir.path(),
        &no_env,
    );
    assert_eq!(args.users, Some(7));
    assert!(!args.headless);
    let locust = |name: &str| (name == "LOCUST_HOST").then(|| "http://127.0.0.1:2".to_string());
    let args = run_args(&["cicada", "run", "--scenario", "x"], dir.path(), &locust);
    assert_eq!(
        args.host, None,
        "LOCUST_HOST decides; config resolves it later"
    );
    assert_eq!(args.users, Some(5));
}

#[test]
fn config_flag_and_variable_name_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("other.toml"), "users = 4\n").expect("write");
    let args = run_args(
        &["cicada", "run", "--config", "other.toml", "--scenario", "x"],
        dir.path(),
        &no_env,
    );
    assert_eq!(args.users, Some(4));
    let env = |name: &str| (name == "CICADA_CONFIG").then(|| "other.toml".to_string());
    let args = run_args(&["cicada", "run", "--scenario", "x"], dir.path(), &env);
    assert_eq!(args.users, Some(4));
    let missing = error(
        &["cicada", "run", "--config=nope.toml", "--scenario", "x"],
        dir.path(),
    );
    assert!(missing.starts_with("config file "), "{missing}");
    assert!(missing.contains("nope.toml"), "{missing}");
}

#[test]
fn unknown_keys_and_sections_name_the_place() {
    let dir = with_file("users = 5\n[run]\n  userz = 3\n");
    let e = error(&["cicada", "run", "--scenario", "x"], dir.path());
    assert!(
        e.ends_with(
            "cicada.toml:3:3: `userz` is not a flag of `cicada run` (did you mean `users`?)"
        ),
        "{e}"
    );

    let dir = with_file("[rnu]\nusers = 5\n");
    let e = error(&["cicada", "run", "--scenario", "x"], dir.path());
    assert!(
        e.contains("cicada.toml:1:2: unknown section `[rnu]` (did you mean `run`?)"),
        "{e}"
    );

    let dir = with_file("no-such-flag = 1\n");
    let e = error(&["cicada", "run", "--scenario", "x"], dir.path());
    assert!(
        e.contains(":1:1: `no-such-flag` is not a flag of any subcommand"),
        "{e}"
    );

    let dir = with_file("config = \"x.toml\"\n");
    let e = error(&["cicada", "run", "--scenario", "x"], dir.path());
    assert!(e.contains("cannot be set in the config file"), "{e}");
}

#[test]
fn bad_values_and_syntax_name_the_line() {
    let dir = with_file("host = \"http://127.0.0.1:1\"\nusers = \"many\"\n");
    let e = error(&["cicada", "run", "--scenario", "x"], dir.path());
    assert!(
        e.contains("cicada.toml:2:1: invalid value 'many' for '--users"),
        "{e}"
    );

    let dir = with_file("[run]\nheadless = \"yes\"\n");
    let e = error(&["cicada", "run", "--scenario", "x"], dir.path());
    assert!(
        e.contains(":2:1: `headless` is a switch: write true or false"),
        "{e}"
    );

    let dir = with_file("users = [1, 2]\n");
    let e = error(&["cicada", "run", "--scenario", "x"], dir.path());
    assert!(
        e.contains(":1:1: `users` takes one value, not a list"),
        "{e}"
    );

    let dir = with_file("users = 5\nhost = \n");
    let e = error(&["cicada", "run", "--scenario", "x"], dir.path());
    assert!(e.contains("cicada.toml:2:"), "{e}");
}

#[test]
fn help_and_bad_command_lines_are_left_to_clap() {
    let dir = with_file("users = 5\n");
    for words in [&["cicada", "--help"][..], &["cicada"]] {
        let applied = apply(argv(words), &no_env, dir.path()).expect("applies");
        assert_eq!(applied.argv, argv(words));
    }
    // A mistake on the command line stays clap's, even when the file adds flags.
    let e = error(&["cicada", "run", "--no-such-flag"], dir.path());
    assert!(
        e.starts_with("clap: ") && e.contains("--no-such-flag"),
        "{e}"
    );
}

#[test]
fn file_flags_go_before_a_double_dash() {
    let out = insert_flags(argv(&["cicada", "run", "--", "x"]), argv(&["--users=1"]));
    assert_eq!(out, argv(&["cicada", "run", "--users=1", "--", "x"]));
}
