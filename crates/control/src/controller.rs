//! The controller (see the crate docs).

use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use cicada_engine::{ArrivalCounts, EngineConfig, EngineState, Plan};
use cicada_stats::{Stats, StatsConfig};
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::fleet::{Fleet, LocalFleet, WorkerInfo};
use crate::reload::{ScenarioStatus, ScenarioText};
use crate::shape_driver::{self, ShapeRun};

/// What a run is doing, as the UI shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Nothing started yet.
    Ready,
    /// Moving towards the desired user count.
    Spawning,
    /// At the desired user count.
    Running,
    /// Stopped (by the user, the API or the run time).
    Stopped,
}

/// Start or change a run.
#[derive(Clone, Debug, PartialEq)]
pub struct SwarmRequest {
    /// Users wanted.
    pub users: u64,
    /// Users started (or stopped) per second.
    pub spawn_rate: f64,
    /// A new target host (`None`: keep the current one).
    pub host: Option<Url>,
    /// Stop after this long from now (`None`: run until stopped).
    pub run_time: Option<Duration>,
}

/// A refused request; nothing running was changed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ControlError {
    /// More users than one process accepts.
    #[error("users must be at most {max}, got {got}")]
    TooManyUsers {
        /// What was asked.
        got: u64,
        /// The limit.
        max: u64,
    },
    /// A spawn rate that is not a positive number.
    #[error("spawn_rate must be a positive number of users per second, got {0}")]
    BadSpawnRate(f64),
    /// The engine could not be started (e.g. a bad CA file).
    #[error("cannot start the engine: {0}")]
    Engine(String),
    /// The fleet cannot do this (e.g. a master's workers and the open model, for now).
    #[error("{0} cannot run on this fleet yet")]
    Unsupported(&'static str),
    /// A shape action without a shape.
    #[error("no load shape is configured (use a `shape:` section or --shape FILE)")]
    NoShape,
    /// A shape that cannot run (e.g. a bad time scale), or a second shape.
    #[error("{0}")]
    Shape(String),
}

/// A snapshot of the run for displays and the API.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Status {
    /// What the run is doing.
    pub state: RunState,
    /// Users running now.
    pub users: u64,
    /// Users wanted.
    pub target_users: u64,
    /// Users running now per user type, in plan order.
    pub user_types: Vec<(String, u64)>,
    /// The current target host.
    pub host: String,
    /// The current spawn rate.
    pub spawn_rate: f64,
    /// When the current run stops by itself (Unix seconds), if it has a run time.
    pub stops_at: Option<u64>,
    /// Processes running users (standalone: 1; a master: its known workers).
    pub workers: usize,
    /// Open model (arrivals per second): arrivals admitted, dropped and running; `None`
    /// when the run has no open shape.
    pub arrivals: Option<ArrivalCounts>,
    /// Whether a load shape steers the run (`None`: no shape).
    pub shape: Option<shape_driver::ShapeState>,
    /// The shape's incidents active now (empty without a running shape).
    pub shape_incidents: Vec<String>,
    /// The shape's bursts running now (0 without a running shape).
    pub shape_bursts: u32,
    /// The scenario that runs and the outcome of the last reload.
    pub scenario: ScenarioStatus,
}

struct Desired {
    users: u64,
    spawn_rate: f64,
    /// When the run time ends, as a tokio instant (for the aggregator) and wall time (for UIs).
    deadline: Option<(Instant, SystemTime)>,
    stopped: bool,
    started: bool,
    /// An open shape steers arrivals (users come and go by themselves).
    open: bool,
}

struct Inner {
    /// Replaced by a scenario reload.
    plan: Mutex<Arc<Plan>>,
    scenario: Mutex<ScenarioStatus>,
    fleet: Arc<dyn Fleet>,
    stats: Mutex<Stats>,
    desired: Mutex<Desired>,
    shutdown: CancellationToken,
    ticks: watch::Sender<u64>,
    /// Bumped each time a run ends because its run time passed.
    run_ends: watch::Sender<u64>,
    /// The load shape, once attached (see [`Controller::attach_shape`]).
    shape: OnceLock<Arc<ShapeRun>>,
}

