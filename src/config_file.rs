//! The config file (`cicada.toml`): flag values kept in a file, below the command line and the
//! environment.
//!
//! Precedence is flag > `CICADA_*` (and `LOCUST_*` alias) environment > file > default. clap
//! already does flag > environment > default, so the file is applied as a pre-pass over `argv`:
//! parse once (errors ignored) to learn the subcommand and which arguments the command line or
//! the environment already set, then append `--flag=value` for every file entry whose flag is
//! still unset, and let clap parse the result for real. That way the file accepts exactly the
//! flags the command accepts, with the same value parsers and the same `--help`, and nothing
//! here duplicates a flag's definition.
//!
//! The file is `--config FILE` (or `CICADA_CONFIG`), else `./cicada.toml` when it exists. Keys
//! are flag names (`spawn-rate` or `spawn_rate`). Top-level keys apply to every subcommand that
//! has the flag (a key that no subcommand has is an error); a `[run]`, `[master]`, `[worker]`,
//! `[demo]`, `[target]` or `[validate]` table applies to that subcommand only, and wins over the
//! top level. Errors name the file, line and column.

use std::ffi::OsString;
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, CommandFactory};
use toml_edit::{Item, Table, Value};

use crate::cli::Cli;

/// The file read when neither `--config` nor `CICADA_CONFIG` names one.
pub const DEFAULT_FILE: &str = "cicada.toml";

/// `LOCUST_*` variables that stand for a flag (see [`crate::config`]); when one is set, the
/// environment already decided that flag and the file must not override it.
const LOCUST_ALIASES: &[(&str, &[&str])] = &[
    ("host", &["LOCUST_HOST", "TARGET_HOST"]),
    ("users", &["LOCUST_USERS"]),
    ("spawn-rate", &["LOCUST_SPAWN_RATE"]),
    ("run-time", &["LOCUST_RUN_TIME"]),
    ("headless", &["LOCUST_HEADLESS"]),
    ("autostart", &["LOCUST_AUTOSTART"]),
    ("master-host", &["LOCUST_MASTER_NODE_HOST"]),
];

/// Why the config file cannot be used (nothing has started).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigFileError {
    /// The file named by `--config`/`CICADA_CONFIG` cannot be read.
    #[error("config file {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// A problem at a place in the file.
    #[error("{path}:{line}:{column}: {message}")]
    At {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
}

/// Where one appended flag came from, to point clap's complaint about its value at the file.
struct Origin {
    long: String,
    line: usize,
    column: usize,
}

/// `argv` with the file's values added, and where they came from.
pub struct Applied {
    /// The arguments to parse.
    pub argv: Vec<OsString>,
    path: String,
    origins: Vec<Origin>,
}

impl Applied {
    /// clap's complaint about a value the file supplied, restated at the file's line (`None`
    /// when the error is about something else).
    pub fn explain(&self, error: &clap::Error) -> Option<ConfigFileError> {
        let clap::error::ContextValue::String(arg) =
            error.get(clap::error::ContextKind::InvalidArg)?
        else {
            return None;
        };
        let origin = self.origins.iter().find(|o| {
            arg.strip_prefix("--")
                .is_some_and(|a| a.split([' ', '=']).next() == Some(o.long.as_str()))
        })?;
        let rendered = error.to_string();
        let first = rendered.lines().next().unwrap_or_default();
        Some(ConfigFileError::At {
            path: self.path.clone(),
            line: origin.line,
            column: origin.column,
            message: first.trim_start_matches("error: ").to_string(),
        })
    }
}

