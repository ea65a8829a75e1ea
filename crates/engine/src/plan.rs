//! The plan: the user types to run, each with its task table after tag filtering.
//!
//! Built once (at start, or when a new scenario is applied) and shared by all users in an
//! `Arc`; nothing in it changes while users run.

use std::collections::HashSet;
use std::sync::Arc;

use crate::trace::TaskTrace;
use cicada_scenario::Wait;

use crate::distribution::{Distribution, Share};
use crate::user::{TaskInfo, UserType};

/// `--tags` / `--exclude-tags`: a task runs when it has one of the included tags (or no
/// inclusion list is given) and none of the excluded ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagFilter {
    /// Run only tasks with at least one of these tags (empty: all tasks).
    pub include: Vec<String>,
    /// Never run tasks with any of these tags.
    pub exclude: Vec<String>,
}

impl TagFilter {
    /// Whether a task with these tags runs.
    pub fn allows(&self, tags: &[String]) -> bool {
        let included = self.include.is_empty() || tags.iter().any(|t| self.include.contains(t));
        included && !tags.iter().any(|t| self.exclude.contains(t))
    }
}

/// Why a plan cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlanError {
    /// No user types at all.
    #[error("the scenario has no user types")]
    NoUserTypes,
    /// Two types share a name.
    #[error("two user types are named `{0}`")]
    DuplicateName(String),
    /// A type declares no tasks.
    #[error("user type `{0}` has no tasks")]
    NoTasks(String),
    /// The tag filter left no task in any type.
    #[error("no task matches the tag filter (--tags/--exclude-tags)")]
    NothingToRun,
    /// Every remaining type has weight 0 and no fixed count.
    #[error("every user type has weight 0")]
    ZeroWeights,
}

/// Picks the next task of a user.
#[derive(Clone, Debug)]
pub enum TaskPicker {
    /// By weight: cumulative weights over the allowed tasks.
    Weighted {
        /// (cumulative weight, task index).
        cumulative: Vec<(u64, usize)>,
        /// Sum of the weights.
        total: u64,
    },
    /// In order, over the allowed tasks.
    Sequential(Vec<usize>),
}

impl TaskPicker {
    fn new(tasks: &[TaskInfo], filter: &TagFilter, sequential: bool) -> Option<TaskPicker> {
        let allowed: Vec<usize> = (0..tasks.len())
            .filter(|&i| filter.allows(&tasks[i].tags))
            .collect();
        if sequential {
            return (!allowed.is_empty()).then_some(TaskPicker::Sequential(allowed));
        }
        let mut total = 0u64;
        let mut cumulative = Vec::new();
        for i in allowed {
            if tasks[i].weight > 0 {
                total += u64::from(tasks[i].weight);
                cumulative.push((total, i));
            }
        }
        (total > 0).then_some(TaskPicker::Weighted { cumulative, total })
    }

    /// The task to run, given the number of tasks this user has run so far (for sequential
    /// types) and a uniform sample in `[0, 1)` (for weighted ones).
    pub fn pick(&self, runs: u64, unit: f64) -> usize {
        match self {
            TaskPicker::Sequential(order) => {
                // `order` is never empty (see `new`).
                let len = order.len() as u64;
                order[usize::try_from(runs % len).unwrap_or(0)]
            }
            TaskPicker::Weighted { cumulative, total } => {
                let point = ((unit.clamp(0.0, 1.0) * *total as f64) as u64).min(total - 1);
                let at = cumulative.partition_point(|(c, _)| *c <= point);
                cumulative[at.min(cumulative.len() - 1)].1
            }
        }
    }
}

/// One user type in a plan.
pub struct PlanEntry {
    /// The type (creates users).
    pub user_type: Arc<dyn UserType>,
    /// Its name (cached).
    pub name: String,
    /// All its tasks, as declared (indices match `run_task`).
    pub tasks: Vec<TaskInfo>,
    /// How its users pick tasks.
    pub picker: TaskPicker,
    /// Think time between tasks.
    pub wait: Wait,
    /// The trace data (`baggage`, span names) of each task (same indices as `tasks`).
    pub task_traces: Vec<Arc<TaskTrace>>,
    /// The trace data of `on_start` and `on_stop`.
    pub lifecycle_traces: [Arc<TaskTrace>; 2],
}

