//! cicada's engine: it runs simulated users.
//!
//! The engine takes a [`Plan`] (the user types, from a YAML scenario or written in Rust) and a
//! target number of users, and keeps that many users alive: it spawns them at the spawn rate,
//! assigns them to user types in proportion to the weights (deterministically interleaved, as
//! Locust does), and stops the newest ones when the target goes down. Each user is a tokio task
//! that owns its HTTP session (connection, cookies) and its variables, picks tasks by weight,
//! runs their steps and sleeps its think time. Every request is measured into a
//! [`cicada_stats::Recorder`]; the engine never reads statistics back.
//!
//! The engine knows nothing of masters, UIs or reports: it is driven through an
//! [`EngineHandle`] (`set_users`, `stop`, and `apply_plan` for a scenario reload, which swaps
//! the plan under running users: see [`runner`]) and reports only its user counts.
//!
//! # Layout
//! - [`client`]: the per-user HTTP session: its own lean HTTP/1.1 connection, hyper's for HTTP/2
//!   (TLS, cookies, redirects, timing).
//! - [`user`]: the user-type traits that both scenario tiers implement.
//! - [`context`]: what a running user sees: its session, its RNG, cancellable sleeps, requests
//!   that record themselves.
//! - [`plan`]: the user types with their task tables, after tag filtering.
//! - [`distribution`]: which user type the n-th user gets.
//! - [`runner`]: the spawner loop and the handle that drives it.
//! - [`arrivals`]: the open model (arrivals per second, capped, drops counted).
//! - [`mix`]: task mixes changed at run time (incident weight factors and extra tasks).
//! - `life`: one user's loop (on_start, picked tasks, think times, on_stop).
//! - [`yaml`]: the YAML scenario tier as an implementation of the user traits.
//! - [`request_log`]: sampled request log lines (`--log-requests`) and the credentials a
//!   request carries (they join the user's secrets, see [`context`]).
//! - [`backoff`]: capped, jittered exponential backoff after connection errors.
//! - [`trace`]: W3C `traceparent` and `baggage` headers on every request.
//! - [`spans`]: with `--otel`, the same ids as OpenTelemetry spans (client span per sampled
//!   request, task span per task run) pushed into a bounded queue.
//! - [`timer_grid`]: timer slack, so users due at about the same time wake together.

pub mod arrivals;
pub mod backoff;
pub mod client;
pub mod context;
pub mod distribution;
mod life;
pub mod mix;
pub mod plan;
pub mod request_log;
pub mod runner;
pub mod spans;
pub mod timer_grid;
pub mod trace;
pub mod user;
pub mod yaml;

pub use arrivals::{ArrivalCounts, Arrivals};
pub use cicada_scenario::Wait;
pub use context::{Context, RequestBuilder, Response};
pub use mix::{ExtraRequest, TaskMix};
pub use plan::{Plan, PlanError, TagFilter};
pub use runner::{Engine, EngineConfig, EngineHandle, EngineState, EngineStatus};
pub use spans::TaskOutcome;
pub use trace::{TaskTrace, TraceConfig, TraceMode};
pub use user::{TaskError, TaskInfo, User, UserType};
