//! What runs the users behind a [`crate::Controller`]: this process's engine ([`LocalFleet`],
//! standalone) or a cluster of workers (a master's coordinator, in the `cluster` crate).
//!
//! The controller keeps the desired state, the run time and the statistics; a fleet turns a
//! user count into running users somewhere and hands back what they measured. Both kinds report
//! the same [`EngineStatus`] and the same statistics intervals, so the UI, the API and the
//! reports cannot tell them apart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cicada_engine::{
    ArrivalCounts, Arrivals, Engine, EngineConfig, EngineHandle, EngineState, EngineStatus, Plan,
    TaskMix,
};
use cicada_stats::{Admission, Interval, Recorder};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::ControlError;
use crate::controller::lock;
use crate::process::{ProcessSampler, host_name};
use crate::reload::ScenarioText;

/// One process running users, as the Workers tab shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct WorkerInfo {
    /// Stable id (`--worker-id`, else the host name, which is the pod name on Kubernetes).
    pub id: String,
    /// `ready`, `spawning`, `running`, `stopped`, `stopping`, `missing` (silent for a few
    /// seconds) or `lost` (silent past the worker timeout; its users moved elsewhere).
    pub state: String,
    /// Users running on it.
    pub users: u64,
    /// CPU use of the process, percent of one core.
    pub cpu_percent: f64,
    /// Resident memory, bytes.
    pub memory_bytes: u64,
    /// Last sign of life, Unix seconds.
    pub last_seen: u64,
}

/// Runs users for a controller.
#[async_trait]
pub trait Fleet: Send + Sync + 'static {
    /// Asks for `users` users in total, reached at `spawn_rate` users per second.
    fn set_users(&self, users: u64, spawn_rate: f64);
    /// Stops every user after its current request.
    fn stop(&self);
    /// Points new users at `host` (current users end after their request).
    fn set_host(&self, host: &Url) -> Result<(), ControlError>;
    /// The current target host.
    fn host(&self) -> Url;
    /// Users running and wanted, in total and per user type (plan order).
    fn status(&self) -> EngineStatus;
    /// Everything measured since the last call.
    fn take(&self) -> Interval;
    /// The admission state of the recorder behind [`Fleet::take`], when the statistics that
    /// apply its intervals should tell it which rows they keep (see [`cicada_stats::Admission`]).
    /// `None` (the default) when the intervals come from elsewhere: a master's workers have
    /// recorders of their own.
    fn admission(&self) -> Option<Admission> {
        None
    }
    /// The processes running users.
    fn workers(&self) -> Vec<WorkerInfo>;
    /// How many processes run users (cheaper than [`Fleet::workers`]).
    fn worker_count(&self) -> usize {
        self.workers().len()
    }
    /// Stops users for good, waiting up to `grace` for their in-flight requests. False when
    /// some were still busy at the deadline.
    async fn shutdown(&self, grace: Duration) -> bool;

    /// Starts (`Some`) or ends (`None`) the open model: arrivals per second, capped. A fleet
    /// that cannot run it refuses (the default).
    fn set_arrivals(&self, arrivals: Option<Arrivals>) -> Result<(), ControlError> {
        match arrivals {
            None => Ok(()),
            Some(_) => Err(ControlError::Unsupported(
                "the open model (arrivals per second)",
            )),
        }
    }

    /// Open-model counters (`None` when this fleet does not run the open model).
    fn arrival_counts(&self) -> Option<ArrivalCounts> {
        None
    }

    /// Changes the task mix of every user (incident weight factors and extra tasks); `None`
    /// restores the plan's. A fleet that cannot refuses (the default).
    // A master forwards mixes to its workers (cluster crate); the open model on a cluster is
    // not there yet, so ClusterFleet keeps the arrivals defaults.
    fn set_task_mix(&self, mix: Option<&TaskMix>) -> Result<(), ControlError> {
        match mix {
            None => Ok(()),
            Some(_) => Err(ControlError::Unsupported(
                "incident task weights and extra tasks",
            )),
        }
    }

    /// Runs a new plan from now on without stopping users (a scenario reload): users move to
    /// the new plan's type of the same name at their next task pick, keeping their session;
    /// per-type counts follow the new plan at the spawn rate. `text` is the YAML scenario the
    /// plan was built from, for fleets that ship it to other processes. A fleet that cannot
    /// refuses (the default), and nothing changes.
    fn apply_plan(&self, plan: Arc<Plan>, text: Option<&ScenarioText>) -> Result<(), ControlError> {
        let _ = (plan, text);
        Err(ControlError::Unsupported("scenario reload"))
    }
}

