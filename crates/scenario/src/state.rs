//! Per-user state: variables, the user's RNG, its `counter()`, its `data.NAME` rows.
//!
//! Templates need this state *inside* minijinja (functions such as `randint` draw from
//! the user's RNG), but minijinja values must be `'static + Send + Sync`. So the state
//! lives in a reference-counted [`UserCtx`] object that doubles as the template root
//! context: one `Arc` clone per request, no per-request map building. Its mutable part
//! sits behind a `Mutex` that is only ever taken by the one task owning the user (render
//! and evaluate take `&mut UserState`), so it is never contended; no lock is held while
//! calling back into minijinja, so it cannot deadlock.

use crate::Scenario;
use crate::convert::{json_to_value, materialize, value_to_json};
use crate::data::Dataset;
use minijinja::value::{Object, ObjectRepr};
use minijinja::{Environment, Value};
use rand::SeedableRng;
use rand::rngs::Xoshiro256PlusPlus;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use cicada_redact::{Secrets, is_secret_name};

/// The hidden root-context key under which functions find the user's context.
pub(crate) const CTX_KEY: &str = "__cicada_user";

/// What every user of a scenario shares: compiled templates, `vars`, `env`, datasets.
pub(crate) struct Globals {
    pub env: Environment<'static>,
    pub vars: Value,
    pub env_vars: Value,
    pub datasets: Vec<Dataset>,
    /// The scenario-wide secret values (see `secrets`), pinned in every user's set.
    pub secrets: Secrets,
    /// The names of the secret variables under `vars.` (for summaries; never their values).
    pub secret_names: Vec<String>,
}

impl Globals {
    pub fn dataset(&self, name: &str) -> Option<(usize, &Dataset)> {
        self.datasets
            .iter()
            .enumerate()
            .find(|(_, d)| d.name == name)
    }
}

impl fmt::Debug for Globals {
    // Never prints `vars`/`env` values: they may hold secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Globals")
            .field("datasets", &self.datasets.len())
            .finish_non_exhaustive()
    }
}

/// The mutable part of a user's state.
pub(crate) struct Inner {
    vars: HashMap<String, Value>,
    pub rng: Xoshiro256PlusPlus,
    pub counter: u64,
    /// The row this user drew from each dataset through `data.NAME` (drawn on first use).
    drawn: Vec<Option<Value>>,
    /// A drawn row's row has secret-named columns (`password`): their values, until
    /// [`UserState::secrets`] takes them into the user's set.
    drawn_secrets: Vec<String>,
}

/// A user's context: the template root object and the home of its state.
pub(crate) struct UserCtx {
    pub globals: Arc<Globals>,
    /// `user` in templates: `{ id: N }`.
    user: Value,
    inner: Mutex<Inner>,
}

impl UserCtx {
    /// Locks the user's state. A poisoned lock (a panic elsewhere) is recovered: the
    /// data is plain values and stays consistent.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The user's row of dataset `index`, drawing it on first use.
    fn drawn_row(&self, index: usize) -> Value {
        let Some(ds) = self.globals.datasets.get(index) else {
            return Value::UNDEFINED;
        };
        let mut inner = self.lock();
        if let Some(Some(v)) = inner.drawn.get(index) {
            return v.clone();
        }
        let row = ds.draw(&mut inner.rng);
        note_row_secrets(&row, &mut inner.drawn_secrets);
        if let Some(slot) = inner.drawn.get_mut(index) {
            *slot = Some(row.clone());
        }
        row
    }
}

impl fmt::Debug for UserCtx {
    // Never prints variables: they hold tokens and passwords.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<user context>")
    }
}

impl Object for UserCtx {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.get_value_by_str(key.as_str()?)
    }

    fn get_value_by_str(self: &Arc<Self>, key: &str) -> Option<Value> {
        match key {
            "vars" => Some(self.globals.vars.clone()),
            "env" => Some(self.globals.env_vars.clone()),
            "user" => Some(self.user.clone()),
            "data" => Some(Value::from_object(DataView(self.clone()))),
            CTX_KEY => Some(Value::from_dyn_object(self.clone())),
            _ => self.lock().vars.get(key).cloned(),
        }
    }
}