/// The control surface of one standalone run (cheap to clone).
#[derive(Clone)]
pub struct Controller {
    inner: Arc<Inner>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind; keep going.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Controller {
    /// Starts a standalone run: this process's engine (with no users) and the aggregator.
    /// Must run inside a tokio runtime. Everything stops when `shutdown` is cancelled; call
    /// [`Controller::shutdown`] to also wait for users and take the final statistics.
    pub fn start(
        plan: Arc<Plan>,
        config: EngineConfig,
        stats: StatsConfig,
        shutdown: CancellationToken,
    ) -> Result<Controller, ControlError> {
        let fleet = LocalFleet::start(plan.clone(), config, shutdown.clone())?;
        Ok(Controller::with_fleet(
            plan,
            Arc::new(fleet),
            stats,
            shutdown,
        ))
    }

    /// Steers users run by `fleet` (e.g. a master's workers). Must run inside a tokio runtime.
    pub fn with_fleet(
        plan: Arc<Plan>,
        fleet: Arc<dyn Fleet>,
        stats: StatsConfig,
        shutdown: CancellationToken,
    ) -> Controller {
        let mut stats = Stats::new(stats);
        // The recorder of a local engine learns which rows the statistics keep, so that names
        // beyond the row limit cost it no slot (see `cicada_stats::Admission`).
        if let Some(admission) = fleet.admission() {
            stats.publish_admission(admission);
        }
        let inner = Arc::new(Inner {
            plan: Mutex::new(plan),
            scenario: Mutex::new(ScenarioStatus {
                loaded_at: unix_now(),
                ..ScenarioStatus::default()
            }),
            fleet,
            stats: Mutex::new(stats),
            desired: Mutex::new(Desired {
                users: 0,
                spawn_rate: 1.0,
                deadline: None,
                stopped: false,
                started: false,
                open: false,
            }),
            shutdown,
            ticks: watch::channel(0).0,
            run_ends: watch::channel(0).0,
            shape: OnceLock::new(),
        });
        tokio::spawn(aggregate_loop(inner.clone()));
        Controller { inner }
    }

    /// The plan being run (the newest, after a scenario reload).
    pub fn plan(&self) -> Arc<Plan> {
        lock(&self.inner.plan).clone()
    }

    /// Names the scenario file the run uses and its digest (`origin: None` for a built-in
    /// scenario), as `status.scenario` shows them.
    pub fn set_scenario(&self, origin: Option<String>, digest: &str) {
        let mut scenario = lock(&self.inner.scenario);
        scenario.origin = origin;
        scenario.digest = digest.to_owned();
    }

    /// Applies a reloaded scenario's plan (see [`Fleet::apply_plan`]) and records the reload;
    /// `digest` identifies the file contents. Users are not stopped. When the fleet refuses,
    /// the reload is recorded as refused and the old plan keeps running.
    pub fn apply_plan(
        &self,
        plan: Arc<Plan>,
        text: Option<&ScenarioText>,
        digest: &str,
    ) -> Result<(), ControlError> {
        if let Err(e) = self.inner.fleet.apply_plan(plan.clone(), text) {
            self.reload_refused(digest, vec![e.to_string()]);
            return Err(e);
        }
        *lock(&self.inner.plan) = plan;
        lock(&self.inner.scenario).applied(digest, unix_now());
        Ok(())
    }

    /// Records a reload that was refused (the file does not parse, validate or plan): the
    /// old plan keeps running; `errors` show in the status.
    pub fn reload_refused(&self, digest: &str, errors: Vec<String>) {
        lock(&self.inner.scenario).refused(digest, unix_now(), errors);
    }

    /// Records that the file is back to the contents that run (`digest`) after a refused
    /// reload: the refusal is over (nothing is counted).
    pub fn reload_reverted(&self, digest: &str) {
        lock(&self.inner.scenario).reverted(digest, unix_now());
    }

    /// The scenario that runs and the outcome of the last reload.
    pub fn scenario(&self) -> ScenarioStatus {
        lock(&self.inner.scenario).clone()
    }

    /// Starts a run, or changes the running one (users, rate, host, run time). A host change
    /// replaces the engine: current users end after their request and new ones start against
    /// the new host at the spawn rate.
    ///
    /// While a load shape runs, this pauses it first (visibly, until
    /// [`Controller::resume_shape`]): users set by hand and the shape never fight.
    pub fn swarm(&self, request: SwarmRequest) -> Result<(), ControlError> {
        let max = cicada_engine::runner::MAX_USERS;
        if request.users > max {
            return Err(ControlError::TooManyUsers {
                got: request.users,
                max,
            });
        }
        if !(request.spawn_rate.is_finite() && request.spawn_rate > 0.0) {
            return Err(ControlError::BadSpawnRate(request.spawn_rate));
        }
        if let Some(host) = &request.host {
            self.inner.fleet.set_host(host)?;
        }
        self.pause_shape_for("users changed by hand");
        self.inner
            .fleet
            .set_users(request.users, request.spawn_rate);
        let mut desired = lock(&self.inner.desired);
        desired.users = request.users;
        desired.spawn_rate = request.spawn_rate;
        desired.stopped = false;
        desired.started = true;
        desired.open = false;
        desired.deadline = request
            .run_time
            .map(|t| (Instant::now() + t, SystemTime::now() + t));
        tracing::info!(
            users = request.users,
            spawn_rate = request.spawn_rate,
            run_time = ?request.run_time,
            "swarm"
        );
        Ok(())
    }

    /// Stops every user after its current request. [`Controller::swarm`] starts again. A
    /// running load shape is paused (resume it with [`Controller::resume_shape`]).
    pub fn stop(&self) {
        self.stop_because("stopped by hand");
    }

    fn stop_because(&self, reason: &str) {
        self.pause_shape_for(reason);
        self.inner.fleet.stop();
        let mut desired = lock(&self.inner.desired);
        desired.stopped = true;
        desired.deadline = None;
        tracing::info!("stopped");
    }

    /// Clears counts and failures (history is kept).
    pub fn reset_stats(&self) {
        // Drop what users recorded since the last aggregation too, so the reset is clean.
        let _ = self.inner.fleet.take();
        lock(&self.inner.stats).reset();
        tracing::info!("statistics reset");
    }

    /// The run's current status.
    pub fn status(&self) -> Status {
        // Before the desired state: the driver locks its state, then the desired state.
        let (shape, shape_incidents, shape_bursts) = match self.inner.shape.get() {
            Some(run) => {
                let st = lock(&run.state);
                let names = st
                    .mixed
                    .iter()
                    .filter_map(|i| run.shape.incidents.get(*i))
                    .map(|i| i.name.clone())
                    .collect();
                (Some(st.state), names, st.bursts)
            }
            None => (None, Vec::new(), 0),
        };
        let engine = self.inner.fleet.status();
        let host = self.inner.fleet.host().to_string();
        let desired = lock(&self.inner.desired);
        let state = if desired.stopped {
            RunState::Stopped
        } else if !desired.started && engine.target == 0 && engine.users == 0 {
            RunState::Ready
        } else {
            match engine.state {
                EngineState::Spawning => RunState::Spawning,
                EngineState::Running | EngineState::Ready => RunState::Running,
                EngineState::Stopped | EngineState::Finished => RunState::Stopped,
            }
        };
        let arrivals = if desired.open {
            self.inner.fleet.arrival_counts()
        } else {
            None
        };
        let active = arrivals.map_or(0, |a| u64::from(a.active));
        let (state, target) = if desired.open && !desired.stopped {
            // Arrived users come and go by themselves: there is no count to spawn towards.
            (RunState::Running, engine.target + active)
        } else {
            (state, engine.target)
        };
        Status {
            state,
            users: engine.users + active,
            target_users: target,
            arrivals,
            shape,
            shape_incidents,
            shape_bursts,
            user_types: engine.users_by_type,
            host,
            spawn_rate: desired.spawn_rate,
            stops_at: desired.deadline.and_then(|(_, wall)| {
                wall.duration_since(SystemTime::UNIX_EPOCH)
                    .ok()
                    .map(|d| d.as_secs())
            }),
            workers: self.inner.fleet.worker_count(),
            scenario: self.scenario(),
        }
    }

    /// The users asked for by the last [`Controller::swarm`]; `None` before the first one and
    /// after [`Controller::stop`]. Unlike [`Status::target_users`] (what the engine has taken on
    /// so far, updated by the engine's own task a moment later), this is set when `swarm`
    /// returns, so a display built right after a control action can show it.
    pub fn wanted_users(&self) -> Option<u64> {
        let desired = lock(&self.inner.desired);
        if desired.stopped || desired.open {
            return None;
        }
        if desired.started {
            return Some(desired.users);
        }
        // Users a master adopted from its workers before anyone asked for a number.
        let adopted = self.inner.fleet.status().target;
        (adopted > 0).then_some(adopted)
    }

    /// The processes running users (standalone: this one).
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.inner.fleet.workers()
    }

