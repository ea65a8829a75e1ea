//! Conversions between template values (`minijinja::Value`) and JSON (`serde_json::Value`).
//!
//! User variables are stored as template values (cheap to clone: reference counted) and
//! handed to the engine as JSON. Converting through JSON also *materializes* whatever a
//! template produced (lazy objects, iterators) into plain data, so a stored variable can
//! never keep a reference to the user's own context alive (no `Arc` cycles) and its depth
//! is bounded.

use minijinja::Value;
use minijinja::value::ValueKind;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// Deeper values are cut (replaced by null) — YAML and JSON inputs are already limited
/// to less than this, so only template-built values can hit it.
const MAX_DEPTH: usize = 64;
/// Longer sequences/maps are cut when a value is stored or sent: bounds what one
/// variable can hold even if a `set` step keeps growing it (`{{ l + [1] }}`).
pub(crate) const MAX_ITEMS: usize = 10_000;

/// A template map from (key, value) pairs. (`Value::from_iter` of pairs would make a
/// list of tuples, not a map.)
pub(crate) fn map_value<K: AsRef<str>, V: Into<Value>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> Value {
    let map: BTreeMap<Value, Value> = pairs
        .into_iter()
        .map(|(k, v)| (Value::from(k.as_ref()), v.into()))
        .collect();
    Value::from_object(map)
}

/// JSON to a template value.
pub(crate) fn json_to_value(j: &Json) -> Value {
    match j {
        Json::Null => Value::from(()),
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(0.0))
            }
        }
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::from(items.iter().map(json_to_value).collect::<Vec<_>>()),
        Json::Object(map) => map_value(map.iter().map(|(k, v)| (k.as_str(), json_to_value(v)))),
    }
}

/// A template value to JSON. Undefined and none become null; values that are not data
/// (functions, macros) become their printed form. Never fails, never recurses unboundedly.
pub(crate) fn value_to_json(v: &Value) -> Json {
    to_json(v, 0)
}

fn to_json(v: &Value, depth: usize) -> Json {
    if depth > MAX_DEPTH {
        return Json::Null;
    }
    match v.kind() {
        ValueKind::Undefined | ValueKind::None | ValueKind::Invalid => Json::Null,
        ValueKind::Bool => Json::Bool(v.is_true()),
        ValueKind::Number => number(v),
        ValueKind::String => Json::String(v.as_str().unwrap_or_default().to_owned()),
        ValueKind::Bytes => {
            Json::String(String::from_utf8_lossy(v.as_bytes().unwrap_or_default()).into_owned())
        }
        ValueKind::Seq | ValueKind::Iterable => match v.try_iter() {
            Ok(iter) => Json::Array(
                iter.take(MAX_ITEMS)
                    .map(|x| to_json(&x, depth + 1))
                    .collect(),
            ),
            Err(_) => Json::Null,
        },
        ValueKind::Map => match v.try_iter() {
            Ok(keys) => Json::Object(
                keys.take(MAX_ITEMS)
                    .map(|k| {
                        let item = v.get_item(&k).unwrap_or_default();
                        let key = match k.as_str() {
                            Some(s) => s.to_owned(),
                            None => k.to_string(),
                        };
                        (key, to_json(&item, depth + 1))
                    })
                    .collect(),
            ),
            Err(_) => Json::Null,
        },
        // Plain objects, callables and anything new: their printed form.
        _ => Json::String(v.to_string()),
    }
}

fn number(v: &Value) -> Json {
    if v.is_integer() {
        if let Some(i) = v.as_i64() {
            return Json::from(i);
        }
        if let Ok(u) = u64::try_from(v.clone()) {
            return Json::from(u);
        }
    }
    match f64::try_from(v.clone()) {
        Ok(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        Err(_) => Json::Null,
    }
}

/// Normalizes a template value into plain data (see the module comment).
pub(crate) fn materialize(v: &Value) -> Value {
    json_to_value(&value_to_json(v))
}

/// The text a value contributes to a URL, header or form field: strings as-is, none and
/// undefined as empty, everything else printed (numbers, lists as `[1, 2]`).
pub(crate) fn value_to_text(v: &Value) -> String {
    match v.kind() {
        ValueKind::Undefined | ValueKind::None => String::new(),
        ValueKind::String => v.as_str().unwrap_or_default().to_owned(),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => value_to_json(v).to_string(),
        _ => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips() {
        let j = json!({"a": [1, -2, 2.5, "x", null, true], "b": {"c": 18446744073709551615u64}});
        assert_eq!(value_to_json(&json_to_value(&j)), j);
    }

    #[test]
    fn text_forms() {
        assert_eq!(value_to_text(&Value::from("a b")), "a b");
        assert_eq!(value_to_text(&Value::from(5)), "5");
        assert_eq!(value_to_text(&Value::from(())), "");
        assert_eq!(value_to_text(&Value::from(vec![1, 2])), "[1,2]");
    }
}
