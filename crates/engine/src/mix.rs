//! Task mixes changed at run time: incident windows of a load shape multiply task weights
//! and add an extra task (typically one that fails) while they last.
//!
//! # Design: a cheap hot path
//!
//! Every user picks a task for every iteration, so the check "has the mix changed?" must
//! cost next to nothing. The engine keeps one [`MixCell`]: a generation counter (an atomic)
//! and the plan with its compiled mix behind a `RwLock<Arc<..>>`. Each user keeps a [`MixView`]
//! (the generation it saw and an `Arc` of that mix); per pick it does one atomic load, and
//! only when the generation moved does it take the read lock and clone the `Arc`. Changes
//! are rare (incident edges), so the write lock is practically never contended.
//!
//! The same cell carries the *plan*: a scenario reload swaps plan and mix together, as one
//! immutable [`Live`] value, and compiles the mix (kept by task and type names) again against
//! the new plan, so a user never reads one plan's indices through another's mix. A user's
//! view tells it when the plan itself changed, so that it moves to the new plan (see
//! `life.rs`).
//!
//! A compiled mix holds, per user type, a replacement [`TaskPicker`] over the type's tasks
//! plus the extra tasks that apply to it; extra task `k` of a type is index
//! `tasks.len() + k`. Types the mix does not touch keep `None` and use their own picker.
//! Sequential types (Locust's SequentialTaskSet) ignore mixes: their order is the point.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use http::Method;

use crate::plan::{Plan, TaskPicker};

/// Weights are scaled by this before rounding, so factors like 0.25 keep their meaning.
const WEIGHT_SCALE: f64 = 1000.0;

/// A request run as a task while an incident lasts, counted in the statistics under `name`.
#[derive(Clone, Debug, PartialEq)]
pub struct ExtraRequest {
    /// Statistics row name.
    pub name: Arc<str>,
    /// The method.
    pub method: Method,
    /// Path (and query) resolved against the user's host, e.g. `/api/v1/broken`.
    pub path: String,
    /// Weight among the user type's task weights.
    pub weight: u32,
    /// Only users of this type run it (`None`: every type).
    pub user_type: Option<String>,
}

/// How the task mix differs from the plan's: weight factors by task name and extra tasks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskMix {
    /// `(task name, factor)`: the task's weight is multiplied by the factor (0 switches it
    /// off); several entries for one name multiply.
    pub factors: Vec<(String, f64)>,
    /// Extra tasks.
    pub extras: Vec<ExtraRequest>,
}

impl TaskMix {
    /// True when the mix changes nothing.
    pub fn is_empty(&self) -> bool {
        self.factors.iter().all(|(_, f)| *f == 1.0) && self.extras.is_empty()
    }
}

/// A mix compiled against a plan.
#[derive(Debug)]
pub(crate) struct CompiledMix {
    /// Per plan entry: a replacement picker, or `None` to use the entry's own.
    pickers: Vec<Option<TaskPicker>>,
    /// Per plan entry: the extra tasks it may pick (after its own tasks).
    extras: Vec<Vec<ExtraRequest>>,
}

impl CompiledMix {
    fn compile(plan: &Plan, mix: &TaskMix) -> CompiledMix {
        let mut pickers = Vec::with_capacity(plan.entries().len());
        let mut extras = Vec::with_capacity(plan.entries().len());
        for entry in plan.entries() {
            let own: Vec<ExtraRequest> = mix
                .extras
                .iter()
                .filter(|x| x.weight > 0)
                .filter(|x| x.user_type.as_ref().is_none_or(|t| *t == entry.name))
                .cloned()
                .collect();
            let TaskPicker::Weighted { cumulative, .. } = &entry.picker else {
                pickers.push(None);
                extras.push(Vec::new());
                continue;
            };
            let touched = !own.is_empty()
                || cumulative.iter().any(|(_, i)| {
                    let name = &entry.tasks[*i].name;
                    mix.factors.iter().any(|(t, f)| t == name && *f != 1.0)
                });
            if !touched {
                pickers.push(None);
                extras.push(Vec::new());
                continue;
            }
            let mut total = 0u64;
            let mut table = Vec::with_capacity(cumulative.len() + own.len());
            // Only the tasks the tag filter allowed (those in the plan's own picker).
            for (_, i) in cumulative {
                let task = &entry.tasks[*i];
                let factor: f64 = mix
                    .factors
                    .iter()
                    .filter(|(t, _)| *t == task.name)
                    .map(|(_, f)| *f)
                    .product();
                total += scaled(f64::from(task.weight) * factor);
                if scaled(f64::from(task.weight) * factor) > 0 {
                    table.push((total, *i));
                }
            }
            for (k, x) in own.iter().enumerate() {
                let w = scaled(f64::from(x.weight));
                if w > 0 {
                    total += w;
                    table.push((total, entry.tasks.len() + k));
                }
            }
            // Everything switched off: keep the plan's own mix rather than idle users.
            pickers.push((total > 0).then_some(TaskPicker::Weighted {
                cumulative: table,
                total,
            }));
            extras.push(own);
        }
        CompiledMix { pickers, extras }
    }
}

