//! cicada's control surface: what the UI, the REST API and the headless runner steer.
//!
//! A [`Controller`] owns the desired state of a run (users, spawn rate, host, run time), the
//! engine that realises it, and the statistics that the engine's measurements flow into. It is
//! the only writer of both: the UI and the API call [`Controller::swarm`], [`Controller::stop`]
//! and [`Controller::reset_stats`], and read [`Controller::status`] and
//! [`Controller::with_stats`]; they never touch users directly (DESIGN.md: data flows one way).
//!
//! Concurrency, written down where it is decided:
//! - One background task, the *aggregator*, moves the engine's recorded interval into
//!   [`Stats`] once a second and then bumps a `watch` counter that live views subscribe to
//!   (server-sent events wake on it instead of polling).
//! - `Stats` sits behind a `std::sync::Mutex`, held only for short, non-async sections (apply,
//!   render a snapshot); never across an `.await`.
//! - Users run in a [`Fleet`]: this process's engine ([`LocalFleet`]) or, on a master, the
//!   workers of a cluster. The controller only sees user counts and statistics intervals.
//! - A load shape ([`shape_driver`]) steers through the controller too, from its own task;
//!   a hand-made swarm or stop pauses it (the rule lives in [`Controller::swarm`] and
//!   [`Controller::stop`], so no caller can bypass it).
//! - A scenario reload ([`Controller::apply_plan`]) swaps the plan in the fleet while users
//!   run; the controller keeps the plan for displays and the outcome of the last reload
//!   ([`reload`]) for the status and `/metrics`.

mod controller;
pub mod fleet;
pub mod process;
pub mod reload;
pub mod shape_driver;
pub mod shape_view;

pub use controller::{ControlError, Controller, RunState, Status, SwarmRequest};
pub use fleet::{Fleet, LocalFleet, WorkerInfo};
pub use reload::{LastReload, ScenarioStatus, ScenarioText};
pub use shape_driver::{ShapeEvent, ShapeOptions, ShapeState};
pub use shape_view::{ChangeView, PointView, ShapeStatus};
