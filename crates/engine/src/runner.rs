//! The spawner: keeps the number of running users at the target, at the spawn rate.
//!
//! One tokio task (the *spawner*) owns the list of running users in spawn order; nothing else
//! touches it, so there is no lock. The [`EngineHandle`] sends it commands over a channel and
//! reads its [`EngineStatus`] from a `watch` channel.
//!
//! - Scaling up spawns users at the spawn rate, each getting the user type the distribution
//!   assigns to its position (see [`crate::distribution`]).
//! - Scaling down retires the newest users, also at the spawn rate: a retired user finishes its
//!   current task, runs `on_stop`, and ends. It leaves the list at once, so counts are exact.
//! - `stop` ends every user after its current request (their `stop` tokens are cancelled).
//! - Shutdown (the token given to [`Engine::start`]) does the same, then waits for all users to
//!   end and marks the engine finished.
//!
//! Users that end on their own (a panic in a Rust user type) are replaced once a second, so a
//! buggy user cannot make the spawner spin.
//!
//! Next to the closed model, the spawner also runs the open model ([`crate::arrivals`]):
//! arrived users are started every `ARRIVAL_TICK` while a rate is set, outside the slot list,
//! so the closed-model counting above is unchanged. The task mix ([`crate::mix`]) is shared
//! with every user through an `Arc`; [`EngineHandle::set_task_mix`] swaps it without a
//! message to the spawner. A user's life itself is in `life.rs`.
//!
//! # Hot reload
//!
//! [`EngineHandle::apply_plan`] swaps the plan while users run (a changed scenario file). The
//! spawner publishes the new plan in the shared cell (users switch at their next task pick,
//! see `life.rs`), maps its slots to the new plan's types by name, retires the users whose
//! type is gone (after their current task, with `on_stop`), and derives the wanted users per
//! type again: from the new weights and fixed counts for a total (`set_users`), or by type
//! name for per-type counts (`set_users_by_type`: a master sends new ones). The usual pacing
//! then retires surpluses and starts missing users at the current spawn rate, so the total
//! holds. Users of a type that stays are never restarted.

use std::sync::Arc;
use std::time::Duration;

use cicada_stats::Recorder;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use url::Url;

use crate::arrivals::{ARRIVAL_TICK, ArrivalCounts, ArrivalState, Arrivals, SharedGate};
use crate::client::{Client, ClientBuildError, ClientConfig};
use crate::context::Context;
use crate::life::{Life, run_user};
use crate::mix::{MixCell, TaskMix};
use crate::plan::Plan;
use crate::spans::SpanExport;
use crate::timer_grid::TimerGrid;
use crate::trace::{TraceConfig, Tracer};

/// Largest number of users one engine accepts (a typo guard, far above what a process carries).
pub const MAX_USERS: u64 = 1_000_000;

/// How the engine reaches the target.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The base URL requests are resolved against.
    pub host: Url,
    /// HTTP client settings shared by all users.
    pub client: ClientConfig,
    /// Seed for the users' random number generators.
    pub seed: u64,
    /// Trace headers on requests.
    pub trace: TraceConfig,
    /// Where spans go with `--otel` (sampled requests and task runs); `None`: no spans.
    pub spans: Option<cicada_telemetry::otel::SpanQueue>,
}

/// What the engine is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineState {
    /// No users and none asked for.
    Ready,
    /// Moving towards the target user count.
    Spawning,
    /// At the target user count.
    Running,
    /// Stopped by `stop()`: users are ending.
    Stopped,
    /// Shut down for good.
    Finished,
}

/// A snapshot of the engine for displays and the master.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineStatus {
    /// Current state.
    pub state: EngineState,
    /// Users running now.
    pub users: u64,
    /// Users asked for.
    pub target: u64,
    /// Users running now per user type, in plan order.
    pub users_by_type: Vec<(String, u64)>,
}

enum Command {
    SetUsers { users: u64, rate: f64 },
    SetUsersByType { counts: Vec<u64>, rate: f64 },
    SetArrivals(Option<Arrivals>),
    ApplyPlan(Arc<Plan>),
    Stop,
}

/// Starts engines.
pub struct Engine;

