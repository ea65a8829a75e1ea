//! The functions templates can call: `uuid()`, `randint(a, b)`, `uniform(a, b)`,
//! `choice(list)`, `weighted_choice(list, weights)`, `fake(kind)`, `now(offset, format)`,
//! `counter()`, `pick(dataset)`.
//!
//! Randomness comes from the calling user's RNG (found through the hidden root-context
//! key), so with a fixed scenario `seed:` every user's sequence of choices repeats from
//! run to run. Every argument problem is an `Err`, never a panic (`rand`'s range
//! functions panic on empty ranges, so ranges are checked first).

use crate::fake_data;
use crate::state::{CTX_KEY, Inner, UserCtx};
use chrono::format::{Item, StrftimeItems};
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State, Value};
use rand::RngExt;
use std::fmt::Write as _;
use std::time::Duration;

/// Names of every function a template may call (ours and minijinja's built-in globals).
pub(crate) const FUNCTIONS: &[&str] = &[
    "uuid",
    "randint",
    "uniform",
    "choice",
    "weighted_choice",
    "fake",
    "now",
    "counter",
    "pick",
    "range",
    "dict",
    "namespace",
];

pub(crate) fn register(env: &mut Environment<'static>) {
    // `debug()` would print the whole context, secrets included.
    env.remove_global("debug");
    env.add_function("uuid", uuid);
    env.add_function("randint", randint);
    env.add_function("uniform", uniform);
    env.add_function("choice", choice);
    env.add_function("weighted_choice", weighted_choice);
    env.add_function("fake", fake);
    env.add_function("now", now);
    env.add_function("counter", counter);
    env.add_function("pick", pick);
}

