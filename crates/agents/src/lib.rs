//! `dynaclaimz-agents`: the DynaClaimz traffic our users sent with Locust (`load-tests/`,
//! `dynaclaimz.md` sections 3.1-3.5), rewritten faithfully in cicada's Rust tier.
//!
//! Two user types at weight 50 each:
//! - [`QuoteAgent`](quote::QuoteAgent) (wait 1-3 s): creates quotes, converts them into
//!   policies once they are about 12 minutes old, browses quotes, and flips policies of about
//!   30 minutes between ACTIVE and CANCELLED (task weights 4:4:3:2);
//! - [`ClaimsAgent`](claims::ClaimsAgent) (wait 2-4 s): files claims against ACTIVE policies,
//!   reviews claims of about 18 minutes and approves or denies them, and browses claims
//!   (task weights 4:4:2).
//!
//! What they share lives in [`session`]: the start-up fetch of the seeded users (once per set
//! of user types, i.e. once per run of a process, shared by all users), login as a random seeded
//! user, re-login as another one every 5-15 tasks, the Group-A/Group-B User-Agent and the
//! per-user speed factor. [`age`] holds the age-weighted picking that makes the lifecycle
//! (quote → policy → claim → decision) unfold over tens of minutes.
//!
//! Deviations from the original, on purpose: the group hash is stable across processes (FNV-1a
//! instead of Python's salted `hash`); the start-up fetch goes through the user's own client, so
//! it is one statistics row (`Startup: Load Users`) and is retried with the engine's backoff
//! while the target is down instead of carrying on with an empty list.
//!
//! [`Agents::time_scale`] divides every think time, every wait and every target age, so tests
//! can watch the whole lifecycle in seconds. The `cicada` binary registers the default (1.0).

pub mod age;
pub mod claims;
pub mod quote;
pub mod session;
mod words;

#[cfg(test)]
mod lifecycle_tests;

use std::sync::Arc;

use cicada_engine::UserType;

use crate::session::{Directory, Settings};

/// The scenario's name in the `cicada` binary.
pub const SCENARIO_NAME: &str = "dynaclaimz-agents";

/// One line for `cicada validate --list`.
pub const DESCRIPTION: &str =
    "DynaClaimz QuoteAgent and ClaimsAgent (the original Locust generator, sections 3.1-3.5)";

/// Builds the agents' user types.
#[derive(Clone, Copy, Debug)]
pub struct Agents {
    time_scale: f64,
}

impl Default for Agents {
    fn default() -> Self {
        Agents { time_scale: 1.0 }
    }
}

impl Agents {
    /// The agents as the original ran them (time scale 1).
    pub fn new() -> Self {
        Agents::default()
    }

    /// Runs time faster: every think time, wait and target age is divided by `scale`. Values
    /// that are not finite or below 1e-3 are ignored (the scale stays as it was).
    pub fn time_scale(mut self, scale: f64) -> Self {
        if scale.is_finite() && scale >= 1e-3 {
            self.time_scale = scale;
        }
        self
    }

    /// A fresh QuoteAgent and ClaimsAgent sharing one directory of seeded users, so the users
    /// are fetched once for both.
    pub fn user_types(&self) -> Vec<Arc<dyn UserType>> {
        let settings = Settings {
            directory: Arc::new(Directory::default()),
            time_scale: self.time_scale,
        };
        vec![
            Arc::new(quote::QuoteAgent::new(settings.clone())) as Arc<dyn UserType>,
            Arc::new(claims::ClaimsAgent::new(settings)) as Arc<dyn UserType>,
        ]
    }
}

/// The default agents' user types (what the `cicada` binary registers).
pub fn user_types() -> Vec<Arc<dyn UserType>> {
    Agents::new().user_types()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_types_at_weight_50_with_the_original_task_weights() {
        let types = user_types();
        let names: Vec<&str> = types.iter().map(|t| t.name()).collect();
        assert_eq!(names, ["QuoteAgent", "ClaimsAgent"]);
        assert!(types.iter().all(|t| t.weight() == 50));
        let weights =
            |t: &Arc<dyn UserType>| -> Vec<u32> { t.tasks().iter().map(|i| i.weight).collect() };
        assert_eq!(weights(&types[0]), [4, 4, 3, 2]);
        assert_eq!(weights(&types[1]), [4, 4, 2]);
    }

    #[test]
    fn time_scale_ignores_nonsense() {
        assert_eq!(Agents::new().time_scale(f64::NAN).time_scale, 1.0);
        assert_eq!(Agents::new().time_scale(0.0).time_scale, 1.0);
        assert_eq!(Agents::new().time_scale(60.0).time_scale, 60.0);
    }
}