impl Engine {
    /// Starts the spawner (with no users) on the current tokio runtime.
    ///
    /// Users stop promptly when `shutdown` is cancelled; [`EngineHandle::finished`] resolves
    /// once they all have ended.
    pub fn start(
        plan: Arc<Plan>,
        config: EngineConfig,
        recorder: Recorder,
        shutdown: CancellationToken,
    ) -> Result<EngineHandle, ClientBuildError> {
        let client = Client::new(config.client.clone())?;
        let (tx, rx) = mpsc::unbounded_channel();
        let initial = EngineStatus {
            state: EngineState::Ready,
            users: 0,
            target: 0,
            users_by_type: plan.entries().iter().map(|e| (e.name.clone(), 0)).collect(),
        };
        let (status_tx, status_rx) = watch::channel(initial);
        let finished = CancellationToken::new();
        let types = plan.entries().len();
        let mix = Arc::new(MixCell::new(plan.clone()));
        let arrivals = ArrivalState::new(plan.distribution().first(100), &shutdown);
        let gate = arrivals.gate.clone();
        let spawner = Spawner {
            plan,
            client,
            host: config.host.clone(),
            seed: config.seed,
            recorder,
            shutdown,
            status: status_tx,
            slots: Vec::new(),
            wanted: vec![0; types],
            running: vec![0; types],
            target: 0,
            total: Some(0),
            rate: 1.0,
            allowance: 0.0,
            next_user_id: 1,
            tracker: TaskTracker::new(),
            stopped: false,
            grid: TimerGrid::default(),
            trace: config.trace,
            spans: config.spans.map(|q| SpanExport::new(q, &config.host)),
            mix: mix.clone(),
            arrivals,
        };
        let done = finished.clone();
        tokio::spawn(async move {
            spawner.run(rx).await;
            done.cancel();
        });
        Ok(EngineHandle {
            commands: tx,
            status: status_rx,
            finished,
            mix,
            gate,
        })
    }
}

/// Drives a running engine. Cheap to clone.
#[derive(Clone)]
pub struct EngineHandle {
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<EngineStatus>,
    finished: CancellationToken,
    /// The plan and task mix users read (see [`crate::mix`]).
    mix: Arc<MixCell>,
    /// Open-model admission, shared with the spawner and arrived users.
    gate: SharedGate,
}

impl EngineHandle {
    /// Asks for `users` users, reached at `spawn_rate` users per second (both up and down).
    /// A rate that is not a positive number means "at once".
    pub fn set_users(&self, users: u64, spawn_rate: f64) {
        // A send error means the engine has shut down; there is nothing left to drive.
        let _ = self.commands.send(Command::SetUsers {
            users: users.min(MAX_USERS),
            rate: positive_or_infinite(spawn_rate),
        });
    }

    /// Asks for exactly `counts[i]` users of the plan's `i`-th user type (what a master assigns
    /// to one worker), reached at `spawn_rate` users per second. Missing entries mean 0; extra
    /// entries are ignored.
    pub fn set_users_by_type(&self, counts: Vec<u64>, spawn_rate: f64) {
        let _ = self.commands.send(Command::SetUsersByType {
            counts,
            rate: positive_or_infinite(spawn_rate),
        });
    }

    /// Starts the open model (`Some`): users arrive at `rate` per second, each runs
    /// `iterations` tasks and leaves, at most `max_users` at once (more arrivals are dropped
    /// and counted). `None` stops new arrivals; arrived users finish their tasks. Independent
    /// of [`EngineHandle::set_users`] (the closed model).
    pub fn set_arrivals(&self, arrivals: Option<Arrivals>) {
        let _ = self.commands.send(Command::SetArrivals(arrivals));
    }

    /// Open-model counters (all zero when it never ran).
    pub fn arrival_counts(&self) -> ArrivalCounts {
        self.gate.counts()
    }

    /// Changes the task mix of every user, at its next task pick (`None`: the plan's own).
    pub fn set_task_mix(&self, mix: Option<&TaskMix>) {
        self.mix.set(mix);
    }

    /// Runs `plan` from now on, without stopping users (a scenario reload; see the module
    /// docs). Users move to the new plan's type of the same name at their next task pick,
    /// keeping their session; users of types it lacks are retired; per-type counts follow
    /// the new plan at the spawn rate. The task mix (by names) applies to the new plan.
    pub fn apply_plan(&self, plan: Arc<Plan>) {
        let _ = self.commands.send(Command::ApplyPlan(plan));
    }

    /// The plan users run (or switch to at their next task pick).
    pub fn plan(&self) -> Arc<Plan> {
        self.mix.plan()
    }

