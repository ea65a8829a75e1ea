//! Think times (`wait:` on a user type, `think:` steps) and duration parsing.
//!
//! The engine owns the clock and the randomness: [`Wait::delay`] is a pure function of
//! the time the task took and a uniform sample the caller supplies, so it is trivially
//! testable and never sleeps itself.

use crate::diagnostics::Diags;
use crate::yaml::{self, Fields, Kind, Node};
use std::time::Duration;

/// The longest duration a scenario may name (a year): keeps `Instant + d` from overflowing.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// How long a user pauses after a task (or at a `think` step).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Wait {
    /// No pause.
    None,
    /// A uniformly random pause between `min` and `max` (Locust `between`).
    Between {
        /// Shortest pause.
        min: Duration,
        /// Longest pause.
        max: Duration,
    },
    /// Always the same pause (Locust `constant`).
    Constant(Duration),
    /// Start a task every `p` at most: pause `p - task time` (Locust `constant_pacing`).
    Pacing(Duration),
    /// At most `t` tasks per second per user: pause `1/t s - task time`
    /// (Locust `constant_throughput`).
    Throughput(f64),
}

impl Wait {
    /// Whether [`Wait::delay`] reads the task's elapsed time (pacing and throughput): the
    /// engine only reads the clock around a task when it does.
    pub fn depends_on_elapsed(&self) -> bool {
        matches!(self, Wait::Pacing(_) | Wait::Throughput(_))
    }

    /// The pause after a task that took `task_elapsed`; `unit` is a uniform sample in [0,1)
    /// supplied by the caller.
    ///
    /// Between: min + unit*(max-min); Constant; Pacing(p): p - elapsed (saturating);
    /// Throughput(t): 1/t s - elapsed (saturating); None: zero. A `unit` outside [0,1]
    /// (or NaN) is clamped, and a non-positive throughput means no pause: never panics.
    pub fn delay(&self, task_elapsed: Duration, unit: f64) -> Duration {
        match *self {
            Wait::None => Duration::ZERO,
            Wait::Between { min, max } => {
                let unit = if unit.is_nan() {
                    0.0
                } else {
                    unit.clamp(0.0, 1.0)
                };
                let span = max.saturating_sub(min);
                // unit <= 1 so the product cannot exceed `span`: mul_f64 cannot overflow.
                min.saturating_add(span.mul_f64(unit))
            }
            Wait::Constant(d) => d,
            Wait::Pacing(p) => p.saturating_sub(task_elapsed),
            Wait::Throughput(t) => {
                if t.is_nan() || t <= 0.0 {
                    return Duration::ZERO;
                }
                let period = Duration::try_from_secs_f64(1.0 / t).unwrap_or(MAX_DURATION);
                period.saturating_sub(task_elapsed)
            }
        }
    }

    /// Short human text for summaries: "between 1s and 3s", "constant 2s", ...
    pub fn describe(&self) -> String {
        let h = |d: Duration| humantime::format_duration(d).to_string();
        match *self {
            Wait::None => "no wait".to_owned(),
            Wait::Between { min, max } => format!("between {} and {}", h(min), h(max)),
            Wait::Constant(d) => format!("constant {}", h(d)),
            Wait::Pacing(d) => format!("pacing {}", h(d)),
            Wait::Throughput(t) => format!("throughput {t}/s"),
        }
    }
}

/// Parses a duration: a humantime string (`500ms`, `2s`, `1m 30s`, `1h`) or a plain number
/// of seconds (`2`, `0.5`). Must be at most [`MAX_DURATION`].
pub(crate) fn duration(d: &mut Diags, node: &Node, what: &str) -> Option<Duration> {
    let parsed = match &node.kind {
        Kind::Str(s) => humantime::parse_duration(s.trim()).ok(),
        Kind::UInt(u) => Some(Duration::from_secs(*u)),
        Kind::Int(i) => u64::try_from(*i).ok().map(Duration::from_secs),
        Kind::Float(f) => Duration::try_from_secs_f64(*f).ok(),
        _ => None,
    };
    match parsed {
        Some(v) if v <= MAX_DURATION => Some(v),
        Some(_) => {
            d.error(node.pos, format!("{what} is too long (at most 365 days)"));
            None
        }
        None => {
            d.error(
                node.pos,
                format!("expected {what} (a duration like `500ms`, `2s`, `1m 30s`, or a number of seconds)"),
            );
            None
        }
    }
}

/// A duration that must be greater than zero (timeouts).
pub(crate) fn positive_duration(d: &mut Diags, node: &Node, what: &str) -> Option<Duration> {
    let v = duration(d, node, what)?;
    if v.is_zero() {
        d.error(node.pos, format!("{what} must be greater than zero"));
        return None;
    }
    Some(v)
}