/// Adds the config file's values to `argv` (see the module docs). `env` reads the
/// environment; `cwd` is where `cicada.toml` is looked for.
pub fn apply(
    argv: Vec<OsString>,
    env: &dyn Fn(&str) -> Option<String>,
    cwd: &Path,
) -> Result<Applied, ConfigFileError> {
    let unchanged = |argv| Applied {
        argv,
        path: String::new(),
        origins: Vec::new(),
    };
    let Some(path) = locate(&argv, env, cwd) else {
        return Ok(unchanged(argv));
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| ConfigFileError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let file = FileEntries::parse(&shown, &text)?;

    let command = Cli::command();
    // Help, version and malformed command lines are clap's to report, in the real parse.
    let Ok(matches) = command
        .clone()
        .ignore_errors(true)
        .try_get_matches_from(&argv)
    else {
        return Ok(unchanged(argv));
    };
    let Some((name, sub_matches)) = matches.subcommand() else {
        return Ok(unchanged(argv));
    };
    let Some(sub) = command.find_subcommand(name) else {
        return Ok(unchanged(argv));
    };
    file.check_names(&command)?;

    let mut extra = Vec::new();
    let mut origins = Vec::new();
    for entry in file.for_subcommand(name) {
        let Some(arg) = find_arg(sub, &entry.key) else {
            // Top-level keys of other subcommands were checked by `check_names`.
            continue;
        };
        let long = arg.get_long().unwrap_or_default().to_string();
        let id = arg.get_id().as_str();
        let decided = matches!(
            sub_matches.value_source(id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) || LOCUST_ALIASES
            .iter()
            .any(|(flag, vars)| *flag == long && vars.iter().any(|v| env(v).is_some()));
        if decided {
            continue;
        }
        let (line, column) = line_column(&text, entry.span.start);
        let at = |message: String| ConfigFileError::At {
            path: shown.clone(),
            line,
            column,
            message,
        };
        for value in render(arg, &long, &entry.value).map_err(&at)? {
            extra.push(OsString::from(value));
        }
        origins.push(Origin { long, line, column });
    }
    Ok(Applied {
        argv: insert_flags(argv, extra),
        path: shown,
        origins,
    })
}

/// `--config FILE` / `--config=FILE`, else `CICADA_CONFIG`, else `./cicada.toml` if present.
fn locate(argv: &[OsString], env: &dyn Fn(&str) -> Option<String>, cwd: &Path) -> Option<PathBuf> {
    let mut args = argv.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(arg) = args.next() {
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return args.next().map(|p| cwd.join(p.as_ref()));
        }
        if let Some(p) = arg.strip_prefix("--config=") {
            return Some(cwd.join(p));
        }
    }
    if let Some(p) = env("CICADA_CONFIG").filter(|p| !p.is_empty()) {
        return Some(cwd.join(p));
    }
    let default = cwd.join(DEFAULT_FILE);
    default.is_file().then_some(default)
}

/// One `key = value` of the file.
struct Entry {
    section: Option<String>,
    key: String,
    value: FileValue,
    span: Range<usize>,
}

/// A value as flags take it.
enum FileValue {
    Text(String),
    Bool(bool),
    List(Vec<String>),
}

/// Every entry of the file, top level and sections.
struct FileEntries {
    path: String,
    text: String,
    entries: Vec<Entry>,
    sections: Vec<(String, Range<usize>)>,
}

impl FileEntries {
    fn parse(path: &str, text: &str) -> Result<FileEntries, ConfigFileError> {
        let at = |offset: usize, message: String| {
            let (line, column) = line_column(text, offset);
            ConfigFileError::At {
                path: path.to_string(),
                line,
                column,
                message,
            }
        };
        let doc = toml_edit::Document::parse(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            at(offset, e.message().trim().to_string())
        })?;
        let mut file = FileEntries {
            path: path.to_string(),
            text: text.to_string(),
            entries: Vec::new(),
            sections: Vec::new(),
        };
        let root = doc.as_table();
        for (key, item) in root.iter() {
            let span = key_span(root, key);
            match item {
                Item::Table(table) => {
                    file.sections.push((key.to_string(), span));
                    for (inner, item) in table.iter() {
                        let span = key_span(table, inner);
                        let value = file_value(item).map_err(|m| at(span.start, m))?;
                        file.entries.push(Entry {
                            section: Some(key.to_string()),
                            key: inner.to_string(),
                            value,
                            span,
                        });
                    }
                }
                _ => {
                    let value = file_value(item).map_err(|m| at(span.start, m))?;
                    file.entries.push(Entry {
                        section: None,
                        key: key.to_string(),
                        value,
                        span,
                    });
                }
            }
        }
        Ok(file)
    }

    /// Every section is a subcommand; every key is a flag of its section's subcommand (or, at
    /// the top level, of at least one subcommand).
    fn check_names(&self, command: &clap::Command) -> Result<(), ConfigFileError> {
        let subcommands: Vec<&str> = command.get_subcommands().map(|s| s.get_name()).collect();
        let at = |span: &Range<usize>, message: String| {
            let (line, column) = line_column(&self.text, span.start);
            ConfigFileError::At {
                path: self.path.clone(),
                line,
                column,
                message,
            }
        };
        for (name, span) in &self.sections {
            if !subcommands.contains(&name.as_str()) {
                let hint = cicada_scenario::did_you_mean(name, subcommands.iter().copied());
                return Err(at(
                    span,
                    format!(
                        "unknown section `[{name}]`{hint}; sections are subcommands: {}",
                        subcommands.join(", ")
                    ),
                ));
            }
        }
        for entry in &self.entries {
            if matches!(entry.key.as_str(), "config") {
                return Err(at(
                    &entry.span,
                    "`config` cannot be set in the config file itself".to_string(),
                ));
            }
            let scope: Vec<&clap::Command> = match &entry.section {
                Some(s) => command.find_subcommand(s).into_iter().collect(),
                None => command.get_subcommands().collect(),
            };
            if scope.iter().any(|c| find_arg(c, &entry.key).is_some()) {
                continue;
            }
            let known: Vec<&str> = scope
                .iter()
                .flat_map(|c| c.get_arguments())
                .filter_map(clap::Arg::get_long)
                .filter(|l| !matches!(*l, "help" | "version" | "config"))
                .collect();
            let hint = cicada_scenario::did_you_mean(&entry.key.replace('_', "-"), known);
            let place = entry
                .section
                .as_ref()
                .map_or_else(|| "any subcommand".to_string(), |s| format!("`cicada {s}`"));
            return Err(at(
                &entry.span,
                format!("`{}` is not a flag of {place}{hint}", entry.key),
            ));
        }
        Ok(())
    }

    /// The entries for a subcommand: its section's, then the top level's it does not override.
    fn for_subcommand(&self, name: &str) -> Vec<&Entry> {
        let normal = |k: &str| k.replace('_', "-");
        let section: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| e.section.as_deref() == Some(name))
            .collect();
        let top = self.entries.iter().filter(|e| {
            e.section.is_none() && !section.iter().any(|s| normal(&s.key) == normal(&e.key))
        });
        section.iter().copied().chain(top).collect()
    }
}

