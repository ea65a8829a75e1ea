//! The master's picture of the cluster: the workers it knows, what each runs and is assigned,
//! and the desired users per user type. One mutex guards it; it is held only for short,
//! non-async sections (a message, a tick), never across an `.await`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

use cicada_engine::{ArrivalCounts, Arrivals, Plan};
use tokio::sync::mpsc;

use crate::master::arrivals::{self, Retired, WorkerArrivals};
use crate::master::balance;
use crate::proto::{
    Assignment, MasterMessage, ScenarioUpdate, Stop, TypeCount, WorkerState, master_message,
};

/// The users wanted, per user type (plan order).
#[derive(Clone, Debug)]
pub(crate) struct Desired {
    pub totals: Vec<u64>,
    /// The total last asked for (the totals split it by the plan's weights).
    pub users: u64,
    pub rate: f64,
    pub stopped: bool,
    /// Someone (the UI, the API, autostart) asked for a number. Until then the master adopts
    /// what workers report, and the desired totals are the sum of that.
    pub chosen: bool,
}

/// `users` split over the plan's types by their weights and fixed counts.
pub(crate) fn split(plan: &Plan, users: u64) -> Vec<u64> {
    let n = usize::try_from(users).unwrap_or(usize::MAX);
    plan.distribution()
        .counts(n, plan.entries().len())
        .into_iter()
        .map(|c| c as u64)
        .collect()
}

/// One worker as the master knows it.
pub(crate) struct WorkerEntry {
    /// Which stream is the current one (a newer connection replaces an older one).
    pub conn: u64,
    /// Messages to the worker; `None` while it is disconnected.
    pub tx: Option<mpsc::Sender<MasterMessage>>,
    pub last_seen: Instant,
    pub last_seen_wall: SystemTime,
    pub state: WorkerState,
    pub cpu_percent: f64,
    pub memory_bytes: u64,
    /// Users it reports running, per user type.
    pub running: Vec<u64>,
    /// Users the master wants on it, per user type.
    pub assigned: Vec<u64>,
    /// The last assignment sent on the current stream.
    pub sent: Option<Vec<u64>>,
    /// Statistics reports applied up to this sequence number.
    pub stats_applied: u64,
    /// The last problem it reported.
    pub error: String,
    /// Its open-model counters and the share of arrivals last sent.
    pub arrivals: WorkerArrivals,
}

/// Timings of the master.
#[derive(Clone, Debug)]
pub struct Timings {
    /// A worker silent this long shows as missing and gets no new users.
    pub missing_after: Duration,
    /// A worker silent this long is lost: its users move to the others.
    pub worker_timeout: Duration,
    /// After a start, how long reconnecting workers may report what they run before the
    /// master changes anything (so a restarted master adopts instead of doubling the load).
    pub adopt_window: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            missing_after: Duration::from_secs(3),
            worker_timeout: Duration::from_secs(10),
            adopt_window: Duration::from_secs(5),
        }
    }
}

pub(crate) struct State {
    pub plan_types: Vec<String>,
    pub scenario: ScenarioUpdate,
    /// The task mix a load shape's incident asks for (`None`: the scenario's own); sent to
    /// every worker when it changes and to every worker that connects.
    pub mix: Option<crate::proto::TaskMixUpdate>,
    /// The open model a load shape asks for (`None`: off), split over the workers.
    pub arrivals: Option<Arrivals>,
    /// Open-model counters of restarted and lost workers.
    pub retired_arrivals: Retired,
    pub desired: Desired,
    /// By worker id: a stable order for the split.
    pub workers: BTreeMap<String, WorkerEntry>,
    pub next_conn: u64,
    /// Spawn credit earned at the rate (see [`balance`]).
    budget: f64,
    last_tick: Instant,
    started: Instant,
    /// Sum of users adopted from workers (reported in the log once).
    adopted_logged: bool,
}

impl State {
    pub fn new(plan: &Plan, scenario: ScenarioUpdate, rate: f64) -> State {
        let plan_types: Vec<String> = plan.entries().iter().map(|e| e.name.clone()).collect();
        let now = Instant::now();
        State {
            desired: Desired {
                totals: vec![0; plan_types.len()],
                users: 0,
                rate,
                stopped: false,
                chosen: false,
            },
            plan_types,
            scenario,
            mix: None,
            arrivals: None,
            retired_arrivals: Retired::default(),
            workers: BTreeMap::new(),
            next_conn: 1,
            budget: 0.0,
            last_tick: now,
            started: now,
            adopted_logged: false,
        }
    }

    /// Per-type counts from a message, in plan order (unknown types are ignored).
    pub fn counts_of(&self, list: &[TypeCount]) -> Vec<u64> {
        let mut out = vec![0u64; self.plan_types.len()];
        for tc in list {
            if let Some(i) = self.plan_types.iter().position(|n| *n == tc.user_type) {
                out[i] = out[i].saturating_add(tc.users);
            }
        }
        out
    }

