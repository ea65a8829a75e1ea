//! The open model: users *arrive* at a rate, run a few tasks and leave (k6's arrival-rate
//! executors), at most `max_users` at once; an arrival that finds them all busy is dropped
//! and counted.
//!
//! The spawner owns this state (a submodule of the runner, so it shares the spawner's
//! session factory, recorder and tokens): every [`ARRIVAL_TICK`] it asks an
//! [`ArrivalPacer`] how many arrivals are due at the current rate and admits each through
//! the [`ArrivalGate`]. Arrived users are not in the spawner's slot list (the closed model
//! is untouched); each holds a [`Leave`] guard that frees its place in the gate when its
//! task ends, however it ends. The gate sits behind a `Mutex` touched once per arrival and
//! once per departure, never per request.
//!
//! Rates are real-time arrivals per second: a `--time-scale` speeds up how the rate
//! *changes*, not the rate itself.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use cicada_scenario::shape::{ArrivalGate, ArrivalPacer};
use tokio_util::sync::CancellationToken;

/// How often due arrivals are started (short enough to spread them within a second).
pub const ARRIVAL_TICK: Duration = Duration::from_millis(50);

/// User types are assigned to arrivals from a cycle of this many positions of the plan's
/// distribution (bounded work, the same proportions as the closed model).
const TYPE_CYCLE: usize = 100;

/// Open-model settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Arrivals {
    /// Arrivals per second (real time).
    pub rate: f64,
    /// Tasks each arrived user runs before it leaves (at least 1).
    pub iterations: u32,
    /// At most this many arrived users at once.
    pub max_users: u32,
}

/// Open-model counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ArrivalCounts {
    /// Arrived users running now.
    pub active: u32,
    /// Arrivals admitted so far.
    pub arrived: u64,
    /// Arrivals dropped because `max_users` were busy.
    pub dropped: u64,
}

/// The gate shared by the spawner (arrive) and the arrived users (leave).
#[derive(Clone, Debug, Default)]
pub(crate) struct SharedGate(Arc<Mutex<ArrivalGate>>);

impl SharedGate {
    fn lock(&self) -> MutexGuard<'_, ArrivalGate> {
        // Plain counters; a panic while holding the lock leaves them usable.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn counts(&self) -> ArrivalCounts {
        let g = self.lock();
        ArrivalCounts {
            active: g.active(),
            arrived: g.arrived(),
            dropped: g.dropped(),
        }
    }
}

/// Frees an arrived user's place when dropped.
pub(crate) struct Leave(SharedGate);

impl Drop for Leave {
    fn drop(&mut self) {
        self.0.lock().leave();
    }
}

/// The spawner's open-model state.
pub(crate) struct ArrivalState {
    pub(crate) settings: Option<Arrivals>,
    pacer: ArrivalPacer,
    pub(crate) gate: SharedGate,
    /// Cancelled by `stop`: ends the arrived users after their current request.
    pub(crate) stop: CancellationToken,
    types: Vec<usize>,
    next: usize,
}

impl ArrivalState {
    pub(crate) fn new(types: Vec<usize>, shutdown: &CancellationToken) -> Self {
        let types = types.into_iter().take(TYPE_CYCLE).collect();
        ArrivalState {
            settings: None,
            pacer: ArrivalPacer::new(),
            gate: SharedGate::default(),
            stop: shutdown.child_token(),
            types,
            next: 0,
        }
    }

    /// Assigns arrivals from a new plan's distribution (a scenario reload).
    pub(crate) fn set_types(&mut self, types: Vec<usize>) {
        self.types = types.into_iter().take(TYPE_CYCLE).collect();
        self.next = 0;
    }

    /// Whether arrivals are due at some point (the spawner ticks only then).
    pub(crate) fn active(&self) -> bool {
        self.settings.is_some_and(|s| s.rate > 0.0)
    }

    pub(crate) fn set(&mut self, settings: Option<Arrivals>) {
        if let Some(s) = settings {
            self.gate.lock().set_max(s.max_users);
        }
        if settings.is_none() {
            self.pacer = ArrivalPacer::new();
        }
        self.settings = settings;
    }

    /// Ends every arrived user and forgets the settings.
    pub(crate) fn stop(&mut self, shutdown: &CancellationToken) {
        self.stop.cancel();
        self.stop = shutdown.child_token();
        self.set(None);
    }

    /// The arrivals due after `elapsed`: for each admitted one, the user type (plan index)
    /// and its [`Leave`] guard. Dropped ones are only counted.
    pub(crate) fn due(&mut self, elapsed: Duration) -> Vec<(usize, Leave)> {
        let Some(settings) = self.settings else {
            return Vec::new();
        };
        let n = self.pacer.due(settings.rate, elapsed);
        let mut out = Vec::new();
        let mut gate = self.gate.lock();
        for _ in 0..n {
            if self.types.is_empty() || !gate.arrive() {
                // No type can take users, or the cap is reached: dropped (and counted by
                // the gate when full).
                continue;
            }
            let t = self.types[self.next % self.types.len()];
            self.next = self.next.wrapping_add(1);
            out.push((t, Leave(self.gate.clone())));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_are_capped_dropped_and_released() {
        let shutdown = CancellationToken::new();
        let mut state = ArrivalState::new(vec![0, 1], &shutdown);
        assert!(!state.active());
        state.set(Some(Arrivals {
            rate: 5.0,
            iterations: 1,
            max_users: 3,
        }));
        assert!(state.active());
        let admitted = state.due(Duration::from_secs(1));
        let types: Vec<usize> = admitted.iter().map(|(t, _)| *t).collect();
        assert_eq!(types, vec![0, 1, 0]);
        assert_eq!(
            state.gate.counts(),
            ArrivalCounts {
                active: 3,
                arrived: 3,
                dropped: 2
            }
        );
        drop(admitted);
        assert_eq!(state.gate.counts().active, 0, "leaving frees the places");
        state.stop(&shutdown);
        assert!(!state.active());
        assert!(state.due(Duration::from_secs(1)).is_empty());
    }
}