    /// Stops every user after its current request (arrived users too, and new arrivals).
    /// `set_users` starts again.
    pub fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
    }

    /// The current status.
    pub fn status(&self) -> EngineStatus {
        self.status.borrow().clone()
    }

    /// A receiver that sees every status change.
    pub fn subscribe(&self) -> watch::Receiver<EngineStatus> {
        self.status.clone()
    }

    /// Resolves when the engine has shut down and every user has ended.
    pub async fn finished(&self) {
        self.finished.cancelled().await;
    }
}

/// A rate that is not a positive number means "at once".
fn positive_or_infinite(rate: f64) -> f64 {
    if rate.is_finite() && rate > 0.0 {
        rate
    } else {
        f64::INFINITY
    }
}

/// One running user, as the spawner tracks it.
struct Slot {
    type_idx: usize,
    /// Cancelled to end the user after its current request.
    stop: CancellationToken,
    /// Cancelled to end the user after its current task.
    retire: CancellationToken,
    task: JoinHandle<()>,
}

struct Spawner {
    plan: Arc<Plan>,
    client: Client,
    host: Url,
    seed: u64,
    recorder: Recorder,
    shutdown: CancellationToken,
    status: watch::Sender<EngineStatus>,
    /// Running users in spawn order; the newest is last.
    slots: Vec<Slot>,
    /// Users wanted per user type (plan order); `target` is their sum.
    wanted: Vec<usize>,
    /// Users running per user type (plan order), kept in step with `slots`.
    running: Vec<usize>,
    target: usize,
    /// The total asked for by `set_users` (`None`: per-type counts were given instead), to
    /// derive per-type counts again from a new plan.
    total: Option<usize>,
    rate: f64,
    /// Spawn (or retire) credit accumulated at `rate`.
    allowance: f64,
    next_user_id: u64,
    tracker: TaskTracker,
    stopped: bool,
    /// Where the users' think times end (shared, so they wake together).
    grid: TimerGrid,
    trace: TraceConfig,
    spans: Option<SpanExport>,
    mix: Arc<MixCell>,
    arrivals: ArrivalState,
}