    /// Runs `f` with the statistics locked. Keep `f` short: the aggregator waits for it.
    pub fn with_stats<R>(&self, f: impl FnOnce(&Stats) -> R) -> R {
        f(&lock(&self.inner.stats))
    }

    /// A counter bumped after every aggregation (once a second): live views wait on it.
    pub fn ticks(&self) -> watch::Receiver<u64> {
        self.inner.ticks.subscribe()
    }

    /// Resolves the next time a run ends because its run time passed.
    pub async fn run_time_elapsed(&self) {
        let mut ends = self.inner.run_ends.subscribe();
        // Only a change after this call counts.
        ends.borrow_and_update();
        let _ = ends.changed().await;
    }

    /// Stops users, waits up to `grace` for their in-flight requests, and takes the final
    /// statistics. Returns false when some users were still busy at the deadline.
    pub async fn shutdown(&self, grace: Duration) -> bool {
        self.inner.shutdown.cancel();
        let finished = self.inner.fleet.shutdown(grace).await;
        aggregate(&self.inner);
        finished
    }
}

#[path = "controller_shape.rs"]
mod shape;

/// Now, as Unix seconds.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Once a second: move measurements into the statistics, enforce the run time, wake viewers.
async fn aggregate_loop(inner: Arc<Inner>) {
    let mut second = tokio::time::interval(Duration::from_secs(1));
    second.set_missed_tick_behavior(MissedTickBehavior::Delay);
    second.tick().await; // the first tick is immediate
    loop {
        tokio::select! {
            biased;
            _ = inner.shutdown.cancelled() => return,
            _ = second.tick() => {}
        }
        aggregate(&inner);
        let expired = {
            let desired = lock(&inner.desired);
            desired.deadline.is_some_and(|(at, _)| Instant::now() >= at)
        };
        if expired {
            tracing::info!("run time reached, stopping");
            Controller {
                inner: inner.clone(),
            }
            .stop_because("run time reached");
            inner.run_ends.send_modify(|n| *n += 1);
        }
        inner.ticks.send_modify(|n| *n += 1);
    }
}