/// How a worker's state is written in [`WorkerInfo::state`].
pub fn state_name(state: EngineState) -> &'static str {
    match state {
        EngineState::Ready => "ready",
        EngineState::Spawning => "spawning",
        EngineState::Running => "running",
        EngineState::Stopped => "stopped",
        EngineState::Finished => "stopping",
    }
}

struct Current {
    engine: EngineHandle,
    /// The plan the engine runs (a replacement engine starts with it).
    plan: Arc<Plan>,
    host: Url,
    /// Cancels this engine (and only it).
    stop: CancellationToken,
    /// The last task mix and open-model settings, given to a replacement engine too.
    mix: Option<TaskMix>,
    arrivals: Option<Arrivals>,
    /// Open-model counters of engines replaced by a host change (so totals never go back).
    retired_counts: ArrivalCounts,
}

/// The standalone fleet: one engine in this process.
///
/// A host change starts a new engine and stops the old one (its users end after their current
/// request); both record into the same recorder, so nothing measured is lost.
pub struct LocalFleet {
    base: EngineConfig,
    recorder: Recorder,
    current: Mutex<Current>,
    shutdown: CancellationToken,
    id: String,
    sampler: Mutex<ProcessSampler>,
}

impl LocalFleet {
    /// Starts the engine (with no users). Must run inside a tokio runtime; users stop when
    /// `shutdown` is cancelled.
    pub fn start(
        plan: Arc<Plan>,
        config: EngineConfig,
        shutdown: CancellationToken,
    ) -> Result<LocalFleet, ControlError> {
        let recorder = Recorder::new();
        let current = start_engine(&plan, &config, &recorder, &shutdown, config.host.clone())?;
        Ok(LocalFleet {
            base: config,
            recorder,
            current: Mutex::new(current),
            shutdown,
            id: host_name(),
            sampler: Mutex::new(ProcessSampler::new()),
        })
    }
}

fn start_engine(
    plan: &Arc<Plan>,
    base: &EngineConfig,
    recorder: &Recorder,
    shutdown: &CancellationToken,
    host: Url,
) -> Result<Current, ControlError> {
    let stop = shutdown.child_token();
    let config = EngineConfig {
        host: host.clone(),
        ..base.clone()
    };
    let engine = Engine::start(plan.clone(), config, recorder.clone(), stop.clone())
        .map_err(|e| ControlError::Engine(e.to_string()))?;
    Ok(Current {
        engine,
        plan: plan.clone(),
        host,
        stop,
        mix: None,
        arrivals: None,
        retired_counts: ArrivalCounts::default(),
    })
}

#[async_trait]
impl Fleet for LocalFleet {
    fn set_users(&self, users: u64, spawn_rate: f64) {
        lock(&self.current).engine.set_users(users, spawn_rate);
    }

    fn stop(&self) {
        lock(&self.current).engine.stop();
    }

    fn set_host(&self, host: &Url) -> Result<(), ControlError> {
        let mut current = lock(&self.current);
        if *host == current.host {
            return Ok(());
        }
        let replacement = start_engine(
            &current.plan,
            &self.base,
            &self.recorder,
            &self.shutdown,
            host.clone(),
        )?;
        tracing::info!(from = %current.host, to = %host, "changing the target host");
        current.stop.cancel();
        let old = current.engine.arrival_counts();
        let mut replacement = replacement;
        replacement.engine.set_task_mix(current.mix.as_ref());
        replacement.engine.set_arrivals(current.arrivals);
        replacement.mix = current.mix.take();
        replacement.arrivals = current.arrivals;
        replacement.retired_counts = ArrivalCounts {
            active: 0,
            arrived: current.retired_counts.arrived.saturating_add(old.arrived),
            dropped: current.retired_counts.dropped.saturating_add(old.dropped),
        };
        *current = replacement;
        Ok(())
    }

    fn host(&self) -> Url {
        lock(&self.current).host.clone()
    }

    fn status(&self) -> EngineStatus {
        lock(&self.current).engine.status()
    }

    fn take(&self) -> Interval {
        self.recorder.take()
    }

