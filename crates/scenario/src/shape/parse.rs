//! From the YAML tree to a [`Shape`]: the root keys, the `constant` base, and the number
//! helpers every part shares (users, factors, spawn rates), so that every bad value gets
//! the same kind of message at its line and column.
//!
//! Like the scenario parser, everything reports into [`Diags`] and carries on, so one
//! run shows every problem in the shape.

use crate::diagnostics::{Diags, LoadError};
use crate::shape::bursts::parse_bursts;
use crate::shape::calendar::parse_timezone;
use crate::shape::diurnal::parse_diurnal;
use crate::shape::incidents::parse_incidents;
use crate::shape::open::parse_open;
use crate::shape::stages::parse_stages;
use crate::shape::{Base, DEFAULT_SPAWN_RATE, Shape};
use crate::yaml::{self, Fields, Kind, Node};

/// The most users a shape may ask for.
pub const MAX_USERS: u32 = 10_000_000;
/// The largest factor (weekday, holiday, incident, burst).
pub const MAX_FACTOR: f64 = 1000.0;
/// The highest spawn rate, users per second.
pub const MAX_SPAWN_RATE: f64 = 100_000.0;
/// Larger shape files are refused before parsing.
pub(crate) const MAX_SHAPE_BYTES: usize = 1024 * 1024;

const ROOT_KEYS: &[&str] = &[
    "timezone",
    "constant",
    "stages",
    "repeat",
    "diurnal",
    "open",
    "bursts",
    "incidents",
];
const BASES: &[&str] = &["constant", "stages", "diurnal", "open"];

/// Parses a standalone shape file (see [`crate::parse_shape_str`]).
pub(crate) fn parse_shape_text(text: &str, origin: &str) -> Result<Shape, LoadError> {
    if text.len() > MAX_SHAPE_BYTES {
        return Err(LoadError::single(origin, "shape file is larger than 1 MiB"));
    }
    let mut d = Diags::new(origin);
    let root = match yaml::parse(text) {
        Ok(n) => n,
        Err(errors) => {
            for (pos, msg) in errors {
                d.error(pos, msg);
            }
            return Err(d.into_error(text));
        }
    };
    match parse_shape(&mut d, &root) {
        Some(shape) if d.is_empty() => Ok(shape),
        _ => {
            if d.is_empty() {
                d.error(root.pos, "invalid shape");
            }
            Err(d.into_error(text))
        }
    }
}

/// Parses the value of a `shape:` section (or the root of a shape file).
pub(crate) fn parse_shape(d: &mut Diags, node: &Node) -> Option<Shape> {
    let f = Fields::new(d, node, "the shape", ROOT_KEYS)?;
    // Each part is parsed even when another failed, so one run reports every problem;
    // the `?`s at the end drop the shape if anything was wrong.
    let timezone = match f.get("timezone") {
        Some(n) => parse_timezone(d, n),
        None => Some(chrono_tz::UTC),
    };
    let one = f.exactly_one(
        d,
        BASES,
        "a shape needs exactly one of `constant`, `stages`, `diurnal` or `open`",
    );
    // `repeat` sits next to `stages` (not inside it) so a stage list stays a plain list,
    // the same way `open:` puts `repeat` next to its `stages`.
    let repeat_node = f.get("repeat");
    if let Some(p) = f.key_pos("repeat")
        && f.get("stages").is_none()
    {
        d.error(p, "`repeat` only applies with `stages`");
    }
    let repeat = repeat_node.map_or(Some(false), |n| yaml::boolean(d, n, "`repeat`"));
    let base = if !one {
        None
    } else if let Some(n) = f.get("constant") {
        parse_constant(d, n)
    } else if let Some(n) = f.get("stages") {
        parse_stages(d, n, repeat.unwrap_or(false)).map(Base::Stages)
    } else if let Some(n) = f.get("diurnal") {
        parse_diurnal(d, n).map(Base::Diurnal)
    } else {
        f.get("open").and_then(|n| parse_open(d, n)).map(Base::Open)
    };
    let bursts = f.get("bursts").map(|n| parse_bursts(d, n));
    let incidents = f
        .get("incidents")
        .map(|n| parse_incidents(d, n))
        .unwrap_or_default();
    Some(Shape {
        timezone: timezone?,
        base: base?,
        bursts: match bursts {
            Some(b) => Some(b?),
            None => None,
        },
        incidents,
    })
}

