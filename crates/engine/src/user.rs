//! The user-type traits: the contract between the engine and both scenario tiers.
//!
//! A [`UserType`] describes a kind of simulated person (name, weight, think time, tasks) and
//! creates [`User`]s. A `User` is one person's behaviour: `on_start` once, then tasks picked by
//! the engine (by weight, or in order), then `on_stop`. The engine owns the loop, the think time
//! and cancellation; a user only performs its steps through the [`Context`].
//!
//! On a scenario reload a running user moves to the new plan's type of the same name at its
//! next task pick through [`UserType::adopt`], keeping its session.
//!
//! The YAML tier implements these traits in [`crate::yaml`]; a Rust crate implements them for
//! logic a declarative file should not grow into (see `examples/rust_user.rs`).

use async_trait::async_trait;
use cicada_scenario::Wait;

use crate::context::Context;

/// A task as the engine sees it: a name, a weight and tags for `--tags`/`--exclude-tags`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskInfo {
    /// Shown in summaries and the task ratio.
    pub name: String,
    /// Relative weight among the type's tasks (ignored by sequential types).
    pub weight: u32,
    /// Tags matched by the tag filter.
    pub tags: Vec<String>,
}

impl TaskInfo {
    /// A task with weight 1 and no tags.
    pub fn new(name: impl Into<String>) -> Self {
        TaskInfo {
            name: name.into(),
            weight: 1,
            tags: Vec::new(),
        }
    }

    /// Sets the weight.
    pub fn weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self
    }
}

/// Why a task (or `on_start`) ended early.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// The user is being stopped: end now, send nothing more.
    #[error("user stopped")]
    Stopped,
    /// A step failed (the failure is already counted in the statistics); the rest of the task
    /// is skipped and the user goes on with its next task after its think time.
    #[error("task aborted: {0}")]
    Aborted(String),
}

/// A kind of simulated user. Shared by all users of the type (`Send + Sync`).
pub trait UserType: Send + Sync + 'static {
    /// The type's name (`QuoteAgent`), unique within a plan.
    fn name(&self) -> &str;
    /// Relative weight among the plan's types.
    fn weight(&self) -> u32 {
        1
    }
    /// Exactly this many users of this type, whatever the total (Locust's `fixed_count`).
    fn fixed_count(&self) -> Option<u32> {
        None
    }
    /// Think time between tasks.
    fn wait(&self) -> Wait {
        Wait::None
    }
    /// The tasks; `run_task` receives an index into this list.
    fn tasks(&self) -> Vec<TaskInfo>;
    /// Run tasks in order instead of picking by weight (Locust's SequentialTaskSet).
    fn sequential(&self) -> bool {
        false
    }
    /// A new user of this type. `user_id` is unique within the process.
    fn new_user(&self, user_id: u64) -> Box<dyn User>;

    /// Takes over a running user of the type of the same name in the previous plan (a
    /// scenario reload), at that user's next task pick. The user keeps its [`Context`]
    /// (connection, cookies) whatever this returns; this decides what becomes of its own
    /// state. `on_start` does not run again, so whatever it set up (a login token) must
    /// carry over, or the user would run without it.
    ///
    /// The default keeps `previous` as it is: right for Rust types, whose code a reload
    /// cannot change. The YAML tier moves the user's variables into a user of the new
    /// scenario (see [`crate::yaml`]); a Rust type can downcast `previous` (a `User` is
    /// `Any`) to carry state over in its own way.
    fn adopt(&self, user_id: u64, previous: Box<dyn User>) -> Box<dyn User> {
        let _ = user_id;
        previous
    }
}

/// One simulated person's behaviour. `Any`, so that [`UserType::adopt`] can downcast the
/// user it takes over.
#[async_trait]
pub trait User: Send + std::any::Any {
    /// Runs once when the user starts (log in, load data). A failure is retried after a backoff
    /// pause before any task runs.
    async fn on_start(&mut self, _cx: &mut Context) -> Result<(), TaskError> {
        Ok(())
    }

    /// Runs task `task` (an index into [`UserType::tasks`]).
    async fn run_task(&mut self, task: usize, cx: &mut Context) -> Result<(), TaskError>;

    /// Runs once when the user is retired by a scale-down (not when the whole run is stopped).
    async fn on_stop(&mut self, _cx: &mut Context) {}
}
