//! The compiled scenario: what the engine runs. Everything here is built once at load and
//! then only read (shared in an `Arc` by every user), except [`UserState`], which is one
//! per user.

use crate::json_template::JsonTemplate;
use crate::request::RequestStep;
use crate::state::{Globals, UserState};
use crate::template::error_kind;
use crate::wait::Wait;
use std::sync::Arc;

/// A loaded, validated scenario. `Send + Sync`: share it in an `Arc`.
#[derive(Debug)]
pub struct Scenario {
    /// `host:` from the file (a CLI `-H` overrides it), e.g. `http://127.0.0.1:3000`.
    pub host: Option<String>,
    /// The user types, in file order.
    pub user_types: Vec<UserSpec>,
    /// The load shape from the `shape:` section, if any (a separate shape file or flag
    /// may replace it).
    pub shape: Option<crate::shape::Shape>,
    pub(crate) globals: Arc<Globals>,
    pub(crate) seed: u64,
    /// The text of every data file the scenario read, by the path written in it: with the
    /// scenario's own text, everything needed to load it elsewhere (see
    /// [`crate::parse_shipped`]).
    pub data_files: std::collections::BTreeMap<String, String>,
}

impl Scenario {
    /// The seed that, with a user id, seeds each user's RNG (`seed:` in the file, else
    /// random per load).
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Replaces the seed (e.g. from a `--seed` flag) for users created afterwards.
    pub fn set_seed(&mut self, seed: u64) {
        self.seed = seed;
    }

    /// The user type named `name`.
    pub fn user_type(&self, name: &str) -> Option<&UserSpec> {
        self.user_types.iter().find(|u| u.name == name)
    }
}

/// A kind of simulated user (Locust's `User` class).
#[derive(Debug)]
pub struct UserSpec {
    /// Unique name (`name:`).
    pub name: String,
    /// Relative share among user types without `fixed_count` (default 1).
    pub weight: u32,
    /// Exactly this many users of this type, regardless of weights.
    pub fixed_count: Option<u32>,
    /// Pause after each task.
    pub wait: Wait,
    /// Run tasks in file order (weights ignored) instead of picking by weight.
    pub sequential: bool,
    /// Steps run once when a user starts (e.g. login).
    pub on_start: Vec<Step>,
    /// Steps run once when a user stops.
    pub on_stop: Vec<Step>,
    /// The tasks (at least one).
    pub tasks: Vec<TaskSpec>,
}

/// A unit of work a user picks (by weight) or runs in order.
#[derive(Debug)]
pub struct TaskSpec {
    /// Name (default: the first request's stats name).
    pub name: String,
    /// Relative weight within the user type (default 1; 0 disables the task).
    pub weight: u32,
    /// Tags for `--tags` / `--exclude-tags`.
    pub tags: Vec<String>,
    /// The steps, run in order.
    pub steps: Vec<Step>,
}

/// One step of a task, `on_start` or `on_stop`.
#[derive(Debug)]
pub enum Step {
    /// Send an HTTP request.
    Request(Box<RequestStep>),
    /// Pause (the engine calls [`Wait::delay`] with the time since the task started).
    Think(Wait),
    /// Assign user variables.
    Set(SetStep),
}

/// `set: { var: value }`: assigns user variables from templates.
#[derive(Debug)]
pub struct SetStep {
    pub(crate) assignments: Vec<(String, JsonTemplate)>,
}

impl SetStep {
    /// Renders each value (in order) and stores it; a later value sees earlier ones.
    pub fn apply(&self, state: &mut UserState) -> Result<(), StepFailure> {
        for (name, value) in &self.assignments {
            let v = match value {
                // A single expression keeps its type without a JSON round trip.
                JsonTemplate::Text(t) => t.render_value(state),
                other => other
                    .render_json(state)
                    .map(|j| crate::convert::json_to_value(&j)),
            };
            match v {
                Ok(v) => state.set_value(name, v),
                Err(e) => {
                    return Err(StepFailure {
                        kind: FailureKind::Render,
                        message: format!("render set {name}: {}", error_kind(&e)),
                    });
                }
            }
        }
        Ok(())
    }

    /// The variable names this step assigns.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.assignments.iter().map(|(n, _)| n.as_str())
    }
}

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct RenderedRequest {
    /// The method.
    pub method: http::Method,
    /// `"/x?y=1"` (to join with the host) or an absolute `http(s)://` URL.
    pub path_and_query: String,
    /// Merged headers (defaults, user type, step), templates rendered.
    pub headers: http::HeaderMap,
    /// The body (empty when none).
    pub body: bytes::Bytes,
    /// Step timeout, else `defaults.timeout`, else `None`.
    pub timeout: Option<std::time::Duration>,
}

/// What [`RequestStep::evaluate`] needs of a response.
#[derive(Debug, Clone, Copy)]
pub struct ResponseView<'a> {
    /// HTTP status code.
    pub status: u16,
    /// Response headers.
    pub headers: &'a http::HeaderMap,
    /// Response body (the JSON is parsed only when a check or extract needs it).
    pub body: &'a [u8],
}

/// Why a step failed. `message` has bounded cardinality (it becomes a stats row) and never
/// contains response bodies or variable values.
#[derive(Debug, Clone)]
pub struct StepFailure {
    /// Which stage failed.
    pub kind: FailureKind,
    /// E.g. "HTTP 500", "check failed: $.data.id exists", "extract token: $.data.token not found".
    pub message: String,
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StepFailure {}

/// The stage of a [`StepFailure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A template could not be rendered (undefined variable, bad header value, ...).
    Render,
    /// The status was not accepted by `expect`.
    Status,
    /// A `checks` entry failed.
    Check,
    /// An `extract` entry found nothing (or the body was not JSON).
    Extract,
}