/// `constant: 50` or `constant: { users: 50, spawn_rate: 5 }`.
fn parse_constant(d: &mut Diags, node: &Node) -> Option<Base> {
    if matches!(node.kind, Kind::Map(_)) {
        let f = Fields::new(d, node, "`constant`", &["users", "spawn_rate"])?;
        let u = match f.get("users") {
            Some(n) => users(d, n, "`users`"),
            None => {
                d.error(node.pos, "`constant` needs `users`");
                None
            }
        };
        let rate = f
            .get("spawn_rate")
            .map_or(Some(DEFAULT_SPAWN_RATE), |n| spawn_rate(d, n));
        return Some(Base::Constant {
            users: u?,
            spawn_rate: rate?,
        });
    }
    Some(Base::Constant {
        users: users(d, node, "`constant` (a number of users)")?,
        spawn_rate: DEFAULT_SPAWN_RATE,
    })
}

/// A number of users: a whole number from 0 to [`MAX_USERS`]. Negative numbers get their
/// own message: "cannot be negative" says more than "expected a whole number".
pub(crate) fn users(d: &mut Diags, node: &Node, what: &str) -> Option<u32> {
    match node.kind {
        Kind::UInt(u) if u <= u64::from(MAX_USERS) => u32::try_from(u).ok(),
        Kind::Int(i) if i < 0 => {
            d.error(node.pos, format!("{what} cannot be negative (found {i})"));
            None
        }
        Kind::Float(f) if f < 0.0 => {
            d.error(node.pos, format!("{what} cannot be negative (found {f})"));
            None
        }
        Kind::UInt(u) => {
            d.error(
                node.pos,
                format!("{what} is too large ({u}); at most {MAX_USERS}"),
            );
            None
        }
        _ => {
            d.error(
                node.pos,
                format!(
                    "expected {what} to be a whole number of users, found {}",
                    node.describe()
                ),
            );
            None
        }
    }
}

/// A non-negative factor up to [`MAX_FACTOR`].
pub(crate) fn factor(d: &mut Diags, node: &Node, what: &str) -> Option<f64> {
    bounded(d, node, what, 0.0, MAX_FACTOR)
}

/// A share from 0 to 1.
pub(crate) fn share(d: &mut Diags, node: &Node, what: &str) -> Option<f64> {
    bounded(d, node, what, 0.0, 1.0)
}

/// A spawn rate in users per second, above 0.
pub(crate) fn spawn_rate(d: &mut Diags, node: &Node) -> Option<f64> {
    let v = bounded(
        d,
        node,
        "`spawn_rate` (users per second)",
        0.0,
        MAX_SPAWN_RATE,
    )?;
    if v <= 0.0 {
        d.error(node.pos, "`spawn_rate` must be above 0 (users per second)");
        return None;
    }
    Some(v)
}

fn bounded(d: &mut Diags, node: &Node, what: &str, lo: f64, hi: f64) -> Option<f64> {
    let v = yaml::f64_value(d, node, what)?;
    if v < lo || v > hi {
        d.error(
            node.pos,
            format!("{what} must be from {lo} to {hi}, found {v}"),
        );
        return None;
    }
    Some(v)
}

/// Reports the task names in incidents that no user type has, and `user_type`s that do
/// not exist, with a suggestion. `tasks` yields every task name of the scenario.
pub(crate) fn check_names<'a>(
    d: &mut Diags,
    shape: &Shape,
    user_types: &[&'a str],
    tasks: &[&'a str],
) {
    for incident in &shape.incidents {
        for w in &incident.weights {
            if !tasks.contains(&w.task.as_str()) {
                let hint = crate::diagnostics::did_you_mean(&w.task, tasks.iter().copied());
                d.error(
                    w.pos,
                    format!(
                        "incident `{}`: no task is named `{}`{hint}",
                        incident.name, w.task
                    ),
                );
            }
        }
        if let Some(task) = &incident.extra_task
            && let Some(u) = &task.user_type
            && !user_types.contains(&u.as_str())
        {
            let hint = crate::diagnostics::did_you_mean(u, user_types.iter().copied());
            d.error(
                task.user_type_pos,
                format!(
                    "incident `{}`: no user type is named `{u}`{hint}",
                    incident.name
                ),
            );
        }
    }
}