impl Spawner {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut last = Instant::now();
        let mut last_arrival = Instant::now();
        let mut health = tokio::time::interval(Duration::from_secs(1));
        health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let adjusting = self.running != self.wanted;
            let arriving = self.arrivals.active();
            let tick = self.tick();
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => break,
                command = commands.recv() => match command {
                    Some(Command::SetUsers { users, rate }) => {
                        self.set_target(users, rate);
                        last = self.start_adjusting();
                    }
                    Some(Command::SetUsersByType { counts, rate }) => {
                        self.set_target_by_type(&counts, rate);
                        last = self.start_adjusting();
                    }
                    Some(Command::SetArrivals(settings)) => {
                        if !self.arrivals.active() {
                            last_arrival = Instant::now();
                        }
                        self.arrivals.set(settings);
                    }
                    Some(Command::ApplyPlan(plan)) => {
                        self.apply_plan(plan);
                        last = self.start_adjusting();
                    }
                    Some(Command::Stop) => self.stop_all(),
                    // Every handle is gone: nobody can drive us any more; run until shutdown.
                    None => {
                        self.shutdown.cancelled().await;
                        break;
                    }
                },
                _ = tokio::time::sleep(tick), if adjusting => {
                    let now = Instant::now();
                    self.adjust(now.duration_since(last).as_secs_f64());
                    last = now;
                }
                _ = tokio::time::sleep(ARRIVAL_TICK), if arriving => {
                    let now = Instant::now();
                    self.start_arrivals(now.duration_since(last_arrival));
                    last_arrival = now;
                }
                _ = health.tick() => self.replace_ended(),
            }
        }
        self.stop_all();
        self.publish(EngineState::Finished);
        self.tracker.close();
        self.tracker.wait().await;
    }

    /// After a new target: start the first users right away rather than after a tick.
    fn start_adjusting(&mut self) -> Instant {
        self.allowance = self.allowance.max(1.0);
        self.adjust(0.0);
        Instant::now()
    }

    /// Ticks are short enough to spread spawns evenly and long enough not to wake needlessly.
    fn tick(&self) -> Duration {
        let per_user = if self.rate.is_finite() {
            1.0 / self.rate
        } else {
            0.0
        };
        Duration::from_secs_f64(per_user.clamp(0.01, 0.1))
    }

    fn set_target(&mut self, users: u64, rate: f64) {
        let wanted = usize::try_from(users).unwrap_or(usize::MAX);
        // With only fixed-count types there may be fewer users than asked for.
        let counts = self
            .plan
            .distribution()
            .counts(wanted, self.plan.entries().len());
        self.apply_target(counts, rate);
        self.total = Some(wanted);
    }

    fn set_target_by_type(&mut self, counts: &[u64], rate: f64) {
        let mut budget = usize::try_from(MAX_USERS).unwrap_or(usize::MAX);
        let counts = (0..self.plan.entries().len())
            .map(|i| {
                let n = counts
                    .get(i)
                    .map_or(0, |&n| usize::try_from(n).unwrap_or(usize::MAX))
                    .min(budget);
                budget -= n;
                n
            })
            .collect();
        self.apply_target(counts, rate);
        self.total = None;
    }

    /// Swaps the plan (see "Hot reload" in the module docs).
    fn apply_plan(&mut self, plan: Arc<Plan>) {
        // First the cell: a user spawned below must not see the old plan as newer.
        self.mix.set_plan(plan.clone());
        let old = std::mem::replace(&mut self.plan, plan);
        let types = self.plan.entries().len();
        let to_new: Vec<Option<usize>> = old
            .entries()
            .iter()
            .map(|e| self.plan.entries().iter().position(|n| n.name == e.name))
            .collect();
        self.running = vec![0; types];
        let mut kept = Vec::with_capacity(self.slots.len());
        for mut slot in self.slots.drain(..) {
            match to_new.get(slot.type_idx).copied().flatten() {
                Some(t) => {
                    slot.type_idx = t;
                    self.running[t] += 1;
                    kept.push(slot);
                }
                // Ends after its current task (it notices the plan change itself too).
                None => slot.retire.cancel(),
            }
        }
        self.slots = kept;
        let wanted = match self.total {
            Some(total) if !self.stopped => self.plan.distribution().counts(total, types),
            _ => {
                let mut wanted = vec![0; types];
                for (i, &n) in self.wanted.iter().enumerate() {
                    if let Some(t) = to_new.get(i).copied().flatten() {
                        wanted[t] = n;
                    }
                }
                wanted
            }
        };
        self.target = wanted.iter().sum();
        self.wanted = wanted;
        self.arrivals.set_types(self.plan.distribution().first(100));
        tracing::debug!(
            retired = old.entries().len() - to_new.iter().flatten().count(),
            "applied a new plan"
        );
        self.publish_current();
    }

    /// Users already running keep running; only the difference per type is started or retired.
    fn apply_target(&mut self, wanted: Vec<usize>, rate: f64) {
        self.stopped = false;
        self.rate = rate;
        self.target = wanted.iter().sum();
        self.wanted = wanted;
        self.publish_current();
    }

    /// The user type to start next: the one with the smallest share of its wanted users
    /// running (ties: plan order), so types are interleaved rather than started in blocks (a
    /// block of one type would burst its logins).
    fn next_to_spawn(&self) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (t, (&want, &have)) in self.wanted.iter().zip(&self.running).enumerate() {
            if have >= want {
                continue;
            }
            // have/want < best_have/best_want, without division.
            let fuller = |b: usize| {
                (have as u128) * (self.wanted[b] as u128)
                    < (self.running[b] as u128) * (want as u128)
            };
            if best.is_none_or(fuller) {
                best = Some(t);
            }
        }
        best
    }

    /// The user type to retire one user of: the one with the largest surplus share.
    fn next_to_retire(&self) -> Option<usize> {
        let mut best: Option<usize> = None;
        for (t, (&want, &have)) in self.wanted.iter().zip(&self.running).enumerate() {
            if have <= want {
                continue;
            }
            // have/want > best_have/best_want (want 0: any surplus is total).
            let more = |b: usize| {
                (have as u128) * (self.wanted[b] as u128)
                    > (self.running[b] as u128) * (want as u128)
            };
            if best.is_none_or(more) {
                best = Some(t);
            }
        }
        best
    }

    /// Starts or retirements still needed to reach the wanted users (a start paired with a
    /// retirement of another type counts once).
    fn steps_left(&self) -> usize {
        let (mut starts, mut retires) = (0, 0);
        for (&want, &have) in self.wanted.iter().zip(&self.running) {
            starts += want.saturating_sub(have);
            retires += have.saturating_sub(want);
        }
        starts.max(retires)
    }

    /// Retires the newest user of `type_idx`: it finishes its current task and ends.
    fn retire_one(&mut self, type_idx: usize) {
        if let Some(pos) = self.slots.iter().rposition(|s| s.type_idx == type_idx) {
            let slot = self.slots.remove(pos);
            self.running[type_idx] -= 1;
            slot.retire.cancel();
        }
    }

    /// Moves towards the target by as many users as `elapsed` seconds at the rate allow.
    fn adjust(&mut self, elapsed: f64) {
        let steps = self.steps_left();
        if steps == 0 {
            self.allowance = 0.0;
            return;
        }
        let n = if self.rate.is_finite() {
            // Cap the credit so a long pause cannot release a burst.
            self.allowance = (self.allowance + self.rate * elapsed).min(self.rate.max(1.0));
            let n = self.allowance.floor();
            self.allowance -= n;
            n as usize
        } else {
            steps
        };
        // A change of mix at the same total moves users between types: each move is one start
        // and one retirement, paced like a start.
        for _ in 0..n.min(steps) {
            let spawn = self.next_to_spawn();
            let retire = self.next_to_retire();
            if spawn.is_none() && retire.is_none() {
                break;
            }
            if let Some(t) = retire {
                self.retire_one(t);
            }
            if let Some(t) = spawn {
                let slot = self.spawn_user(t);
                self.running[t] += 1;
                self.slots.push(slot);
            }
        }
        self.publish_current();
    }

    fn spawn_user(&mut self, type_idx: usize) -> Slot {
        let id = self.next_user_id;
        self.next_user_id += 1;
        let stop = self.shutdown.child_token();
        let retire = CancellationToken::new();
        let cx = Context::new(
            id,
            self.client.session(&self.host),
            self.recorder.clone(),
            stop.clone(),
            self.seed,
            self.grid,
            Tracer::new(self.trace, self.spans.clone(), id),
        );
        let task = self.tracker.spawn(run_user(
            Life {
                plan: self.plan.clone(),
                mix: self.mix.clone(),
                type_idx,
                id,
                iterations: None,
                _leave: None,
            },
            cx,
            retire.clone(),
        ));
        Slot {
            type_idx,
            stop,
            retire,
            task,
        }
    }

    /// Replaces users whose task ended by itself (a panic), keeping their position and type.
    fn replace_ended(&mut self) {
        for i in 0..self.slots.len() {
            if self.slots[i].task.is_finished() {
                tracing::warn!(
                    user_type = %self.plan.entries()[self.slots[i].type_idx].name,
                    "a user ended unexpectedly; starting a replacement"
                );
                let type_idx = self.slots[i].type_idx;
                self.slots[i] = self.spawn_user(type_idx);
            }
        }
    }

    /// Starts the open-model arrivals due after `elapsed` (see [`crate::arrivals`]).
    fn start_arrivals(&mut self, elapsed: Duration) {
        let iterations = self.arrivals.settings.map_or(1, |s| s.iterations.max(1));
        for (type_idx, leave) in self.arrivals.due(elapsed) {
            let id = self.next_user_id;
            self.next_user_id += 1;
            let cx = Context::new(
                id,
                self.client.session(&self.host),
                self.recorder.clone(),
                self.arrivals.stop.child_token(),
                self.seed,
                self.grid,
                Tracer::new(self.trace, self.spans.clone(), id),
            );
            let life = Life {
                plan: self.plan.clone(),
                mix: self.mix.clone(),
                type_idx,
                id,
                iterations: Some(iterations),
                _leave: Some(leave),
            };
            // Never retired: an arrival leaves after its iterations (or when stopped).
            self.tracker
                .spawn(run_user(life, cx, CancellationToken::new()));
        }
    }

    fn stop_all(&mut self) {
        self.arrivals.stop(&self.shutdown);
        for slot in self.slots.drain(..) {
            slot.stop.cancel();
        }
        self.target = 0;
        self.wanted.fill(0);
        self.running.fill(0);
        self.allowance = 0.0;
        self.stopped = true;
        self.publish_current();
    }

    fn publish_current(&self) {
        let state = if self.stopped {
            EngineState::Stopped
        } else if self.running != self.wanted {
            EngineState::Spawning
        } else if self.target == 0 {
            EngineState::Ready
        } else {
            EngineState::Running
        };
        self.publish(state);
    }

    fn publish(&self, state: EngineState) {
        let per_type = self.running.iter().map(|&n| n as u64);
        let status = EngineStatus {
            state,
            users: self.slots.len() as u64,
            target: self.target as u64,
            users_by_type: self
                .plan
                .entries()
                .iter()
                .zip(per_type)
                .map(|(e, n)| (e.name.clone(), n))
                .collect(),
        };
        self.status.send_if_modified(|current| {
            if *current == status {
                false
            } else {
                *current = status;
                true
            }
        });
    }
}

#[cfg(test)]
#[path = "runner_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "reload_tests.rs"]
mod reload_tests;