fn aggregate(inner: &Inner) {
    let interval = inner.fleet.take();
    // Arrived users (open model) count as users in the history too.
    let arrived = inner
        .fleet
        .arrival_counts()
        .map_or(0, |a| u64::from(a.active));
    let users = inner.fleet.status().users + arrived;
    let mut stats = lock(&inner.stats);
    stats.apply(interval, SystemTime::now(), users);
    if let Some(warning) = stats.take_overflow_warning() {
        tracing::warn!("{warning}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cicada_engine::TagFilter;
    use cicada_engine::client::ClientConfig;
    use cicada_testkit::RecordingServer;

    const SCENARIO: &str = r#"
users:
  - name: A
    wait: { constant: 20ms }
    tasks:
      - { name: get, request: { path: /x } }
"#;

    fn plan() -> Arc<Plan> {
        let scenario = cicada_scenario::parse_str(SCENARIO, "test.yaml", std::path::Path::new("."))
            .expect("scenario parses");
        let types = cicada_engine::yaml::user_types(&Arc::new(scenario));
        Arc::new(Plan::new(types, &TagFilter::default()).expect("plan"))
    }

    fn controller(host: &str) -> Controller {
        Controller::start(
            plan(),
            EngineConfig {
                host: Url::parse(host).unwrap(),
                client: ClientConfig::default(),
                seed: 1,
                trace: cicada_engine::TraceConfig::default(),
                spans: None,
            },
            StatsConfig::default(),
            CancellationToken::new(),
        )
        .expect("controller starts")
    }

    async fn wait_for(c: &Controller, what: &str, f: impl Fn(&Status) -> bool) -> Status {
        for _ in 0..200 {
            let s = c.status();
            if f(&s) {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for {what}: {:?}", c.status());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn swarm_edit_stop_reset_and_host_change() {
        let a = RecordingServer::start().await.unwrap();
        let b = RecordingServer::start().await.unwrap();
        let c = controller(&a.url());
        assert_eq!(c.status().state, RunState::Ready);
        assert_eq!(c.wanted_users(), None);

        let bad = c.swarm(SwarmRequest {
            users: 1,
            spawn_rate: 0.0,
            host: None,
            run_time: None,
        });
        assert_eq!(bad, Err(ControlError::BadSpawnRate(0.0)));
        assert_eq!(
            c.status().state,
            RunState::Ready,
            "a refused request changes nothing"
        );

        c.swarm(SwarmRequest {
            users: 4,
            spawn_rate: 100.0,
            host: None,
            run_time: None,
        })
        .unwrap();
        assert_eq!(c.wanted_users(), Some(4), "known as soon as swarm returns");
        wait_for(&c, "4 users", |s| {
            s.users == 4 && s.state == RunState::Running
        })
        .await;
        // Edit while running.
        c.swarm(SwarmRequest {
            users: 2,
            spawn_rate: 100.0,
            host: None,
            run_time: None,
        })
        .unwrap();
        wait_for(&c, "2 users", |s| s.users == 2).await;

        // Measurements reach the statistics within a couple of aggregations.
        let mut ticks = c.ticks();
        ticks.changed().await.unwrap();
        ticks.changed().await.unwrap();
        assert!(c.with_stats(|s| s.total_requests()) > 0);

        // A new host replaces the engine; traffic moves over.
        c.swarm(SwarmRequest {
            users: 2,
            spawn_rate: 100.0,
            host: Some(Url::parse(&b.url()).unwrap()),
            run_time: None,
        })
        .unwrap();
        wait_for(&c, "2 users on b", |s| {
            s.users == 2 && s.host.starts_with(&b.url())
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let a_then = a.count();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(b.count() > 0, "traffic reaches the new host");
        assert!(a.count() <= a_then + 2, "the old host gets no new traffic");

        c.stop();
        assert_eq!(c.wanted_users(), None);
        wait_for(&c, "stopped", |s| {
            s.users == 0 && s.state == RunState::Stopped
        })
        .await;
        c.reset_stats();
        assert_eq!(c.with_stats(|s| s.total_requests()), 0);
        assert!(c.shutdown(Duration::from_secs(5)).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_run_time_stops_the_run() {
        let a = RecordingServer::start().await.unwrap();
        let c = controller(&a.url());
        let ended = c.run_time_elapsed();
        c.swarm(SwarmRequest {
            users: 2,
            spawn_rate: 100.0,
            host: None,
            run_time: Some(Duration::from_millis(1500)),
        })
        .unwrap();
        assert!(c.status().stops_at.is_some());
        tokio::time::timeout(Duration::from_secs(10), ended)
            .await
            .expect("the run ended by itself");
        wait_for(&c, "stopped", |s| {
            s.state == RunState::Stopped && s.users == 0
        })
        .await;
        assert!(c.shutdown(Duration::from_secs(5)).await);
    }
}
