//! `extract:` — copying values from a response into user variables — and the JSON
//! selectors (JSONPath, JSON Pointer) that `extract` and `checks` share.
//!
//! Selectors are parsed once at load. A `list: true` variable appends and is bounded
//! (`max`, default 100, oldest dropped) so a user that runs for weeks cannot grow it.

use crate::StepFailure;
use crate::convert::json_to_value;
use crate::diagnostics::{Diags, Pos};
use crate::model::FailureKind;
use crate::state::UserState;
use crate::template::{RESERVED, is_identifier};
use crate::yaml::{self, Fields, Kind, Node};
use http::HeaderName;
use serde_json::Value as Json;
use serde_json_path::JsonPath;

/// Default and largest `max` of a list variable.
const DEFAULT_LIST_MAX: usize = 100;
const LIMIT_LIST_MAX: usize = 10_000;
/// Longest JSONPath accepted, and deepest bracket nesting (the parser is recursive).
const MAX_PATH_LEN: usize = 1024;
const MAX_PATH_NESTING: usize = 32;

/// Where in a JSON document a value is.
#[derive(Debug)]
pub(crate) enum Selector {
    Path(JsonPath),
    Pointer(String),
}

impl Selector {
    /// Parses a JSONPath (RFC 9535), reporting problems at `pos`.
    pub fn path(d: &mut Diags, src: &str, pos: Pos) -> Option<Selector> {
        let depth = src.chars().filter(|c| matches!(c, '(' | '[')).count();
        if src.len() > MAX_PATH_LEN || depth > MAX_PATH_NESTING {
            d.error(pos, "JSONPath is too long or too deeply nested");
            return None;
        }
        match JsonPath::parse(src) {
            Ok(p) => Some(Selector::Path(p)),
            Err(e) => {
                d.error(
                    pos,
                    format!(
                        "invalid JSONPath `{src}` at character {}: {}",
                        e.position(),
                        e.message()
                    ),
                );
                None
            }
        }
    }

    /// Checks a JSON Pointer (RFC 6901): empty or starting with `/`.
    pub fn pointer(d: &mut Diags, src: &str, pos: Pos) -> Option<Selector> {
        if !(src.is_empty() || src.starts_with('/')) {
            d.error(
                pos,
                format!("invalid JSON Pointer `{src}`: it must be empty or start with `/`"),
            );
            return None;
        }
        Some(Selector::Pointer(src.to_owned()))
    }

    /// Every selected node, in document order.
    pub fn select<'a>(&self, v: &'a Json) -> Vec<&'a Json> {
        match self {
            Selector::Path(p) => p.query(v).all(),
            Selector::Pointer(p) => v.pointer(p).into_iter().collect(),
        }
    }

    pub fn first<'a>(&self, v: &'a Json) -> Option<&'a Json> {
        match self {
            Selector::Path(p) => p.query(v).first(),
            Selector::Pointer(p) => v.pointer(p),
        }
    }
}

/// Where an extracted value comes from.
#[derive(Debug)]
enum Source {
    Json(Selector),
    Header(HeaderName),
}

/// One `extract:` entry.
#[derive(Debug)]
pub(crate) struct Extract {
    var: String,
    source: Source,
    /// `Some(max)` for list variables.
    list: Option<usize>,
    optional: bool,
    /// Failure message prefix, "extract token". Bounded: from the file.
    label: String,
    /// The selector as written ("$.data.token", "header X-Id").
    shown: String,
}

impl Extract {
    pub fn needs_json(&self) -> bool {
        matches!(self.source, Source::Json(_))
    }

    /// Applies the extraction; a missing value fails the step unless `optional`.
    /// A list variable takes every match (so `$.data[*].id` remembers a whole page);
    /// a plain variable takes the first.
    pub fn apply(
        &self,
        headers: &http::HeaderMap,
        json: Option<&Json>,
        state: &mut UserState,
    ) -> Result<(), StepFailure> {
        let values: Vec<minijinja::Value> = match &self.source {
            Source::Json(sel) => {
                let Some(json) = json else {
                    return Err(StepFailure {
                        kind: FailureKind::Extract,
                        message: format!("{}: response is not JSON", self.label),
                    });
                };
                if self.list.is_some() {
                    sel.select(json).into_iter().map(json_to_value).collect()
                } else {
                    sel.first(json).map(json_to_value).into_iter().collect()
                }
            }
            Source::Header(name) => {
                let all = headers.get_all(name).iter().map(|v| {
                    minijinja::Value::from(String::from_utf8_lossy(v.as_bytes()).as_ref())
                });
                if self.list.is_some() {
                    all.collect()
                } else {
                    all.take(1).collect()
                }
            }
        };
        if values.is_empty() {
            return if self.optional {
                Ok(())
            } else {
                Err(StepFailure {
                    kind: FailureKind::Extract,
                    message: format!("{}: {} not found", self.label, self.shown),
                })
            };
        }
        match self.list {
            Some(max) => state.push_values(&self.var, values, max),
            None => {
                if let Some(v) = values.into_iter().next() {
                    state.set_plain(&self.var, v);
                }
            }
        }
        Ok(())
    }
}

