//! The master: a gRPC server for workers and a coordinator that a
//! [`cicada_control::Controller`] steers like a local engine (see [`ClusterFleet`]).
//!
//! - [`service`]: the stream per worker (hello, refusal, heartbeats, statistics, goodbye).
//! - [`state`]: the workers table and the desired users; the 100 ms tick that drops lost
//!   workers and moves users at the spawn rate.
//! - [`balance`]: the split of users over workers, and the paced steps towards it.
//! - `arrivals`: the open model's arrivals split over workers, and their counters summed.
//!
//! A reloaded scenario file ([`Fleet::apply_plan`] on the [`ClusterFleet`]) replaces the
//! master's plan and scenario message, maps every per-type count to the new type names, and
//! broadcasts the scenario: workers swap it in without restarting their users (see
//! [`crate::worker`]); workers that connect later get it like any scenario.

pub(crate) mod arrivals;
pub mod balance;
mod service;
pub mod state;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use cicada_control::{ControlError, Fleet, WorkerInfo};
use cicada_engine::{EngineState, EngineStatus, Plan};
use cicada_stats::Interval;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::proto::cluster_server::ClusterServer;
use crate::proto::{WorkerState, master_message};
use crate::scenario::ScenarioSpec;
use crate::tls::{TlsError, TlsFiles};
use state::State;
pub use state::Timings;

/// How the master runs.
#[derive(Clone, Debug)]
pub struct MasterConfig {
    /// Where workers connect (`--master-bind`, default 0.0.0.0:5557).
    pub bind: SocketAddr,
    /// Workers must present this token (`--cluster-token`).
    pub token: Option<String>,
    /// TLS files (`--tls-cert`, `--tls-key`, `--tls-ca`).
    pub tls: TlsFiles,
    /// Liveness timings.
    pub timings: Timings,
    /// The spawn rate used for adopted users until someone sets one.
    pub default_rate: f64,
}

/// Why the master cannot start.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    /// The cluster port is taken or not ours.
    #[error("cannot listen for workers on {addr}: {error}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// A TLS file is unusable.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// What the service, the ticker and the fleet share.
pub(crate) struct Shared {
    /// Replaced by a scenario reload ([`Fleet::apply_plan`]).
    plan: Mutex<Arc<Plan>>,
    state: Mutex<State>,
    stats: Mutex<Interval>,
    token: Option<String>,
    timings: Timings,
    spec: Mutex<ScenarioSpec>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a worker's encoded interval to what the next aggregation takes.
    fn merge_stats(&self, encoded: &[u8]) -> Result<(), cicada_stats::DecodeError> {
        self.stats
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .merge_bytes(encoded)
    }
}

/// A running master.
pub struct Master {
    fleet: Arc<ClusterFleet>,
    local_addr: SocketAddr,
}

impl Master {
    /// Binds the cluster port and starts serving workers and the coordinator tick. Runs until
    /// `shutdown` is cancelled. Must run inside a tokio runtime.
    pub async fn start(
        config: MasterConfig,
        plan: Arc<Plan>,
        spec: ScenarioSpec,
        shutdown: CancellationToken,
    ) -> Result<Master, MasterError> {
        let tls = config.tls.server()?;
        let listener = TcpListener::bind(config.bind)
            .await
            .map_err(|error| MasterError::Bind {
                addr: config.bind,
                error,
            })?;
        let local_addr = listener.local_addr().map_err(|error| MasterError::Bind {
            addr: config.bind,
            error,
        })?;
        let state = State::new(&plan, spec.to_update(), config.default_rate);
        let shared = Arc::new(Shared {
            plan: Mutex::new(plan),
            state: Mutex::new(state),
            stats: Mutex::new(Interval::new()),
            token: config.token.clone().filter(|t| !t.is_empty()),
            timings: config.timings.clone(),
            spec: Mutex::new(spec),
        });
        let mut server = tonic::transport::Server::builder()
            // Dead peers are noticed even when the worker's process is frozen.
            .http2_keepalive_interval(Some(Duration::from_secs(5)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)));
        if let Some(tls) = tls {
            server = server
                .tls_config(tls)
                .map_err(|e| TlsError::Invalid(e.to_string()))?;
        }
        let service = ClusterServer::new(service::ClusterService {
            shared: shared.clone(),
        })
        // Statistics of 1,000 rows with histograms are far below this; it bounds a bad peer.
        .max_decoding_message_size(64 * 1024 * 1024);
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let served = server
                .add_service(service)
                .serve_with_incoming_shutdown(incoming, stop.cancelled())
                .await;
            if let Err(e) = served {
                tracing::error!("the cluster server stopped: {e}");
            }
        });
        tokio::spawn(tick_loop(shared.clone(), shutdown));
        Ok(Master {
            fleet: Arc::new(ClusterFleet { shared }),
            local_addr,
        })
    }

    /// The fleet to give to [`cicada_control::Controller::with_fleet`].
    pub fn fleet(&self) -> Arc<ClusterFleet> {
        self.fleet.clone()
    }

    /// The bound cluster address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

