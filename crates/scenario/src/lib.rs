//! cicada's scenario model: what simulated users do, loaded from YAML.
//!
//! A scenario file describes user types (weights, think times, `on_start`/`on_stop`),
//! their tasks and steps (requests, think times, variable assignments), shared `vars`,
//! datasets and request defaults. The user-facing reference is `docs/scenarios.md`.
//!
//! # Design
//!
//! * **Load once, run cheaply.** [`load_file`]/[`parse_str`] parse the YAML, validate
//!   everything, and compile every template, JSONPath and regex once. The per-request
//!   functions ([`RequestStep::render`], [`RequestStep::evaluate`], [`SetStep::apply`])
//!   only render what is actually templated: static paths, headers and bodies are built at
//!   load and cloned.
//! * **Every problem, with its place.** Loading collects all diagnostics (up to a cap)
//!   with file, line and column, a "did you mean" for misspelled keys, and the source
//!   line with a caret ([`LoadError`]). Templates are checked at load for syntax, unknown
//!   functions, filters and variables, so a typo fails before any traffic is sent.
//! * **Pure.** No async, no network; files are read only while loading (the scenario and
//!   its data files), and the process environment only for `env.NAME` references.
//! * **Bounded.** Input sizes, template fuel, list variables and diagnostics are capped;
//!   nothing panics on any input (property tests and a fuzz target check this).
//! * **Reproducible randomness.** Each user has its own RNG seeded from the scenario seed
//!   and its user id; template functions draw from it.
//!
//! # Layout
//!
//! `yaml` (spanned YAML tree) -> `parse` (top level, users, tasks, steps), with `request`,
//! `check`, `extract`, `wait`, `data` and `json_template` for their parts; `template`
//! (+ `template_lint`, `functions`, `fake_data`) compiles and validates templates;
//! `state` holds per-user variables; `model` the public types; `summary` the
//! `cicada validate` text; `diagnostics` the errors; `shape` the load shape (how many
//! users, or arrivals per second, at each instant), from a `shape:` section or its own file.

mod check;
mod convert;
mod data;
mod diagnostics;
mod extract;
mod fake_data;
mod functions;
mod host;
mod json_template;
mod model;
mod parse;
mod request;
mod secrets;
pub mod shape;
mod state;
mod summary;
mod template;
mod template_lint;
mod wait;
mod yaml;

#[cfg(test)]
mod tests;

pub use data::DataFiles;
pub use diagnostics::{Diagnostic, LoadError, MAX_DIAGNOSTICS, did_you_mean};
pub use host::{HOST_CREDENTIALS_MESSAGE, host_has_credentials};
pub use model::{
    FailureKind, RenderedRequest, ResponseView, Scenario, SetStep, Step, StepFailure, TaskSpec,
    UserSpec,
};
pub use request::RequestStep;
pub use shape::{Shape, ShapeClock};
pub use state::UserState;
pub use wait::Wait;

use std::path::Path;

/// Loads a scenario file. Relative data file paths are resolved against the file's folder.
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    let origin = path.display().to_string();
    let meta = std::fs::metadata(path)
        .map_err(|e| LoadError::single(&origin, format!("cannot read scenario: {e}")))?;
    if meta.len() > parse::MAX_SCENARIO_BYTES as u64 {
        return Err(LoadError::single(
            &origin,
            "scenario file is larger than 8 MiB",
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::single(&origin, format!("cannot read scenario: {e}")))?;
    let base_dir = path.parent().unwrap_or_else(|| Path::new("."));
    parse_str(&text, &origin, base_dir)
}

/// Parses a scenario from text. `origin` names it in diagnostics (usually the file
/// name); relative data file paths are resolved against `base_dir`.
pub fn parse_str(text: &str, origin: &str, base_dir: &Path) -> Result<Scenario, LoadError> {
    parse::parse(text, origin, DataFiles::Dir(base_dir))
}

/// Parses a scenario shipped from elsewhere (a master to its workers): its text plus the data
/// files it names, by the path written in it ([`Scenario::data_files`] of the original).
pub fn parse_shipped(
    text: &str,
    origin: &str,
    files: &std::collections::BTreeMap<String, String>,
) -> Result<Scenario, LoadError> {
    parse::parse(text, origin, DataFiles::Shipped(files))
}

/// Loads a separate shape file (its root is what a scenario's `shape:` section holds).
/// Task and user type names in its incidents are checked against a scenario with
/// [`Shape::check_names`].
pub fn load_shape_file(path: &Path) -> Result<Shape, LoadError> {
    let origin = path.display().to_string();
    let meta = std::fs::metadata(path)
        .map_err(|e| LoadError::single(&origin, format!("cannot read shape: {e}")))?;
    if meta.len() > shape::parse::MAX_SHAPE_BYTES as u64 {
        return Err(LoadError::single(
            &origin,
            "shape file is larger than 1 MiB",
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| LoadError::single(&origin, format!("cannot read shape: {e}")))?;
    parse_shape_str(&text, &origin)
}

/// Parses a shape from text; `origin` names it in diagnostics.
pub fn parse_shape_str(text: &str, origin: &str) -> Result<Shape, LoadError> {
    shape::parse::parse_shape_text(text, origin)
}
