//! Secret variables: values that must never appear in a log line, a failure message, a report
//! or the web UI.
//!
//! A scenario declares them in a `secrets:` section (name -> text), read in templates as
//! `vars.NAME` like any variable:
//!
//! ```yaml
//! secrets:
//!   password: password123
//! ```
//!
//! Beyond that section, the name rule of `cicada-redact` ([`cicada_redact::is_secret_name`])
//! makes a value secret by its name: a `vars` entry (`api_key`), an environment variable a
//! template reads (`env.DB_PASSWORD`), and a user variable set by `extract` or `set` (`token`,
//! `refresh_token`, `jwt`). This module collects the scenario-wide ones at load (pinned in
//! every user's [`Secrets`]); [`crate::UserState`] adds the per-user ones as they are set.

use cicada_redact::{Secrets, is_secret_name};
use minijinja::Value;
use minijinja::value::ValueKind;
use serde_json::{Map, Value as Json};

use crate::diagnostics::Diags;
use crate::yaml::{self, Kind, Node};

/// Deepest nesting looked into for secret values (a secret is usually one string).
const MAX_DEPTH: usize = 4;
/// Most values taken from one variable.
const MAX_LEAVES: usize = 16;

/// What the `vars` and `secrets` sections give: the `vars` value templates see (secrets
/// included), every name under `vars.`, the secrets to pin, and the names of secret variables.
pub(crate) struct Vars {
    pub value: Value,
    pub names: Vec<String>,
    pub secrets: Secrets,
    pub secret_names: Vec<String>,
}

/// Parses `vars:` and `secrets:` into one `vars` mapping, reporting a name in both and secrets
/// that are not text.
pub(crate) fn parse_vars(d: &mut Diags, vars: Option<&Node>, secrets: Option<&Node>) -> Vars {
    let mut map = Map::new();
    let mut names = Vec::new();
    let mut pinned = Secrets::new();
    let mut secret_names = Vec::new();
    if let Some(n) = vars {
        for (name, _, value) in yaml::entries(d, n, "`vars`") {
            let json = value.to_json();
            if is_secret_name(&name) {
                json_leaves(&json, 0, &mut |s| {
                    pinned.pin(s);
                });
                secret_names.push(name.clone());
            }
            names.push(name.clone());
            map.insert(name, json);
        }
    }
    if let Some(n) = secrets {
        for (name, key, value) in yaml::entries(d, n, "`secrets`") {
            if map.contains_key(&name) {
                d.error(
                    key.pos,
                    format!("`{name}` is in both `vars` and `secrets`: keep one"),
                );
                continue;
            }
            let text = match &value.kind {
                Kind::Null | Kind::Seq(_) | Kind::Map(_) => None,
                _ => value.scalar_text(),
            };
            let Some(text) = text else {
                d.error(
                    value.pos,
                    format!(
                        "expected the secret `{name}` to be a text (or a number), found {}",
                        value.describe()
                    ),
                );
                continue;
            };
            if text.chars().count() < cicada_redact::MIN_SECRET_CHARS {
                d.error(
                    value.pos,
                    format!(
                        "the secret `{name}` is shorter than {} characters: too short to be \
                         told apart from ordinary text, so it could not be redacted",
                        cicada_redact::MIN_SECRET_CHARS
                    ),
                );
                continue;
            }
            pinned.pin(&text);
            names.push(name.clone());
            secret_names.push(name.clone());
            map.insert(name, Json::String(text));
        }
    }
    Vars {
        value: crate::convert::json_to_value(&Json::Object(map)),
        names,
        secrets: pinned,
        secret_names,
    }
}

/// Pins the values of the captured environment variables whose names are secret.
pub(crate) fn pin_env(secrets: &mut Secrets, env_vars: &Value) {
    let Ok(keys) = env_vars.try_iter() else {
        return;
    };
    for key in keys {
        if let Some(name) = key.as_str()
            && is_secret_name(name)
            && let Ok(v) = env_vars.get_item(&key)
        {
            value_leaves(&v, 0, &mut |s| {
                secrets.pin(s);
            });
        }
    }
}

/// Calls `f` with each string or number inside a JSON value (bounded).
fn json_leaves(v: &Json, depth: usize, f: &mut dyn FnMut(&str)) {
    match v {
        Json::String(s) => f(s),
        Json::Number(n) => f(&n.to_string()),
        Json::Array(items) if depth < MAX_DEPTH => {
            for item in items.iter().take(MAX_LEAVES) {
                json_leaves(item, depth + 1, f);
            }
        }
        Json::Object(map) if depth < MAX_DEPTH => {
            for item in map.values().take(MAX_LEAVES) {
                json_leaves(item, depth + 1, f);
            }
        }
        _ => {}
    }
}

/// Calls `f` with each string or number inside a template value (bounded).
pub(crate) fn value_leaves(v: &Value, depth: usize, f: &mut dyn FnMut(&str)) {
    match v.kind() {
        ValueKind::String => {
            if let Some(s) = v.as_str() {
                f(s);
            }
        }
        ValueKind::Number => f(&v.to_string()),
        ValueKind::Seq | ValueKind::Map if depth < MAX_DEPTH => {
            let Ok(items) = v.try_iter() else {
                return;
            };
            for item in items.take(MAX_LEAVES) {
                // Sequences yield their items, maps their keys: look at the values.
                let item = if v.kind() == ValueKind::Map {
                    v.get_item(&item).unwrap_or_default()
                } else {
                    item
                };
                value_leaves(&item, depth + 1, f);
            }
        }
        _ => {}
    }
}