    /// Per-type counts as a message.
    pub fn type_counts(&self, counts: &[u64]) -> Vec<TypeCount> {
        self.plan_types
            .iter()
            .zip(counts)
            .map(|(name, &users)| TypeCount {
                user_type: name.clone(),
                users,
            })
            .collect()
    }

    /// True while a restarted master waits for its workers to report what they run.
    pub fn adopting(&self) -> bool {
        !self.desired.chosen
    }

    pub fn in_adopt_window(&self, timings: &Timings) -> bool {
        self.adopting() && self.started.elapsed() < timings.adopt_window
    }

    /// A new total from the UI, the API or autostart.
    pub fn set_users(&mut self, totals: Vec<u64>, rate: f64) {
        let first = !self.desired.chosen || self.desired.stopped;
        self.desired = Desired {
            users: totals.iter().sum(),
            totals,
            rate,
            stopped: false,
            chosen: true,
        };
        if first {
            // Start the first users at once rather than after a tick.
            self.budget = self.budget.max(1.0);
        }
    }

    /// A reloaded scenario: the new types by name, each worker's counts and the desired
    /// totals mapped to them. A total someone asked for is split again by the new plan's
    /// weights (so the total holds); adopted counts keep their types by name (a removed
    /// type's users are gone). Assignments are sent again, by the new names, at the next
    /// tick, after the scenario on each worker's stream.
    pub fn apply_plan(&mut self, plan: &Plan, scenario: ScenarioUpdate) {
        let names: Vec<String> = plan.entries().iter().map(|e| e.name.clone()).collect();
        let remap = |old: &[u64]| -> Vec<u64> {
            names
                .iter()
                .map(|n| {
                    self.plan_types
                        .iter()
                        .position(|o| o == n)
                        .and_then(|i| old.get(i).copied())
                        .unwrap_or(0)
                })
                .collect()
        };
        let totals = if self.desired.chosen && !self.desired.stopped {
            split(plan, self.desired.users)
        } else {
            remap(&self.desired.totals)
        };
        for e in self.workers.values_mut() {
            e.running = remap(&e.running);
            e.assigned = remap(&e.assigned);
            e.sent = None;
        }
        self.desired.totals = totals;
        self.plan_types = names;
        self.scenario = scenario;
    }

    /// Sends `message` to every connected worker.
    pub fn broadcast(&self, message: &MasterMessage) {
        for e in self.workers.values() {
            if let Some(tx) = &e.tx {
                let _ = tx.try_send(message.clone());
            }
        }
    }

    /// Stops every user; workers hear it at once.
    pub fn stop(&mut self) {
        self.desired.stopped = true;
        self.desired.chosen = true;
        self.desired.totals.fill(0);
        // A stopped worker ends its arrivals too: what it was sent is "off" now.
        self.arrivals = None;
        for entry in self.workers.values_mut() {
            entry.assigned.fill(0);
            entry.sent = Some(entry.assigned.clone());
            entry.arrivals.sent = Some(crate::proto::ArrivalsUpdate::default());
            if let Some(tx) = &entry.tx {
                let _ = tx.try_send(MasterMessage {
                    kind: Some(master_message::Kind::Stop(Stop {})),
                });
            }
        }
    }

    /// Once every 100 ms: drop lost workers, move users towards the split at the spawn rate,
    /// and send changed assignments.
    pub fn tick(&mut self, timings: &Timings) {
        let now = Instant::now();
        let dt = now.duration_since(self.last_tick).as_secs_f64();
        self.last_tick = now;
        self.drop_lost(timings, now);
        if self.in_adopt_window(timings) {
            return;
        }
        if self.adopting() && !self.adopted_logged {
            self.adopted_logged = true;
            let total: u64 = self.desired.totals.iter().sum();
            if total > 0 {
                tracing::info!(
                    users = total,
                    workers = self.workers.len(),
                    "adopted the users the workers run"
                );
            }
        }
        if !self.desired.stopped {
            self.balance(timings, now, dt);
        }
        self.send_assignments();
        self.send_arrivals(timings, now);
    }

    /// The cluster's open-model counters (see `arrivals`).
    pub fn arrival_counts(&self) -> ArrivalCounts {
        self.retired_arrivals
            .total(self.workers.values().map(|e| &e.arrivals))
    }

    /// Sends each worker that takes new users its share of the arrivals when it changed (or
    /// was never sent on this stream: a worker that reconnects learns that they are off).
    fn send_arrivals(&mut self, timings: &Timings, now: Instant) {
        let eligible: Vec<String> = self
            .workers
            .iter()
            .filter(|(_, e)| Self::eligible(e, timings, now))
            .map(|(id, _)| id.clone())
            .collect();
        let shares = arrivals::shares(self.arrivals.as_ref(), eligible.len());
        for (id, share) in eligible.iter().zip(shares) {
            if let Some(e) = self.workers.get_mut(id)
                && e.arrivals.sent.as_ref() != Some(&share)
                && let Some(tx) = &e.tx
                && tx
                    .try_send(MasterMessage {
                        kind: Some(master_message::Kind::Arrivals(share)),
                    })
                    .is_ok()
            {
                e.arrivals.sent = Some(share);
            }
        }
    }

