//! Response verification: `expect:` (accepted statuses) and `checks:` (conditions on the
//! JSON body).
//!
//! Failure messages become stats rows, so they are built from the scenario text only
//! (the path as written, the status code) and never include response bodies or values.

use crate::StepFailure;
use crate::diagnostics::Diags;
use crate::extract::Selector;
use crate::json_template::JsonTemplate;
use crate::model::FailureKind;
use crate::state::UserState;
use crate::template::Compiler;
use crate::yaml::{self, Fields, Kind, Node};
use regex::Regex;
use serde_json::Value as Json;

/// Accepted statuses; empty means "any status below 400".
#[derive(Debug, Clone, Default)]
pub(crate) struct Expect {
    ranges: Vec<(u16, u16)>,
}

impl Expect {
    pub fn accepts(&self, status: u16) -> bool {
        if self.ranges.is_empty() {
            return status < 400;
        }
        self.ranges
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&status))
    }

    /// `expect: [200, 201, "2xx", "300-302"]` (a single value may drop the brackets).
    pub fn parse(d: &mut Diags, node: &Node) -> Option<Expect> {
        let items: Vec<&Node> = match &node.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![node],
        };
        let mut ranges = Vec::with_capacity(items.len());
        for item in items {
            match status_range(item) {
                Some(r) => ranges.push(r),
                None => d.error(
                    item.pos,
                    "expected a status code (100-599), a class like \"2xx\", or a range like \"200-299\"",
                ),
            }
        }
        if ranges.is_empty() {
            d.error(node.pos, "`expect` needs at least one status");
            return None;
        }
        Some(Expect { ranges })
    }
}

fn status_range(n: &Node) -> Option<(u16, u16)> {
    let code = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c))
    };
    let text = n.scalar_text()?;
    let t = text.trim();
    if let Some(class) = t.strip_suffix("xx").or_else(|| t.strip_suffix("XX")) {
        let digit = class.parse::<u16>().ok().filter(|c| (1..=5).contains(c))?;
        return Some((digit * 100, digit * 100 + 99));
    }
    if let Some((a, b)) = t.split_once('-') {
        let (a, b) = (code(a)?, code(b)?);
        return (a <= b).then_some((a, b));
    }
    code(t).map(|c| (c, c))
}

#[derive(Debug)]
enum Cond {
    Exists(bool),
    Equals(JsonTemplate),
    Matches(Regex),
}

/// One entry of `checks:`.
#[derive(Debug)]
pub(crate) struct Check {
    selector: Selector,
    cond: Cond,
    /// The complete failure message, e.g. "check failed: $.data.id exists".
    message: String,
}

impl Check {
    /// `{ jsonpath | pointer: ..., exists: bool | equals: value | matches: regex }`
    /// (no condition = `exists: true`).
    pub fn parse(c: &mut Compiler, d: &mut Diags, node: &Node) -> Option<Check> {
        const KEYS: &[&str] = &["jsonpath", "pointer", "exists", "equals", "matches"];
        let f = Fields::new(d, node, "a check", KEYS)?;
        if !f.exactly_one(
            d,
            &["jsonpath", "pointer"],
            "a check needs exactly one of `jsonpath` or `pointer`",
        ) {
            return None;
        }
        let (selector, shown) = match (f.get("jsonpath"), f.get("pointer")) {
            (Some(n), None) => {
                let s = yaml::string(d, n, "a JSONPath")?;
                (Selector::path(d, &s, n.pos)?, s)
            }
            (None, Some(n)) => {
                let s = yaml::string(d, n, "a JSON Pointer")?;
                (Selector::pointer(d, &s, n.pos)?, s)
            }
            _ => return None,
        };
        let conds = ["exists", "equals", "matches"]
            .into_iter()
            .filter(|k| f.get(k).is_some())
            .count();
        if conds > 1 {
            d.error(
                node.pos,
                "a check takes at most one of `exists`, `equals`, `matches`",
            );
            return None;
        }
        let (cond, what) = if let Some(n) = f.get("equals") {
            (
                Cond::Equals(JsonTemplate::compile(c, d, n)?),
                format!("{shown} equals the expected value"),
            )
        } else if let Some(n) = f.get("matches") {
            let src = yaml::string(d, n, "a regular expression")?;
            match regex::RegexBuilder::new(&src).size_limit(1 << 20).build() {
                Ok(re) => (Cond::Matches(re), format!("{shown} matches /{src}/")),
                Err(e) => {
                    let why = e.to_string();
                    let last = why.lines().last().unwrap_or("invalid").trim();
                    let last = last.strip_prefix("error: ").unwrap_or(last).to_owned();
                    d.error(n.pos, format!("invalid regular expression: {last}"));
                    return None;
                }
            }
        } else if let Some(n) = f.get("exists") {
            let want = yaml::boolean(d, n, "`exists`")?;
            let what = if want {
                format!("{shown} exists")
            } else {
                format!("{shown} does not exist")
            };
            (Cond::Exists(want), what)
        } else {
            (Cond::Exists(true), format!("{shown} exists"))
        };
        Some(Check {
            selector,
            cond,
            message: format!("check failed: {what}"),
        })
    }

