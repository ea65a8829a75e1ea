//! Shape tests: exact values at given instants (time zones and daylight saving days
//! included), schedules, bursts, the clock, and load errors with positions.

mod docs;
mod errors;
mod props;
mod schedule;
mod values;

use crate::shape::Shape;
use chrono::{DateTime, Utc};

/// Parses a shape or fails the test with the diagnostics.
pub(crate) fn shape(src: &str) -> Shape {
    match crate::parse_shape_str(src, "shape.yaml") {
        Ok(s) => s,
        Err(e) => panic!("shape failed to load:\n{e}\n{src}"),
    }
}

/// An RFC 3339 instant.
pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t.with_timezone(&Utc),
        Err(e) => panic!("{s}: {e}"),
    }
}

/// Asserts two values are equal up to rounding noise.
#[track_caller]
pub(crate) fn close(actual: f64, expected: f64) {
    assert!(
        (actual - expected).abs() < 1e-6,
        "expected {expected}, got {actual}"
    );
}