/// Checks a variable name given to `extract` or `set`.
pub(crate) fn check_var_name(d: &mut Diags, name: &str, pos: Pos) -> bool {
    if !is_identifier(name) {
        d.error(pos, format!("variable name `{name}` must be an identifier (letters, digits, `_`, not starting with a digit)"));
        return false;
    }
    if RESERVED.contains(&name)
        || crate::functions::FUNCTIONS.contains(&name)
        || name.starts_with("__cicada")
    {
        d.error(
            pos,
            format!(
                "`{name}` is a reserved name (a function or one of `vars`, `env`, `data`, `user`)"
            ),
        );
        return false;
    }
    true
}

/// Parses an `extract:` mapping: `var: "$.path"` or `var: { jsonpath | pointer | header,
/// list, max, optional }`. Adds each variable name to `declared`.
pub(crate) fn parse_extracts(
    d: &mut Diags,
    node: &Node,
    declared: &mut std::collections::HashSet<String>,
) -> Vec<Extract> {
    let mut out = Vec::new();
    for (var, key, spec) in yaml::entries(d, node, "`extract`") {
        if !check_var_name(d, &var, key.pos) {
            continue;
        }
        declared.insert(var.clone());
        if let Some(e) = parse_one(d, var, spec) {
            out.push(e);
        }
    }
    out
}

fn parse_one(d: &mut Diags, var: String, spec: &Node) -> Option<Extract> {
    if let Kind::Str(path) = &spec.kind {
        let selector = Selector::path(d, path, spec.pos)?;
        let label = format!("extract {var}");
        let shown = path.clone();
        return Some(Extract {
            var,
            source: Source::Json(selector),
            list: None,
            optional: false,
            label,
            shown,
        });
    }
    const KEYS: &[&str] = &["jsonpath", "pointer", "header", "list", "max", "optional"];
    let f = Fields::new(d, spec, "an extract (a JSONPath string or a mapping)", KEYS)?;
    let message = format!("extract `{var}` needs exactly one of `jsonpath`, `pointer`, `header`");
    if !f.exactly_one(d, &["jsonpath", "pointer", "header"], &message) {
        return None;
    }
    let list = match f.get("list") {
        Some(n) => yaml::boolean(d, n, "`list`")?,
        None => false,
    };
    let max = match f.get("max") {
        Some(n) => {
            if !list {
                d.error(n.pos, "`max` only applies with `list: true`");
            }
            let m = yaml::u32_value(d, n, "`max`")?;
            let m = usize::try_from(m).unwrap_or(LIMIT_LIST_MAX);
            if m == 0 || m > LIMIT_LIST_MAX {
                d.error(
                    n.pos,
                    format!("`max` must be between 1 and {LIMIT_LIST_MAX}"),
                );
                return None;
            }
            m
        }
        None => DEFAULT_LIST_MAX,
    };
    let optional = match f.get("optional") {
        Some(n) => yaml::boolean(d, n, "`optional`")?,
        None => false,
    };
    let (source, shown) = if let Some(n) = f.get("jsonpath") {
        let s = yaml::string(d, n, "a JSONPath")?;
        (Source::Json(Selector::path(d, &s, n.pos)?), s)
    } else if let Some(n) = f.get("pointer") {
        let s = yaml::string(d, n, "a JSON Pointer")?;
        (Source::Json(Selector::pointer(d, &s, n.pos)?), s)
    } else {
        let n = f.get("header")?;
        let s = yaml::string(d, n, "a header name")?;
        let Ok(name) = HeaderName::from_bytes(s.trim().as_bytes()) else {
            d.error(n.pos, format!("invalid header name `{s}`"));
            return None;
        };
        (Source::Header(name), format!("header {s}"))
    };
    let label = format!("extract {var}");
    Some(Extract {
        var,
        source,
        list: list.then_some(max),
        optional,
        label,
        shown,
    })
}
