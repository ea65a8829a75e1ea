//! A YAML tree in which every node knows its line and column.
//!
//! serde-saphyr parses the text (with its budgets against alias bombs and deep nesting);
//! we deserialize into our own [`Node`] through `Spanned` so that every later check,
//! not only YAML syntax errors, can point at the exact place in the file. Converting the
//! tree into the scenario model by hand (instead of `#[derive(Deserialize)]` on the model)
//! lets us report *all* problems at once, with "did you mean" hints for unknown keys.

use crate::diagnostics::{Diags, Pos, did_you_mean};
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{MessageFormatter, Spanned, UserMessageFormatter};
use std::fmt;

/// A YAML node with its position.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub pos: Pos,
    pub kind: Kind,
}

/// The value of a [`Node`]. Mapping keys are nodes too, so unknown keys can be located.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// "a string", "a mapping", ... for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match self.kind {
            Kind::Null => "nothing (null)",
            Kind::Bool(_) => "a boolean",
            Kind::Int(_) | Kind::UInt(_) => "an integer",
            Kind::Float(_) => "a number",
            Kind::Str(_) => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar (strings as-is, numbers and booleans printed), for keys
    /// and for places where YAML's typing is incidental (`200: ...`, `zip: 01234`).
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            Kind::Str(s) => Some(s.clone()),
            Kind::Bool(b) => Some(b.to_string()),
            Kind::Int(i) => Some(i.to_string()),
            Kind::UInt(u) => Some(u.to_string()),
            Kind::Float(f) => Some(f.to_string()),
            Kind::Null | Kind::Seq(_) | Kind::Map(_) => None,
        }
    }

    /// Converts a (template-free) subtree to JSON. Keys become strings.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.kind {
            Kind::Null => J::Null,
            Kind::Bool(b) => J::Bool(*b),
            Kind::Int(i) => J::from(*i),
            Kind::UInt(u) => J::from(*u),
            // Non-finite floats are rejected by the YAML options; map defensively to null.
            Kind::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Kind::Str(s) => J::String(s.clone()),
            Kind::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Kind::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s: Spanned<Kind> = Spanned::deserialize(d)?;
        Ok(Node {
            pos: Pos {
                line: usize::try_from(s.referenced.line()).unwrap_or(usize::MAX),
                column: usize::try_from(s.referenced.column()).unwrap_or(usize::MAX),
            },
            kind: s.value,
        })
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Kind, E> {
        Ok(Kind::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Kind, E> {
        Ok(Kind::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Kind, E> {
        Ok(Kind::UInt(v))
    }
    fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_string()))
    }
    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_string()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Kind, E> {
        Ok(Kind::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Kind, E> {
        Ok(Kind::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Kind, E> {
        Ok(Kind::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Kind, E> {
        Ok(Kind::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_none<E>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind, D::Error> {
        Kind::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
        let mut v = Vec::new();
        while let Some(n) = a.next_element::<Node>()? {
            v.push(n);
        }
        Ok(Kind::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Kind, A::Error> {
        let mut v = Vec::new();
        while let Some(k) = a.next_key::<Node>()? {
            let val = a.next_value::<Node>()?;
            v.push((k, val));
        }
        Ok(Kind::Map(v))
    }
}

/// Parses YAML text into a [`Node`] tree, or a position and message for a syntax error.
///
/// serde-saphyr's default budget applies (nesting depth 64, bounded alias expansion and
/// event counts), so hostile input cannot exhaust the stack or memory; our own tree
/// walks can recurse freely within that depth.
pub(crate) fn parse(text: &str) -> Result<Node, Vec<(Pos, String)>> {
    let mut options = serde_saphyr::Options::default();
    // YAML 1.2 booleans only: `y`, `yes`, `on` stay strings (a key named `y` must not
    // turn into `true`). Leading-zero numbers stay strings (zip codes, ids).
    options.strict_booleans = true;
    options.leading_zero_numbers_as_strings = true;
    options.emit_comments = false;
    options.with_snippet = false;
    match serde_saphyr::from_str_with_options::<Node>(text, options) {
        Ok(node) => {
            let mut errors = Vec::new();
            find_unquoted_templates(&node, &mut errors);
            if errors.is_empty() {
                Ok(node)
            } else {
                Err(errors)
            }
        }
        Err(e) => {
            let pos = e.location().map_or(Pos { line: 1, column: 1 }, |l| Pos {
                line: usize::try_from(l.line()).unwrap_or(0),
                column: usize::try_from(l.column()).unwrap_or(0),
            });
            let message = UserMessageFormatter.format_message(e.without_snippet());
            Err(vec![(pos, format!("invalid YAML: {message}"))])
        }
    }
}

/// `path: {{ id }}` is valid YAML: a mapping whose key is the mapping `{ id }`. A scenario
/// never has mapping or list *keys*, so such a key is reported as the unquoted template it
/// almost certainly is (otherwise a JSON body would silently get a strange object).
fn find_unquoted_templates(node: &Node, errors: &mut Vec<(Pos, String)>) {
    match &node.kind {
        Kind::Seq(items) => items
            .iter()
            .for_each(|n| find_unquoted_templates(n, errors)),
        Kind::Map(entries) => {
            for (k, v) in entries {
                if matches!(k.kind, Kind::Map(_) | Kind::Seq(_)) {
                    errors.push((
                        node.pos,
                        "a value starting with `{{` must be quoted, e.g. \"{{ id }}\" \
                         (unquoted, YAML reads `{` as the start of a mapping)"
                            .to_owned(),
                    ));
                    return;
                }
                find_unquoted_templates(v, errors);
            }
        }
        _ => {}
    }
}

/// A mapping node whose keys were checked against the keys allowed at that place.
pub(crate) struct Fields<'a> {
    entries: Vec<(&'a str, &'a Node, &'a Node)>,
    pub pos: Pos,
    /// Whether an unknown key was reported: "needs exactly one of" errors are then
    /// skipped when nothing was given (the typo is the real problem).
    pub unknown: bool,
}

impl<'a> Fields<'a> {
    /// Checks that `node` is a mapping whose keys are all in `known`; reports the others
    /// (with a suggestion) and returns the view anyway, so parsing can go on.
    pub fn new(d: &mut Diags, node: &'a Node, what: &str, known: &[&str]) -> Option<Self> {
        let Kind::Map(entries) = &node.kind else {
            d.error(
                node.pos,
                format!("expected {what} (a mapping), found {}", node.describe()),
            );
            return None;
        };
        let mut out = Vec::with_capacity(entries.len());
        let mut unknown = false;
        for (k, v) in entries {
            let Some(key) = k.as_str() else {
                unknown = true;
                d.error(
                    k.pos,
                    format!("expected a key name in {what}, found {}", k.describe()),
                );
                continue;
            };
            if !known.contains(&key) {
                let hint = did_you_mean(key, known.iter().copied());
                let list = known.join("`, `");
                d.error(
                    k.pos,
                    format!("unknown key `{key}` in {what}{hint}; expected one of `{list}`"),
                );
                unknown = true;
                continue;
            }
            out.push((key, k, v));
        }
        Some(Fields {
            entries: out,
            pos: node.pos,
            unknown,
        })
    }

    pub fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, _, v)| *v)
    }

    /// Reports "`what` needs exactly one of ..." unless exactly one of `keys` is present;
    /// returns whether exactly one is.
    pub fn exactly_one(&self, d: &mut Diags, keys: &[&str], message: &str) -> bool {
        let given = keys.iter().filter(|k| self.get(k).is_some()).count();
        if given == 1 {
            return true;
        }
        if !(given == 0 && self.unknown) {
            d.error(self.pos, message);
        }
        false
    }

    /// The position of `key` itself (for "conflicts with" messages).
    pub fn key_pos(&self, key: &str) -> Option<Pos> {
        self.entries
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, k, _)| k.pos)
    }
}

/// The entries of a free-form mapping (header maps, `vars`, `extract`, ...): string keys
/// with their nodes. Non-mapping nodes and non-scalar keys are reported.
pub(crate) fn entries<'a>(
    d: &mut Diags,
    node: &'a Node,
    what: &str,
) -> Vec<(String, &'a Node, &'a Node)> {
    match &node.kind {
        Kind::Map(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                match k.scalar_text() {
                    Some(key) => out.push((key, k, v)),
                    None => d.error(
                        k.pos,
                        format!("expected a name in {what}, found {}", k.describe()),
                    ),
                }
            }
            out
        }
        Kind::Null => Vec::new(),
        _ => {
            d.error(
                node.pos,
                format!("expected {what} (a mapping), found {}", node.describe()),
            );
            Vec::new()
        }
    }
}

/// The items of a list node (`null` counts as an empty list).
pub(crate) fn list<'a>(d: &mut Diags, node: &'a Node, what: &str) -> &'a [Node] {
    match &node.kind {
        Kind::Seq(items) => items,
        Kind::Null => &[],
        _ => {
            d.error(
                node.pos,
                format!("expected {what} (a list), found {}", node.describe()),
            );
            &[]
        }
    }
}

pub(crate) fn string(d: &mut Diags, node: &Node, what: &str) -> Option<String> {
    match &node.kind {
        Kind::Str(s) => Some(s.clone()),
        _ => {
            d.error(
                node.pos,
                format!("expected {what} (a string), found {}", node.describe()),
            );
            None
        }
    }
}

/// A string, or a number/boolean taken as its text (header values, query values).
pub(crate) fn text(d: &mut Diags, node: &Node, what: &str) -> Option<String> {
    match node.scalar_text() {
        Some(s) => Some(s),
        None => {
            d.error(
                node.pos,
                format!("expected {what} (a string), found {}", node.describe()),
            );
            None
        }
    }
}

pub(crate) fn boolean(d: &mut Diags, node: &Node, what: &str) -> Option<bool> {
    match node.kind {
        Kind::Bool(b) => Some(b),
        _ => {
            d.error(
                node.pos,
                format!("expected {what} (true or false), found {}", node.describe()),
            );
            None
        }
    }
}

pub(crate) fn u32_value(d: &mut Diags, node: &Node, what: &str) -> Option<u32> {
    let n = match node.kind {
        Kind::UInt(u) => u32::try_from(u).ok(),
        Kind::Int(i) => u32::try_from(i).ok(),
        _ => None,
    };
    if n.is_none() {
        d.error(
            node.pos,
            format!(
                "expected {what} (a whole number from 0 to {}), found {}",
                u32::MAX,
                node.describe()
            ),
        );
    }
    n
}

pub(crate) fn f64_value(d: &mut Diags, node: &Node, what: &str) -> Option<f64> {
    #[allow(clippy::cast_precision_loss)] // YAML integers as f64: precision loss is fine here.
    let n = match node.kind {
        Kind::UInt(u) => Some(u as f64),
        Kind::Int(i) => Some(i as f64),
        Kind::Float(f) if f.is_finite() => Some(f),
        _ => None,
    };
    if n.is_none() {
        d.error(
            node.pos,
            format!("expected {what} (a number), found {}", node.describe()),
        );
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Node {
        match parse(s) {
            Ok(n) => n,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn positions_and_types() {
        let n = p("a: 1\nb: \"200\"\nc: yes\ny: 01234\nd: [1s, 2.5, ~, true]\n");
        let Kind::Map(m) = &n.kind else { panic!() };
        assert_eq!(m[0].1.kind, Kind::UInt(1));
        assert_eq!(m[0].1.pos, Pos { line: 1, column: 4 });
        assert_eq!(m[1].1.kind, Kind::Str("200".into()));
        assert_eq!(m[2].1.kind, Kind::Str("yes".into()));
        assert_eq!(m[3].0.kind, Kind::Str("y".into()));
        assert_eq!(m[3].1.kind, Kind::Str("01234".into()));
        assert_eq!(m[4].1.pos, Pos { line: 5, column: 4 });
    }

    #[test]
    fn syntax_errors_have_positions() {
        let (pos, msg) = parse("a: [1, 2").unwrap_err().remove(0);
        assert_eq!(pos.line, 1);
        assert!(msg.starts_with("invalid YAML"), "{msg}");
        let (pos, msg) = parse("a: 1\na: 2\n").unwrap_err().remove(0);
        assert_eq!(pos.line, 2);
        assert!(msg.contains("duplicate"), "{msg}");
    }

    #[test]
    fn unknown_keys_are_reported_with_a_hint() {
        let n = p("nmae: x\nweight: 2\n");
        let mut d = Diags::new("f.yaml");
        let f = Fields::new(&mut d, &n, "a user type", &["name", "weight"]);
        assert!(f.is_some_and(|f| f.get("weight").is_some()));
        let e = d.into_error("");
        assert_eq!(e.diagnostics().len(), 1);
        let m = &e.diagnostics()[0];
        assert_eq!((m.line, m.column), (1, 1));
        assert!(m.message.contains("did you mean `name`?"), "{}", m.message);
    }
}