/// Parses a wait: `{ between: [1s, 3s] }`, `{ constant: 2s }`, `{ pacing: 5s }`,
/// `{ throughput: 0.5 }`, a bare duration (= constant), or `null`/`none` (= no wait).
pub(crate) fn parse_wait(d: &mut Diags, node: &Node) -> Option<Wait> {
    match &node.kind {
        Kind::Null => return Some(Wait::None),
        Kind::Str(s) if s.trim().eq_ignore_ascii_case("none") => return Some(Wait::None),
        Kind::Str(_) | Kind::UInt(_) | Kind::Int(_) | Kind::Float(_) => {
            return duration(d, node, "a wait").map(Wait::Constant);
        }
        _ => {}
    }
    const KEYS: &[&str] = &["between", "constant", "pacing", "throughput"];
    let f = Fields::new(d, node, "a wait", KEYS)?;
    if !f.exactly_one(
        d,
        KEYS,
        "a wait needs exactly one of `between`, `constant`, `pacing`, `throughput`",
    ) {
        return None;
    }
    if let Some(n) = f.get("between") {
        let items = yaml::list(d, n, "`between` ([min, max])");
        if items.len() != 2 {
            d.error(n.pos, "`between` needs exactly two durations: [min, max]");
            return None;
        }
        let min = duration(d, &items[0], "the minimum wait");
        let max = duration(d, &items[1], "the maximum wait");
        let (min, max) = (min?, max?);
        if min > max {
            d.error(n.pos, "`between`: the minimum is greater than the maximum");
            return None;
        }
        return Some(Wait::Between { min, max });
    }
    if let Some(n) = f.get("constant") {
        return duration(d, n, "`constant`").map(Wait::Constant);
    }
    if let Some(n) = f.get("pacing") {
        return positive_duration(d, n, "`pacing`").map(Wait::Pacing);
    }
    let n = f.get("throughput")?;
    let t = yaml::f64_value(d, n, "`throughput` (tasks per second)")?;
    // Below one task a year the period would not fit MAX_DURATION.
    if !(t > 0.0 && t <= 1_000_000.0) || 1.0 / t > MAX_DURATION.as_secs_f64() {
        d.error(
            n.pos,
            "`throughput` must be a number of tasks per second above 0 and at most 1000000",
        );
        return None;
    }
    Some(Wait::Throughput(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn only_the_waits_that_read_the_elapsed_time_say_so() {
        let waits = [
            Wait::None,
            Wait::Between {
                min: ms(1000),
                max: ms(3000),
            },
            Wait::Constant(ms(2000)),
            Wait::Pacing(ms(5000)),
            Wait::Throughput(0.5),
        ];
        for w in waits {
            // The engine passes zero when a wait says it does not read the elapsed time.
            let reads = w.delay(ms(0), 0.4) != w.delay(ms(700), 0.4);
            assert_eq!(w.depends_on_elapsed(), reads, "{w:?}");
        }
    }

    #[test]
    fn delays() {
        let b = Wait::Between {
            min: ms(1000),
            max: ms(3000),
        };
        assert_eq!(b.delay(ms(0), 0.0), ms(1000));
        assert_eq!(b.delay(ms(500), 0.5), ms(2000));
        assert_eq!(b.delay(ms(0), 7.0), ms(3000));
        assert_eq!(b.delay(ms(0), f64::NAN), ms(1000));
        assert_eq!(Wait::Constant(ms(2000)).delay(ms(5000), 0.3), ms(2000));
        assert_eq!(Wait::Pacing(ms(5000)).delay(ms(1200), 0.3), ms(3800));
        assert_eq!(Wait::Pacing(ms(5000)).delay(ms(9000), 0.3), ms(0));
        assert_eq!(Wait::Throughput(0.5).delay(ms(500), 0.0), ms(1500));
        assert_eq!(Wait::Throughput(2.0).delay(ms(900), 0.0), ms(0));
        assert_eq!(Wait::Throughput(0.0).delay(ms(0), 0.0), ms(0));
        assert_eq!(Wait::Throughput(f64::NAN).delay(ms(0), 0.0), ms(0));
        assert_eq!(Wait::Throughput(1e-300).delay(ms(0), 0.0), MAX_DURATION);
        assert_eq!(Wait::None.delay(ms(10), 0.9), ms(0));
    }

    fn wait_of(src: &str) -> (Option<Wait>, Vec<String>) {
        let node = crate::yaml::parse(src).unwrap_or_else(|e| panic!("{e:?}"));
        let mut d = Diags::new("w");
        let w = parse_wait(&mut d, &node);
        let msgs = d
            .into_error("")
            .diagnostics()
            .iter()
            .map(|x| x.message.clone())
            .collect();
        (w, msgs)
    }

    #[test]
    fn parses_all_forms() {
        assert_eq!(
            wait_of("{between: [1s, 3s]}").0,
            Some(Wait::Between {
                min: ms(1000),
                max: ms(3000)
            })
        );
        assert_eq!(
            wait_of("{constant: 500ms}").0,
            Some(Wait::Constant(ms(500)))
        );
        assert_eq!(wait_of("{pacing: 5}").0, Some(Wait::Pacing(ms(5000))));
        assert_eq!(wait_of("{throughput: 0.5}").0, Some(Wait::Throughput(0.5)));
        assert_eq!(wait_of("2s").0, Some(Wait::Constant(ms(2000))));
        assert_eq!(wait_of("1.5").0, Some(Wait::Constant(ms(1500))));
        assert_eq!(wait_of("none").0, Some(Wait::None));
        assert_eq!(wait_of("~").0, Some(Wait::None));
    }

    #[test]
    fn rejects_bad_waits() {
        assert!(wait_of("{between: [3s, 1s]}").1[0].contains("greater than"));
        assert!(wait_of("{between: [1s]}").1[0].contains("exactly two"));
        assert!(wait_of("{constant: 3 parsecs}").1[0].contains("duration"));
        assert!(wait_of("{constant: 1s, pacing: 2s}").1[0].contains("exactly one"));
        assert!(wait_of("{throughput: 0}").1[0].contains("above 0"));
        assert!(wait_of("{pacing: 0s}").1[0].contains("greater than zero"));
        assert!(wait_of("{constnat: 1s}").1[0].contains("did you mean `constant`"));
        assert!(wait_of("{constant: 1000000d}").1[0].contains("too long"));
        assert!(wait_of("{constant: -1}").1[0].contains("duration"));
    }
}