    /// Evaluates against the parsed body (`None` when the body is not JSON).
    pub fn evaluate(&self, json: Option<&Json>, state: &UserState) -> Result<(), StepFailure> {
        let fail = |message: String| {
            Err(StepFailure {
                kind: FailureKind::Check,
                message,
            })
        };
        let Some(json) = json else {
            return fail("check failed: response is not JSON".to_owned());
        };
        // Conditions test the first match: a path that matches several nodes is checked at
        // the first one, which is what `$.data.id`-style paths mean.
        let found = self.selector.first(json);
        let ok = match &self.cond {
            Cond::Exists(want) => found.is_some() == *want,
            Cond::Matches(re) => match found {
                Some(Json::String(s)) => re.is_match(s),
                Some(other) => re.is_match(&other.to_string()),
                None => false,
            },
            Cond::Equals(expected) => {
                let expected = match expected.render_json(state) {
                    Ok(v) => v,
                    Err(e) => {
                        return Err(StepFailure {
                            kind: FailureKind::Render,
                            message: format!(
                                "render check value: {}",
                                crate::template::error_kind(&e)
                            ),
                        });
                    }
                };
                found.is_some_and(|v| json_eq(v, &expected))
            }
        };
        if ok {
            Ok(())
        } else {
            fail(self.message.clone())
        }
    }
}

/// JSON equality where numbers compare by value (`1` equals `1.0`): APIs often send
/// integers as floats, and YAML writes `7` where the body says `7.0`. Strings and numbers
/// stay different on purpose (`"7"` is not `7`): an API changing a type is worth a failure.
fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => {
            x == y || x.as_f64().zip(y.as_f64()).is_some_and(|(x, y)| x == y)
        }
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_eq(x, y))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect(src: &str) -> (Option<Expect>, usize) {
        let node = crate::yaml::parse(src).unwrap_or_else(|e| panic!("{e:?}"));
        let mut d = Diags::new("f");
        let e = Expect::parse(&mut d, &node);
        let n = d.into_error("").diagnostics().len();
        (e, n)
    }

    #[test]
    fn expect_forms() {
        let e = expect("[200, \"3xx\", \"404-405\"]").0.unwrap_or_default();
        assert!(e.accepts(200) && e.accepts(302) && e.accepts(405));
        assert!(!e.accepts(201) && !e.accepts(404 - 1) && !e.accepts(500));
        let one = expect("201").0.unwrap_or_default();
        assert!(one.accepts(201) && !one.accepts(200));
        let default = Expect::default();
        assert!(default.accepts(399) && !default.accepts(400));
        assert_eq!(expect("[200, 7xx, 99, \"300-200\", abc]").1, 4);
    }

    #[test]
    fn numbers_compare_by_value() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(&json!({"a": [1, "x"]}), &json!({"a": [1.0, "x"]})));
        assert!(!json_eq(&json!("1"), &json!(1)));
    }
}