fn invalid(msg: &'static str) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

/// Runs `f` with the calling user's context and locked state.
fn with_user<R>(
    state: &State<'_, '_>,
    f: impl FnOnce(&UserCtx, &mut Inner) -> Result<R, Error>,
) -> Result<R, Error> {
    let ctx = state
        .lookup(CTX_KEY)
        .ok_or_else(|| invalid("no user context"))?;
    let user = ctx
        .downcast_object_ref::<UserCtx>()
        .ok_or_else(|| invalid("no user context"))?;
    let mut inner = user.lock();
    f(user, &mut inner)
}

fn uuid(state: &State<'_, '_>) -> Result<String, Error> {
    with_user(state, |_, u| {
        let bytes: [u8; 16] = u.rng.random();
        Ok(uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string())
    })
}

fn randint(state: &State<'_, '_>, a: i64, b: i64) -> Result<i64, Error> {
    if a > b {
        return Err(invalid("randint(a, b) needs a <= b"));
    }
    with_user(state, |_, u| Ok(u.rng.random_range(a..=b)))
}

fn uniform(state: &State<'_, '_>, a: f64, b: f64) -> Result<f64, Error> {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let span = hi - lo;
    if !lo.is_finite() || !span.is_finite() {
        return Err(invalid("uniform(a, b) needs finite numbers"));
    }
    with_user(state, |_, u| Ok(lo + span * u.rng.random::<f64>()))
}

/// The items of a list-like value (lists, tuples, iterables; not strings or maps).
fn items(v: &Value, what: &'static str) -> Result<Vec<Value>, Error> {
    match v.kind() {
        ValueKind::Seq | ValueKind::Iterable => Ok(v.try_iter()?.take(1_000_000).collect()),
        _ => Err(invalid(what)),
    }
}

fn choice(state: &State<'_, '_>, list: Value) -> Result<Value, Error> {
    let items = items(&list, "choice(list) needs a list")?;
    if items.is_empty() {
        return Err(invalid("choice(list) got an empty list"));
    }
    with_user(state, |_, u| {
        Ok(items[u.rng.random_range(0..items.len())].clone())
    })
}

fn weighted_choice(state: &State<'_, '_>, list: Value, weights: Value) -> Result<Value, Error> {
    let items = items(&list, "weighted_choice(list, weights) needs a list")?;
    let weights = items_f64(&weights)?;
    if items.len() != weights.len() || items.is_empty() {
        return Err(invalid(
            "weighted_choice(list, weights) needs as many weights as items",
        ));
    }
    let total: f64 = weights.iter().sum();
    if !(total > 0.0 && total.is_finite()) || weights.iter().any(|w| *w < 0.0) {
        return Err(invalid(
            "weighted_choice weights must be >= 0 with a positive sum",
        ));
    }
    with_user(state, |_, u| {
        let mut target = u.rng.random::<f64>() * total;
        for (item, w) in items.iter().zip(&weights) {
            if target < *w {
                return Ok(item.clone());
            }
            target -= w;
        }
        // Rounding can leave a sliver past the end: the last positive weight wins.
        let last = weights.iter().rposition(|w| *w > 0.0).unwrap_or(0);
        Ok(items.get(last).cloned().unwrap_or_default())
    })
}

fn items_f64(v: &Value) -> Result<Vec<f64>, Error> {
    items(v, "weighted_choice weights must be a list of numbers")?
        .into_iter()
        .map(|w| f64::try_from(w).map_err(|_| invalid("weighted_choice weights must be numbers")))
        .collect()
}

fn fake(state: &State<'_, '_>, kind: &str) -> Result<String, Error> {
    with_user(state, |_, u| {
        fake_data::fake(kind, &mut u.rng).ok_or_else(|| invalid("unknown fake() kind"))
    })
}

fn counter(state: &State<'_, '_>) -> Result<u64, Error> {
    with_user(state, |_, u| {
        u.counter = u.counter.wrapping_add(1);
        Ok(u.counter)
    })
}

fn pick(state: &State<'_, '_>, name: &str) -> Result<Value, Error> {
    with_user(state, |user, u| {
        let (_, ds) = user
            .globals
            .dataset(name)
            .ok_or_else(|| invalid("pick(): unknown dataset"))?;
        Ok(ds.draw(&mut u.rng))
    })
}

/// `now()`, `now('+30d')`, `now('-1h', '%H:%M')`, `now(format='%Y-%m-%d')`,
/// `now(offset='+2h')`. Default format: ISO-8601 UTC with seconds (`2024-05-01T12:00:00Z`).
fn now(offset: Option<String>, format: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let offset = match offset {
        Some(o) => Some(o),
        None => kwargs.get::<Option<String>>("offset")?,
    };
    let format = match format {
        Some(f) => Some(f),
        None => kwargs.get::<Option<String>>("format")?,
    };
    kwargs.assert_all_used()?;
    let mut t = chrono::Utc::now();
    if let Some(o) = offset {
        let (negative, d) = parse_offset(&o)
            .ok_or_else(|| invalid("now(): bad offset, expected like '+30d' or '-2h'"))?;
        let delta =
            chrono::TimeDelta::from_std(d).map_err(|_| invalid("now(): offset too large"))?;
        let shifted = if negative {
            t.checked_sub_signed(delta)
        } else {
            t.checked_add_signed(delta)
        };
        t = shifted.ok_or_else(|| invalid("now(): offset too large"))?;
    }
    match format {
        None => Ok(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        Some(f) => {
            let items: Vec<Item<'_>> = StrftimeItems::new(&f).collect();
            if items.iter().any(|i| matches!(i, Item::Error)) {
                return Err(invalid("now(): bad format"));
            }
            let mut out = String::new();
            // chrono's Display fails (instead of panicking) when we write it ourselves.
            write!(out, "{}", t.format_with_items(items.into_iter()))
                .map_err(|_| invalid("now(): bad format"))?;
            Ok(out)
        }
    }
}

/// `+30d`, `-2h`, `1h30m`, `+1w`: a sign (default +) and a humantime duration.
pub(crate) fn parse_offset(s: &str) -> Option<(bool, Duration)> {
    let s = s.trim();
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    humantime::parse_duration(rest.trim())
        .ok()
        .map(|d| (negative, d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets() {
        assert_eq!(
            parse_offset("+30d"),
            Some((false, Duration::from_secs(30 * 86400)))
        );
        assert_eq!(parse_offset("-2h"), Some((true, Duration::from_secs(7200))));
        assert_eq!(
            parse_offset("1h 30m"),
            Some((false, Duration::from_secs(5400)))
        );
        assert_eq!(parse_offset("soon"), None);
    }

    #[test]
    fn now_formats() {
        let kw = || Kwargs::from_iter(Vec::<(&str, Value)>::new());
        let iso = now(None, None, kw()).unwrap_or_default();
        assert!(iso.ends_with('Z') && iso.len() == 20, "{iso}");
        let day = now(None, Some("%Y-%m-%d".into()), kw()).unwrap_or_default();
        assert_eq!(day.len(), 10);
        assert!(now(None, Some("%Q".into()), kw()).is_err());
        assert!(now(Some("+1000000000y".into()), None, kw()).is_err());
        let kw2 = Kwargs::from_iter([("format", Value::from("%Y"))]);
        assert_eq!(
            now(Some("+0s".into()), None, kw2).map(|s| s.len()).ok(),
            Some(4)
        );
    }
}
