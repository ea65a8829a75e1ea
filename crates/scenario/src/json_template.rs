//! JSON bodies (and `set:` / `equals:` values) written as YAML trees with templated
//! string leaves.
//!
//! Template-free subtrees are converted to JSON once at load. At runtime the tree is
//! written straight into the body buffer: static parts are serialized as they are, a leaf
//! that is exactly one `{{ expression }}` keeps its type (`"{{ randint(1, 5) }}"` -> `3`,
//! `"{{ pick('creds') }}"` -> an object), any other templated leaf becomes a string.
//! Keys are never templated.

use crate::convert::value_to_json;
use crate::diagnostics::Diags;
use crate::state::UserState;
use crate::template::{Compiler, Text, has_markup};
use crate::yaml::{Kind, Node};
use minijinja::{Error, ErrorKind};
use serde_json::Value as Json;

/// A YAML tree with templated string leaves.
#[derive(Debug, Clone)]
pub(crate) enum JsonTemplate {
    Static(Json),
    Text(Text),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

fn has_templates(node: &Node) -> bool {
    match &node.kind {
        Kind::Str(s) => has_markup(s),
        Kind::Seq(items) => items.iter().any(has_templates),
        Kind::Map(entries) => entries.iter().any(|(_, v)| has_templates(v)),
        _ => false,
    }
}

impl JsonTemplate {
    /// Compiles a YAML subtree; template errors are reported and make it `None`.
    pub fn compile(c: &mut Compiler, d: &mut Diags, node: &Node) -> Option<Self> {
        if !has_templates(node) {
            return Some(JsonTemplate::Static(node.to_json()));
        }
        match &node.kind {
            Kind::Str(s) => c.typed(d, s, node.pos).map(JsonTemplate::Text),
            Kind::Seq(items) => {
                let parts: Vec<Option<JsonTemplate>> =
                    items.iter().map(|n| Self::compile(c, d, n)).collect();
                parts
                    .into_iter()
                    .collect::<Option<Vec<_>>>()
                    .map(JsonTemplate::Array)
            }
            Kind::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                let mut ok = true;
                for (k, v) in entries {
                    let key = k.scalar_text().unwrap_or_default();
                    match Self::compile(c, d, v) {
                        Some(t) => out.push((key, t)),
                        None => ok = false,
                    }
                }
                ok.then_some(JsonTemplate::Object(out))
            }
            _ => Some(JsonTemplate::Static(node.to_json())),
        }
    }

    /// The JSON when nothing is templated.
    pub fn as_static(&self) -> Option<&Json> {
        match self {
            JsonTemplate::Static(v) => Some(v),
            _ => None,
        }
    }

    /// Renders into a JSON value.
    pub fn render_json(&self, state: &UserState) -> Result<Json, Error> {
        Ok(match self {
            JsonTemplate::Static(v) => v.clone(),
            JsonTemplate::Text(Text::Expr(name)) => {
                value_to_json(&Text::Expr(name.clone()).render_value(state)?)
            }
            JsonTemplate::Text(t) => Json::String(t.render(state)?),
            JsonTemplate::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|i| i.render_json(state))
                    .collect::<Result<_, _>>()?,
            ),
            JsonTemplate::Object(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), v.render_json(state)?)))
                    .collect::<Result<_, Error>>()?,
            ),
        })
    }

    /// Renders straight into `out` as compact JSON.
    pub fn write(&self, state: &UserState, out: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            JsonTemplate::Static(v) => put(out, v),
            JsonTemplate::Text(t @ Text::Expr(_)) => {
                put(out, &value_to_json(&t.render_value(state)?))
            }
            JsonTemplate::Text(t) => put(out, &t.render(state)?),
            JsonTemplate::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write(state, out)?;
                }
                out.push(b']');
                Ok(())
            }
            JsonTemplate::Object(entries) => {
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    put(out, k)?;
                    out.push(b':');
                    v.write(state, out)?;
                }
                out.push(b'}');
                Ok(())
            }
        }
    }
}

fn put<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) -> Result<(), Error> {
    serde_json::to_writer(out, v)
        .map_err(|_| Error::new(ErrorKind::BadSerialization, "cannot write JSON"))
}