/// `data` in templates: `data.NAME` is this user's row of dataset NAME.
struct DataView(Arc<UserCtx>);

impl fmt::Debug for DataView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<data>")
    }
}

impl Object for DataView {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let (index, _) = self.0.globals.dataset(key.as_str()?)?;
        Some(self.0.drawn_row(index))
    }
}

/// One simulated user's variables and random state. Create one per user with
/// [`UserState::new`]; the engine passes it to every render/evaluate of that user.
pub struct UserState {
    pub(crate) ctx: Arc<UserCtx>,
    user_id: u64,
    /// The secret values this user knows: the scenario's, plus what it stored in secret-named
    /// variables (a token it extracted). Bounded (see `cicada_redact::Secrets`).
    secrets: Secrets,
}

impl fmt::Debug for UserState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserState")
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl UserState {
    /// A fresh user of `scenario`. Its RNG is seeded from the scenario seed and `user_id`,
    /// so the same seed and id give the same random choices and fake data.
    pub fn new(scenario: &Scenario, user_id: u64) -> Self {
        let rng = Xoshiro256PlusPlus::seed_from_u64(mix(scenario.seed(), user_id));
        let globals = scenario.globals.clone();
        let drawn = vec![None; globals.datasets.len()];
        let user = crate::convert::map_value([("id", Value::from(user_id))]);
        let inner = Inner {
            vars: HashMap::new(),
            rng,
            counter: 0,
            drawn,
            drawn_secrets: Vec::new(),
        };
        UserState {
            secrets: globals.secrets.clone(),
            ctx: Arc::new(UserCtx {
                globals,
                user,
                inner: Mutex::new(inner),
            }),
            user_id,
        }
    }

    /// This user's state moved into `scenario` (a reload of the scenario file): the same id,
    /// variables, RNG and `counter()`, with the new scenario's templates, `vars`, `env` and
    /// datasets. A row drawn from a dataset is kept when the new scenario has a dataset of
    /// that name (so a user keeps its identity); others are drawn again on first use.
    pub fn rebase(self, scenario: &Scenario) -> UserState {
        let globals = scenario.globals.clone();
        let old = self.ctx.globals.clone();
        let mut inner = self.ctx.lock();
        let drawn = globals
            .datasets
            .iter()
            .map(|d| {
                old.dataset(&d.name)
                    .and_then(|(i, _)| inner.drawn.get(i).cloned().flatten())
            })
            .collect();
        let moved = Inner {
            vars: std::mem::take(&mut inner.vars),
            rng: inner.rng.clone(),
            counter: inner.counter,
            drawn,
            drawn_secrets: std::mem::take(&mut inner.drawn_secrets),
        };
        drop(inner);
        // What the user learnt (its token) stays secret; the old scenario's secrets become
        // evictable and the new scenario's are pinned instead.
        let mut secrets = self.secrets;
        secrets.unpin_all();
        secrets.extend(&globals.secrets);
        UserState {
            secrets,
            ctx: Arc::new(UserCtx {
                globals,
                user: self.ctx.user.clone(),
                inner: Mutex::new(moved),
            }),
            user_id: self.user_id,
        }
    }

    /// The numeric id given to [`UserState::new`].
    pub fn user_id(&self) -> u64 {
        self.user_id
    }

    /// The secret values this user knows (to redact what it reports): the scenario's secret
    /// variables and the values of its own secret-named variables (`token`, `*_token`,
    /// `password`, ... see `cicada_redact::is_secret_name`), including the secret-named
    /// columns of the dataset rows it drew (`data.creds.password`). Its
    /// [`generation`](Secrets::generation) changes when a value is added.
    pub fn secrets(&mut self) -> &Secrets {
        let drawn = std::mem::take(&mut self.ctx.lock().drawn_secrets);
        for value in &drawn {
            self.secrets.add(value);
        }
        &self.secrets
    }

    /// Adds the values of `value` to the user's secrets when `name` is secret.
    fn note_secret(&mut self, name: &str, value: &Value) {
        if is_secret_name(name) {
            let secrets = &mut self.secrets;
            crate::secrets::value_leaves(value, 0, &mut |s| {
                secrets.add(s);
            });
        }
    }

    /// A user variable (set by `extract`, `set` or [`UserState::set_var`]) as JSON.
    pub fn get_var(&self, name: &str) -> Option<serde_json::Value> {
        self.ctx.lock().vars.get(name).map(value_to_json)
    }

    /// Sets a user variable (visible to templates as `name`).
    pub fn set_var(&mut self, name: &str, value: serde_json::Value) {
        self.set_value(name, json_to_value(&value));
    }

    /// Stores a template value, materialized into plain data first (see `convert`).
    pub(crate) fn set_value(&mut self, name: &str, value: Value) {
        self.set_plain(name, materialize(&value));
    }

    /// Stores a value that is already plain data (made from JSON).
    pub(crate) fn set_plain(&mut self, name: &str, value: Value) {
        self.note_secret(name, &value);
        self.ctx.lock().vars.insert(name.to_owned(), value);
    }

    /// Appends plain values (made from JSON) to a list variable, keeping at most `max`
    /// items (oldest dropped).
    pub(crate) fn push_values(&mut self, name: &str, new: Vec<Value>, max: usize) {
        let mut inner = self.ctx.lock();
        let mut items: Vec<Value> = match inner.vars.get(name) {
            Some(v) if v.kind() == minijinja::value::ValueKind::Seq => {
                v.try_iter().map(Iterator::collect).unwrap_or_default()
            }
            _ => Vec::new(),
        };
        if is_secret_name(name) {
            let secrets = &mut self.secrets;
            for v in &new {
                crate::secrets::value_leaves(v, 0, &mut |s| {
                    secrets.add(s);
                });
            }
        }
        items.extend(new);
        let excess = items.len().saturating_sub(max);
        items.drain(..excess);
        inner.vars.insert(name.to_owned(), Value::from(items));
    }

    /// The template root context for this user.
    pub(crate) fn root(&self) -> Value {
        Value::from_dyn_object(self.ctx.clone())
    }

    pub(crate) fn env(&self) -> &Environment<'static> {
        &self.ctx.globals.env
    }
}