    fn admission(&self) -> Option<Admission> {
        Some(self.recorder.admission())
    }

    fn workers(&self) -> Vec<WorkerInfo> {
        let status = self.status();
        let sample = lock(&self.sampler).sample();
        vec![WorkerInfo {
            id: self.id.clone(),
            state: state_name(status.state).to_owned(),
            users: status.users,
            cpu_percent: sample.cpu_percent,
            memory_bytes: sample.memory_bytes,
            last_seen: crate::controller::unix_now(),
        }]
    }

    fn worker_count(&self) -> usize {
        1
    }

    fn set_arrivals(&self, arrivals: Option<Arrivals>) -> Result<(), ControlError> {
        let mut current = lock(&self.current);
        current.engine.set_arrivals(arrivals);
        current.arrivals = arrivals;
        Ok(())
    }

    fn arrival_counts(&self) -> Option<ArrivalCounts> {
        let current = lock(&self.current);
        let now = current.engine.arrival_counts();
        Some(ArrivalCounts {
            active: now.active,
            arrived: now.arrived.saturating_add(current.retired_counts.arrived),
            dropped: now.dropped.saturating_add(current.retired_counts.dropped),
        })
    }

    fn set_task_mix(&self, mix: Option<&TaskMix>) -> Result<(), ControlError> {
        let mut current = lock(&self.current);
        current.engine.set_task_mix(mix);
        current.mix = mix.cloned();
        Ok(())
    }

    /// The engine swaps plans in place (see `cicada_engine::runner`).
    fn apply_plan(
        &self,
        plan: Arc<Plan>,
        _text: Option<&ScenarioText>,
    ) -> Result<(), ControlError> {
        let mut current = lock(&self.current);
        current.engine.apply_plan(plan.clone());
        current.plan = plan;
        Ok(())
    }

    async fn shutdown(&self, grace: Duration) -> bool {
        let (engine, stop) = {
            let current = lock(&self.current);
            (current.engine.clone(), current.stop.clone())
        };
        stop.cancel();
        self.shutdown.cancel();
        tokio::time::timeout(grace, engine.finished()).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cicada_engine::{ExtraRequest, TagFilter};
    use cicada_testkit::RecordingServer;

    fn plan() -> Arc<Plan> {
        let text = "users:\n  - name: A\n    wait: { constant: 20ms }\n    tasks:\n      - { name: get, request: { path: /x } }\n";
        let scenario = cicada_scenario::parse_str(text, "t.yaml", std::path::Path::new("."))
            .expect("scenario parses");
        let types = cicada_engine::yaml::user_types(&Arc::new(scenario));
        Arc::new(Plan::new(types, &TagFilter::default()).expect("plan"))
    }

    async fn until(what: &str, f: impl Fn() -> bool) {
        for _ in 0..400 {
            if f() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for {what}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn arrivals_and_task_mixes_follow_a_host_change() {
        let a = RecordingServer::start().await.expect("server a");
        let b = RecordingServer::start().await.expect("server b");
        let fleet = LocalFleet::start(
            plan(),
            EngineConfig {
                host: Url::parse(&a.url()).expect("url"),
                client: cicada_engine::client::ClientConfig::default(),
                seed: 1,
                trace: cicada_engine::TraceConfig::default(),
                spans: None,
            },
            CancellationToken::new(),
        )
        .expect("fleet starts");
        fleet
            .set_arrivals(Some(Arrivals {
                rate: 20.0,
                iterations: 1,
                max_users: 5,
            }))
            .expect("open model");
        until("arrivals at a", || a.count() >= 3).await;
        let mix = TaskMix {
            factors: vec![("get".into(), 0.001)],
            extras: vec![ExtraRequest {
                name: "extra".into(),
                method: http::Method::GET,
                path: "/extra".into(),
                weight: 10,
                user_type: None,
            }],
        };
        fleet.set_task_mix(Some(&mix)).expect("mix");
        let before = fleet.arrival_counts().expect("counts").arrived;
        fleet
            .set_host(&Url::parse(&b.url()).expect("url"))
            .expect("host change");
        until("the extra task at b", || {
            b.records().iter().any(|r| r.path == "/extra")
        })
        .await;
        let after = fleet.arrival_counts().expect("counts");
        assert!(after.arrived > before, "totals keep counting: {after:?}");
        assert!(fleet.shutdown(Duration::from_secs(5)).await);
    }
}