/// The user types to run and how users are distributed among them.
pub struct Plan {
    entries: Vec<PlanEntry>,
    distribution: Distribution,
}

impl Plan {
    /// Builds a plan. Types whose tasks are all filtered out by tags are left out; it is an error
    /// when nothing remains.
    pub fn new(types: Vec<Arc<dyn UserType>>, filter: &TagFilter) -> Result<Plan, PlanError> {
        if types.is_empty() {
            return Err(PlanError::NoUserTypes);
        }
        let mut names = HashSet::new();
        let mut entries = Vec::new();
        for ty in types {
            let name = ty.name().to_string();
            if !names.insert(name.clone()) {
                return Err(PlanError::DuplicateName(name));
            }
            let tasks = ty.tasks();
            if tasks.is_empty() {
                return Err(PlanError::NoTasks(name));
            }
            if let Some(picker) = TaskPicker::new(&tasks, filter, ty.sequential()) {
                let task_traces = tasks
                    .iter()
                    .map(|t| Arc::new(TaskTrace::new(&name, &t.name)))
                    .collect();
                let lifecycle_traces = [
                    Arc::new(TaskTrace::new(&name, "on_start")),
                    Arc::new(TaskTrace::new(&name, "on_stop")),
                ];
                entries.push(PlanEntry {
                    task_traces,
                    lifecycle_traces,
                    wait: ty.wait(),
                    user_type: ty,
                    name,
                    tasks,
                    picker,
                });
            }
        }
        if entries.is_empty() {
            return Err(PlanError::NothingToRun);
        }
        let shares: Vec<Share> = entries
            .iter()
            .map(|e| Share {
                weight: e.user_type.weight(),
                fixed: e.user_type.fixed_count(),
            })
            .collect();
        if shares.iter().all(|s| s.weight == 0 && s.fixed.is_none()) {
            return Err(PlanError::ZeroWeights);
        }
        Ok(Plan {
            distribution: Distribution::new(&shares),
            entries,
        })
    }

    /// The user types, in declaration order.
    pub fn entries(&self) -> &[PlanEntry] {
        &self.entries
    }

    /// How users are assigned to types.
    pub fn distribution(&self) -> &Distribution {
        &self.distribution
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks() -> Vec<TaskInfo> {
        vec![
            TaskInfo::new("a").weight(1).tag("read"),
            TaskInfo::new("b").weight(3).tag("write"),
            TaskInfo::new("c").weight(0),
        ]
    }

    #[test]
    fn weighted_pick_follows_weights() {
        let p = TaskPicker::new(&tasks(), &TagFilter::default(), false).unwrap();
        let mut counts = [0usize; 3];
        for i in 0..1000 {
            counts[p.pick(0, f64::from(i) / 1000.0)] += 1;
        }
        assert_eq!(counts, [250, 750, 0]);
        // The edges of the unit range stay in bounds.
        assert_eq!(p.pick(0, 0.0), 0);
        assert_eq!(p.pick(0, 0.999_999), 1);
        assert_eq!(p.pick(0, 1.0), 1);
    }

    #[test]
    fn sequential_cycles_in_order() {
        let p = TaskPicker::new(&tasks(), &TagFilter::default(), true).unwrap();
        let order: Vec<usize> = (0..6).map(|r| p.pick(r, 0.5)).collect();
        assert_eq!(order, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn tags_filter_tasks() {
        let only_read = TagFilter {
            include: vec!["read".into()],
            exclude: vec![],
        };
        let p = TaskPicker::new(&tasks(), &only_read, false).unwrap();
        assert_eq!(p.pick(0, 0.9), 0);
        let no_write = TagFilter {
            include: vec![],
            exclude: vec!["write".into(), "read".into()],
        };
        // Only the zero-weight task is left: nothing to pick.
        assert!(TaskPicker::new(&tasks(), &no_write, false).is_none());
    }
}