/// Collects the values of a drawn row's secret-named columns (a row is a mapping of strings).
fn note_row_secrets(row: &Value, out: &mut Vec<String>) {
    let Ok(keys) = row.try_iter() else {
        return;
    };
    for key in keys.take(64) {
        if let Some(name) = key.as_str()
            && is_secret_name(name)
            && let Ok(v) = row.get_item(&key)
        {
            crate::secrets::value_leaves(&v, 0, &mut |s| out.push(s.to_owned()));
        }
    }
}

/// Combines the scenario seed and the user id into one well-mixed seed (splitmix64),
/// so neighbouring ids get unrelated streams.
fn mix(seed: u64, user_id: u64) -> u64 {
    let mut z = seed ^ user_id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebase_keeps_variables_and_rows_of_datasets_that_remain() {
        let old = crate::parse_str(
            "users:\n  - name: A\n    tasks:\n      - { name: t, request: { path: /a } }\n",
            "old.yaml",
            std::path::Path::new("."),
        )
        .expect("parses");
        let new = crate::parse_str(
            "vars: { v: 2 }\nusers:\n  - name: A\n    tasks:\n      - { name: t, request: { path: /b } }\n",
            "new.yaml",
            std::path::Path::new("."),
        )
        .expect("parses");
        let mut state = UserState::new(&old, 9);
        state.set_var("token", serde_json::json!("tok-1"));
        state.ctx.lock().counter = 5;
        let mut moved = state.rebase(&new);
        assert_eq!(moved.user_id(), 9);
        assert_eq!(moved.secrets().redact("tok-1"), cicada_redact::MARKER);
        assert_eq!(moved.get_var("token"), Some(serde_json::json!("tok-1")));
        assert_eq!(moved.ctx.lock().counter, 5);
        assert!(
            moved
                .ctx
                .globals
                .vars
                .get_attr("v")
                .is_ok_and(|v| !v.is_undefined())
        );
    }

    #[test]
    fn mix_differs_by_id_and_seed() {
        assert_ne!(mix(1, 1), mix(1, 2));
        assert_ne!(mix(1, 1), mix(2, 1));
        assert_eq!(mix(3, 4), mix(3, 4));
    }
}
