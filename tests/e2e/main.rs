//! End-to-end tests: the real `cicada` binary against real servers on loopback ports chosen at
//! run time (nginx, and a recording server of the tests' own from `cicada-testkit`).
//!
//! Every run is bounded (`-t`, plus a hard timeout in [`util::run_cicada`]).

mod cli;
mod cluster;
mod failures;
mod k8s;
mod nginx;
mod otel;
mod prometheus;
mod recording;
mod reload;
mod rust_tier;
mod scenarios;
mod secrets;
mod shape;
mod target;
mod util;
mod web;
mod worker_metrics;