async fn tick_loop(shared: Arc<Shared>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_millis(100));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            _ = every.tick() => shared.lock().tick(&shared.timings),
        }
    }
}

/// The workers of a master, as a [`Fleet`].
pub struct ClusterFleet {
    shared: Arc<Shared>,
}

impl ClusterFleet {
    /// Resolves once a restarted master has given its workers time to report what they run
    /// (the adopt window), or at once after someone chose a user count.
    pub async fn settled(&self) {
        loop {
            if !self.shared.lock().in_adopt_window(&self.shared.timings) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Workers connected and heard from recently.
    pub fn ready_workers(&self) -> usize {
        let missing = self.shared.timings.missing_after;
        self.shared
            .lock()
            .workers
            .values()
            .filter(|e| e.tx.is_some() && e.last_seen.elapsed() < missing)
            .count()
    }
}

fn state_name(state: WorkerState) -> &'static str {
    match state {
        WorkerState::Unspecified | WorkerState::Ready => "ready",
        WorkerState::Spawning => "spawning",
        WorkerState::Running => "running",
        WorkerState::Stopped => "stopped",
        WorkerState::Stopping => "stopping",
    }
}

#[async_trait]
impl Fleet for ClusterFleet {
    fn set_users(&self, users: u64, spawn_rate: f64) {
        let plan = self
            .shared
            .plan
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut state = self.shared.lock();
        state.set_users(state::split(&plan, users), spawn_rate);
        state.desired.users = users;
        state.tick(&self.shared.timings);
    }

    fn stop(&self) {
        self.shared.lock().stop();
    }

    fn set_host(&self, host: &Url) -> Result<(), ControlError> {
        let update = {
            let mut spec = self
                .shared
                .spec
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let host = host.as_str().trim_end_matches('/').to_owned();
            if spec.host == host {
                return Ok(());
            }
            tracing::info!(from = %spec.host, to = %host, "changing the target host");
            spec.host = host;
            spec.to_update()
        };
        let mut state = self.shared.lock();
        state.scenario = update.clone();
        state.broadcast(&crate::proto::MasterMessage {
            kind: Some(master_message::Kind::Scenario(update)),
        });
        Ok(())
    }

    /// The open model: each worker gets its share of the rate and of the maximum of
    /// concurrent arrived users (see `arrivals`), re-split when workers come and go.
    fn set_arrivals(&self, arrivals: Option<cicada_engine::Arrivals>) -> Result<(), ControlError> {
        let mut state = self.shared.lock();
        state.arrivals = arrivals;
        state.tick(&self.shared.timings);
        Ok(())
    }

    fn arrival_counts(&self) -> Option<cicada_engine::ArrivalCounts> {
        let state = self.shared.lock();
        Some(state.arrival_counts())
    }

    /// Incident windows reach every worker (and every worker that connects later).
    fn set_task_mix(&self, mix: Option<&cicada_engine::TaskMix>) -> Result<(), ControlError> {
        let update = crate::mix::to_proto(mix);
        let mut state = self.shared.lock();
        state.mix = mix.map(|_| update.clone());
        state.broadcast(&crate::proto::MasterMessage {
            kind: Some(master_message::Kind::Mix(update)),
        });
        Ok(())
    }