/// `w * WEIGHT_SCALE`, rounded, saturating (weights are at most u32 times a bounded factor).
fn scaled(w: f64) -> u64 {
    let v = (w * WEIGHT_SCALE).round();
    if v.is_nan() || v <= 0.0 {
        0
    } else if v >= 1e15 {
        1_000_000_000_000_000
    } else {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // range checked
        let n = v as u64;
        n
    }
}

/// What users read at a task pick: the plan and the task mix compiled against it. Swapped
/// as one immutable value, so a user never combines a mix with the wrong plan's indices.
pub(crate) struct Live {
    plan: Arc<Plan>,
    compiled: Option<Arc<CompiledMix>>,
}

/// The cell's writable part: the live value and the mix as asked for (by names), kept to
/// compile it again against a new plan.
struct Slot {
    live: Arc<Live>,
    mix: Option<TaskMix>,
}

/// The engine's current plan and mix (see the module docs).
pub(crate) struct MixCell {
    generation: AtomicU64,
    current: RwLock<Slot>,
}

impl MixCell {
    /// A cell running `plan` with its own task mix.
    pub(crate) fn new(plan: Arc<Plan>) -> MixCell {
        MixCell {
            // Views start at generation 0, so their first pick reads the cell.
            generation: AtomicU64::new(1),
            current: RwLock::new(Slot {
                live: Arc::new(Live {
                    plan,
                    compiled: None,
                }),
                mix: None,
            }),
        }
    }

    /// Replaces the mix (`None` or an empty mix: the plan's own).
    pub(crate) fn set(&self, mix: Option<&TaskMix>) {
        let mut slot = self.current.write().unwrap_or_else(PoisonError::into_inner);
        slot.mix = mix.filter(|m| !m.is_empty()).cloned();
        let plan = slot.live.plan.clone();
        slot.live = Arc::new(Live {
            compiled: compile(&plan, slot.mix.as_ref()),
            plan,
        });
        drop(slot);
        // After the store: a reader that sees the new generation finds the new value.
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Replaces the plan (a scenario reload). The mix, kept by task and type names, is
    /// compiled again against the new plan, so its indices always match the plan's.
    pub(crate) fn set_plan(&self, plan: Arc<Plan>) {
        let mut slot = self.current.write().unwrap_or_else(PoisonError::into_inner);
        slot.live = Arc::new(Live {
            compiled: compile(&plan, slot.mix.as_ref()),
            plan,
        });
        drop(slot);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The plan users switch to at their next pick.
    pub(crate) fn plan(&self) -> Arc<Plan> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .live
            .plan
            .clone()
    }
}

fn compile(plan: &Plan, mix: Option<&TaskMix>) -> Option<Arc<CompiledMix>> {
    mix.map(|m| Arc::new(CompiledMix::compile(plan, m)))
}

/// One user's view of the cell.
pub(crate) struct MixView {
    generation: u64,
    live: Arc<Live>,
}

/// What to run next.
pub(crate) enum Pick<'a> {
    /// One of the type's tasks.
    Task(usize),
    /// An extra task.
    Extra(&'a ExtraRequest),
}

impl MixView {
    /// A view for a user started on `plan` (it reads the cell at its first pick).
    pub(crate) fn new(plan: Arc<Plan>) -> MixView {
        MixView {
            generation: 0,
            live: Arc::new(Live {
                plan,
                compiled: None,
            }),
        }
    }

    /// Catches up with the cell: one atomic load when nothing changed. Returns the new plan
    /// when the plan itself changed (a reload): the caller moves its user over to it (or
    /// retires it) before its next [`MixView::pick`], which then reads the new plan.
    pub(crate) fn refresh(&mut self, cell: &MixCell) -> Option<Arc<Plan>> {
        let generation = cell.generation.load(Ordering::Acquire);
        if generation == self.generation {
            return None;
        }
        let live = cell
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .live
            .clone();
        self.generation = generation;
        let changed = !Arc::ptr_eq(&live.plan, &self.live.plan);
        self.live = live;
        changed.then(|| self.live.plan.clone())
    }

    /// The plan of the last [`MixView::refresh`].
    #[cfg(test)]
    pub(crate) fn plan(&self) -> &Arc<Plan> {
        &self.live.plan
    }