fn key_span(table: &Table, key: &str) -> Range<usize> {
    table.key(key).and_then(|k| k.span()).unwrap_or(0..0)
}

fn file_value(item: &Item) -> Result<FileValue, String> {
    let scalar = |v: &Value| -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.value().clone()),
            Value::Integer(i) => Ok(i.value().to_string()),
            Value::Float(f) => Ok(f.value().to_string()),
            Value::Boolean(b) => Ok(b.value().to_string()),
            Value::Datetime(_) => Err("dates are not flag values; write a string".to_string()),
            Value::Array(_) | Value::InlineTable(_) => {
                Err("expected a string, number or boolean".to_string())
            }
        }
    };
    match item {
        Item::Value(Value::Boolean(b)) => Ok(FileValue::Bool(*b.value())),
        Item::Value(Value::Array(items)) => items
            .iter()
            .map(scalar)
            .collect::<Result<_, _>>()
            .map(FileValue::List),
        Item::Value(v) => scalar(v).map(FileValue::Text),
        Item::None | Item::Table(_) | Item::ArrayOfTables(_) => {
            Err("expected a string, number, boolean or list".to_string())
        }
    }
}

/// The subcommand's argument with this long name (or visible alias); `_` may stand for `-`.
fn find_arg<'a>(command: &'a clap::Command, key: &str) -> Option<&'a clap::Arg> {
    let key = key.replace('_', "-");
    command.get_arguments().find(|a| {
        a.get_long_and_visible_aliases()
            .is_some_and(|names| names.contains(&key.as_str()))
            && !matches!(key.as_str(), "help" | "version" | "config")
    })
}

/// The command-line words that give `arg` this value.
fn render(arg: &clap::Arg, long: &str, value: &FileValue) -> Result<Vec<String>, String> {
    let flag = |v: &str| format!("--{long}={v}");
    match (arg.get_action(), value) {
        (ArgAction::SetTrue, FileValue::Bool(true)) => Ok(vec![format!("--{long}")]),
        (ArgAction::SetTrue, FileValue::Bool(false)) => Ok(Vec::new()),
        (ArgAction::SetTrue, _) => Err(format!("`{long}` is a switch: write true or false")),
        (ArgAction::Append, FileValue::List(items)) => Ok(items.iter().map(|v| flag(v)).collect()),
        (_, FileValue::List(items)) => match arg.get_value_delimiter() {
            Some(d) => Ok(vec![flag(&items.join(&d.to_string()))]),
            None => Err(format!("`{long}` takes one value, not a list")),
        },
        (_, FileValue::Bool(b)) => Ok(vec![flag(&b.to_string())]),
        (_, FileValue::Text(t)) => Ok(vec![flag(t)]),
    }
}

/// Puts the file's flags before a `--` (if any), else at the end.
fn insert_flags(mut argv: Vec<OsString>, extra: Vec<OsString>) -> Vec<OsString> {
    let at = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    argv.splice(at..at, extra);
    argv
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
#[path = "config_file_tests.rs"]
mod tests;