    /// A reloaded scenario file: every worker (and every worker that connects later) gets
    /// the new scenario and swaps it in without restarting its users; per-type counts
    /// follow the new plan (see [`State::apply_plan`]).
    fn apply_plan(
        &self,
        plan: Arc<Plan>,
        text: Option<&cicada_control::ScenarioText>,
    ) -> Result<(), ControlError> {
        let Some(text) = text else {
            return Err(ControlError::Unsupported("reloading a built-in scenario"));
        };
        let update = {
            let mut spec = self
                .shared
                .spec
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            spec.source = crate::scenario::ScenarioSource::Yaml {
                origin: text.origin.clone(),
                text: text.text.clone(),
                files: text.files.clone(),
            };
            spec.to_update()
        };
        *self
            .shared
            .plan
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = plan.clone();
        let mut state = self.shared.lock();
        state.apply_plan(&plan, update.clone());
        state.broadcast(&crate::proto::MasterMessage {
            kind: Some(master_message::Kind::Scenario(update)),
        });
        // Assignments by the new type names follow the scenario on each stream.
        state.tick(&self.shared.timings);
        Ok(())
    }

    fn host(&self) -> Url {
        let spec = self
            .shared
            .spec
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Url::parse(&spec.host).unwrap_or_else(|_| Url::parse("http://invalid/").expect("static"))
    }

    fn status(&self) -> EngineStatus {
        let state = self.shared.lock();
        let mut by_type = vec![0u64; state.plan_types.len()];
        let mut assigned = 0u64;
        for e in state.workers.values() {
            for (b, r) in by_type.iter_mut().zip(&e.running) {
                *b += r;
            }
            assigned += e.assigned.iter().sum::<u64>();
        }
        let users: u64 = by_type.iter().sum();
        let target: u64 = state.desired.totals.iter().sum();
        let settled = state.workers.values().all(|e| e.running == e.assigned) && assigned == target;
        let engine_state = if state.desired.stopped {
            EngineState::Stopped
        } else if target == 0 && users == 0 {
            EngineState::Ready
        } else if settled {
            EngineState::Running
        } else {
            EngineState::Spawning
        };
        EngineStatus {
            state: engine_state,
            users,
            target,
            users_by_type: state.plan_types.iter().cloned().zip(by_type).collect(),
        }
    }

    fn take(&self) -> Interval {
        std::mem::take(
            &mut *self
                .shared
                .stats
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    fn workers(&self) -> Vec<WorkerInfo> {
        let state = self.shared.lock();
        let missing = self.shared.timings.missing_after;
        state
            .workers
            .iter()
            .map(|(id, e)| WorkerInfo {
                id: id.clone(),
                state: if e.tx.is_none() || e.last_seen.elapsed() >= missing {
                    "missing".to_owned()
                } else {
                    state_name(e.state).to_owned()
                },
                // Arrived users (the open model) are users on it too.
                users: e.running.iter().sum::<u64>() + u64::from(e.arrivals.last.active),
                cpu_percent: e.cpu_percent,
                memory_bytes: e.memory_bytes,
                last_seen: e
                    .last_seen_wall
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            })
            .collect()
    }

    fn worker_count(&self) -> usize {
        self.shared.lock().workers.len()
    }

    /// The master going away leaves workers running (a restarted master adopts them). After a
    /// stop (a run time that ended), waits up to `grace` for the workers' last statistics.
    async fn shutdown(&self, grace: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + grace.min(Duration::from_secs(5));
        loop {
            let done = {
                let state = self.shared.lock();
                !state.desired.stopped
                    || state
                        .workers
                        .values()
                        .all(|e| e.tx.is_none() || e.running.iter().all(|&n| n == 0))
            };
            if done || tokio::time::Instant::now() >= deadline {
                // One more statistics period, so the final reports arrive.
                if self.shared.lock().desired.stopped {
                    tokio::time::sleep(Duration::from_secs(3).min(grace)).await;
                }
                return done;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
