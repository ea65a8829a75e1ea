//! When `--autostart` (or a headless run) starts the swarm.
//!
//! With a load shape the shape starts instead of `-u`/`-r` users (it runs until stopped, or
//! for `-t`).
//!
//! Standalone: at once. A master first gives reconnecting workers the adopt window to say what
//! they run (and waits for `--expect-workers`); if they already run users, the master adopts
//! them and does not start anything on top: a restarted master never doubles the load.

use std::sync::Arc;
use std::time::Duration;

use cicada_cluster::master::ClusterFleet;
use cicada_control::{Controller, SwarmRequest};

use crate::config::RunConfig;

/// When to start.
#[derive(Clone)]
pub enum StartGate {
    /// At once.
    Now,
    /// After the master's adopt window, with at least `expect_workers` workers connected.
    Cluster {
        /// The master's workers.
        fleet: Arc<ClusterFleet>,
        /// `--expect-workers`.
        expect_workers: usize,
    },
}

impl StartGate {
    /// Starts `cfg`'s users when the gate opens, unless the workers already run some.
    pub async fn autostart(self, controller: &Controller, cfg: &RunConfig) {
        if let StartGate::Cluster {
            fleet,
            expect_workers,
        } = &self
        {
            fleet.settled().await;
            if *expect_workers > 0 && fleet.ready_workers() < *expect_workers {
                tracing::info!(expect_workers, "waiting for workers before starting");
                while fleet.ready_workers() < *expect_workers {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            if let Some(users) = controller.wanted_users()
                && !controller.has_shape()
            {
                tracing::info!(
                    users,
                    "workers already run users; adopted them, not autostarting"
                );
                return;
            }
        }
        // A shape sets the total number of users (it never adds to what runs), so it also
        // takes over users a restarted master adopted: a 24/7 shape survives a restart.
        if controller.has_shape() {
            tracing::info!(run_time = ?cfg.run_time, "starting the load shape (it sets the users; -u/-r are not used)");
            if let Err(e) = controller.start_shape(cfg.run_time) {
                tracing::error!("cannot start the load shape: {e}");
            }
            return;
        }
        tracing::info!(users = cfg.users, spawn_rate = cfg.spawn_rate, run_time = ?cfg.run_time, "starting");
        if let Err(e) = controller.swarm(SwarmRequest {
            users: cfg.users,
            spawn_rate: cfg.spawn_rate,
            host: None,
            run_time: cfg.run_time,
        }) {
            tracing::error!("cannot start: {e}");
        }
    }
}