    /// Picks the next task for a user of entry `type_idx` of the view's plan (the caller
    /// refreshes first).
    pub(crate) fn pick(&self, type_idx: usize, runs: u64, unit: f64) -> Pick<'_> {
        let plan = &self.live.plan;
        let Some(entry) = plan.entries().get(type_idx) else {
            return Pick::Task(0);
        };
        let Some(mix) = &self.live.compiled else {
            return Pick::Task(entry.picker.pick(runs, unit));
        };
        let Some(picker) = mix.pickers.get(type_idx).and_then(Option::as_ref) else {
            return Pick::Task(entry.picker.pick(runs, unit));
        };
        let index = picker.pick(runs, unit);
        match index.checked_sub(entry.tasks.len()) {
            None => Pick::Task(index),
            Some(k) => match mix.extras.get(type_idx).and_then(|x| x.get(k)) {
                Some(extra) => Pick::Extra(extra),
                None => Pick::Task(entry.picker.pick(runs, unit)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::TagFilter;
    use crate::user::{TaskInfo, User, UserType};

    struct Ty(&'static str);
    impl UserType for Ty {
        fn name(&self) -> &str {
            self.0
        }
        fn tasks(&self) -> Vec<TaskInfo> {
            vec![TaskInfo::new("a").weight(1), TaskInfo::new("b").weight(1)]
        }
        fn new_user(&self, _: u64) -> Box<dyn User> {
            unreachable!("not run")
        }
    }

    fn plan_of(names: &[&'static str]) -> Arc<Plan> {
        let types: Vec<Arc<dyn UserType>> = names
            .iter()
            .map(|n| Arc::new(Ty(n)) as Arc<dyn UserType>)
            .collect();
        Arc::new(Plan::new(types, &TagFilter::default()).unwrap())
    }

    fn plan() -> Arc<Plan> {
        plan_of(&["A", "B"])
    }

    fn histogram(cell: &MixCell, plan: &Arc<Plan>, type_idx: usize) -> [usize; 3] {
        let mut view = MixView::new(plan.clone());
        view.refresh(cell);
        let mut out = [0; 3];
        for i in 0..1000 {
            match view.pick(type_idx, 0, f64::from(i) / 1000.0) {
                Pick::Task(t) => out[t] += 1,
                Pick::Extra(_) => out[2] += 1,
            }
        }
        out
    }

    #[test]
    fn factors_and_extras_change_the_mix_until_cleared() {
        let plan = plan();
        let cell = MixCell::new(plan.clone());
        assert_eq!(histogram(&cell, &plan, 0), [500, 500, 0]);
        let mix = TaskMix {
            factors: vec![("a".into(), 3.0)],
            extras: vec![ExtraRequest {
                name: "broken".into(),
                method: Method::GET,
                path: "/broken".into(),
                weight: 4,
                user_type: Some("B".into()),
            }],
        };
        cell.set(Some(&mix));
        assert_eq!(histogram(&cell, &plan, 0), [750, 250, 0], "A: a weighs 3");
        assert_eq!(
            histogram(&cell, &plan, 1),
            [375, 125, 500],
            "B: + broken (4)"
        );
        // One view sees the change without being rebuilt.
        let mut view = MixView::new(plan.clone());
        assert!(view.refresh(&cell).is_none(), "same plan");
        assert!(matches!(view.pick(1, 0, 0.99), Pick::Extra(x) if &*x.name == "broken"));
        cell.set(None);
        assert!(view.refresh(&cell).is_none());
        assert!(matches!(view.pick(1, 0, 0.99), Pick::Task(1)));
    }

    #[test]
    fn a_new_plan_gets_the_mix_compiled_by_names() {
        let plan = plan();
        let cell = MixCell::new(plan.clone());
        let mix = TaskMix {
            factors: vec![],
            extras: vec![ExtraRequest {
                name: "broken".into(),
                method: Method::GET,
                path: "/broken".into(),
                weight: 2,
                user_type: Some("B".into()),
            }],
        };
        cell.set(Some(&mix));
        let mut view = MixView::new(plan.clone());
        view.refresh(&cell);
        // B moves from index 1 to index 0; C is new.
        let next = plan_of(&["B", "C"]);
        cell.set_plan(next.clone());
        assert!(Arc::ptr_eq(&cell.plan(), &next));
        let seen = view.refresh(&cell).expect("the plan changed");
        assert!(Arc::ptr_eq(&seen, &next));
        assert!(Arc::ptr_eq(view.plan(), &next));
        assert_eq!(
            histogram(&cell, &next, 0),
            [250, 250, 500],
            "B keeps its extra"
        );
        assert_eq!(histogram(&cell, &next, 1), [500, 500, 0], "C has none");
    }

    #[test]
    fn switching_everything_off_keeps_the_plan_mix() {
        let plan = plan();
        let cell = MixCell::new(plan.clone());
        let mix = TaskMix {
            factors: vec![("a".into(), 0.0), ("b".into(), 0.0)],
            extras: vec![],
        };
        cell.set(Some(&mix));
        assert_eq!(histogram(&cell, &plan, 0), [500, 500, 0]);
        let mix = TaskMix {
            factors: vec![("a".into(), 0.0)],
            extras: vec![],
        };
        cell.set(Some(&mix));
        assert_eq!(histogram(&cell, &plan, 0), [0, 1000, 0]);
    }
}