    fn drop_lost(&mut self, timings: &Timings, now: Instant) {
        let lost: Vec<String> = self
            .workers
            .iter()
            .filter(|(_, e)| now.duration_since(e.last_seen) >= timings.worker_timeout)
            .map(|(id, _)| id.clone())
            .collect();
        for id in lost {
            if let Some(e) = self.workers.remove(&id) {
                self.retired_arrivals.keep(&e.arrivals.last);
                tracing::warn!(
                    worker_id = %id,
                    users = e.running.iter().sum::<u64>(),
                    timeout = ?timings.worker_timeout,
                    "worker lost (silent past the worker timeout); its users move to the others"
                );
            }
        }
    }

    /// Whether a worker can take new users: connected and heard from recently.
    fn eligible(e: &WorkerEntry, timings: &Timings, now: Instant) -> bool {
        e.tx.is_some()
            && now.duration_since(e.last_seen) < timings.missing_after
            && e.state != WorkerState::Stopping
    }

    fn balance(&mut self, timings: &Timings, now: Instant, dt: f64) {
        let rate = self.desired.rate;
        // Missing workers keep what they have (they probably still run it); the rest of the
        // desired users are split over the eligible ones.
        let mut remaining = self.desired.totals.clone();
        let mut eligible = Vec::new();
        for (id, e) in &self.workers {
            if Self::eligible(e, timings, now) {
                eligible.push(id.clone());
            } else {
                for (r, a) in remaining.iter_mut().zip(&e.assigned) {
                    *r = r.saturating_sub(*a);
                }
            }
        }
        let target = balance::ideal(&remaining, eligible.len());
        let mut current: Vec<Vec<u64>> = eligible
            .iter()
            .filter_map(|id| self.workers.get(id).map(|e| e.assigned.clone()))
            .collect();
        if balance::settled(&current, &target) {
            self.budget = 0.0;
            return;
        }
        let budget = if rate.is_finite() {
            // Cap the credit so a pause cannot release a burst.
            self.budget = (self.budget + rate * dt).min(rate.max(1.0));
            self.budget.floor() as u64
        } else {
            u64::MAX
        };
        let used = balance::step(&mut current, &target, budget);
        if rate.is_finite() {
            self.budget -= used as f64;
        }
        for (id, assigned) in eligible.iter().zip(current) {
            if let Some(e) = self.workers.get_mut(id) {
                e.assigned = assigned;
            }
        }
    }

    fn send_assignments(&mut self) {
        let rate = self.desired.rate;
        let messages: Vec<(String, MasterMessage)> = self
            .workers
            .iter()
            .filter(|(_, e)| e.tx.is_some() && e.sent.as_ref() != Some(&e.assigned))
            .map(|(id, e)| (id.clone(), self.assignment(&e.assigned, rate)))
            .collect();
        for (id, message) in messages {
            if let Some(e) = self.workers.get_mut(&id)
                && let Some(tx) = &e.tx
                && tx.try_send(message).is_ok()
            {
                e.sent = Some(e.assigned.clone());
            }
        }
    }

    /// An assignment message. Each worker may start users as fast as the global rate: the
    /// master never hands out more than the rate allows in total.
    pub fn assignment(&self, counts: &[u64], rate: f64) -> MasterMessage {
        MasterMessage {
            kind: Some(master_message::Kind::Assign(Assignment {
                users: self.type_counts(counts),
                spawn_rate: if rate.is_finite() { rate } else { 0.0 },
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn plan(types: &[(&str, u32)]) -> Plan {
        let mut text = String::from("users:\n");
        for (name, weight) in types {
            text.push_str(&format!(
                "  - name: {name}\n    weight: {weight}\n    tasks:\n      - {{ name: t, request: {{ path: /x }} }}\n"
            ));
        }
        let scenario =
            cicada_scenario::parse_str(&text, "t.yaml", std::path::Path::new(".")).expect("parses");
        Plan::new(
            cicada_engine::yaml::user_types(&Arc::new(scenario)),
            &cicada_engine::TagFilter::default(),
        )
        .expect("plan")
    }

    #[test]
    fn a_new_plan_splits_the_asked_total_again_and_adopted_counts_go_by_name() {
        let old = plan(&[("A", 3), ("B", 1)]);
        let mut state = State::new(&old, ScenarioUpdate::default(), 1.0);
        state.set_users(split(&old, 8), 1.0);
        assert_eq!(state.desired.totals, [6, 2]);
        let new = plan(&[("C", 1), ("A", 1)]);
        state.apply_plan(&new, ScenarioUpdate::default());
        assert_eq!(state.plan_types, ["C", "A"]);
        assert_eq!(
            state.desired.totals,
            [4, 4],
            "8 users split by the new weights"
        );

        // Before anyone asked for a number (adopted counts): kept by type name.
        let mut adopted = State::new(&old, ScenarioUpdate::default(), 1.0);
        adopted.desired.totals = vec![5, 1];
        adopted.apply_plan(&new, ScenarioUpdate::default());
        assert_eq!(adopted.desired.totals, [0, 5]);
    }
}
