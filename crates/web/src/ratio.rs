//! "Current ratio": how users split over user types and tasks, as the plan says (weights and
//! fixed counts) and as it is now (users running per type).

use cicada_engine::Plan;
use cicada_engine::plan::TaskPicker;
use serde::Serialize;

/// One task's share.
#[derive(Serialize, Debug, PartialEq)]
pub(crate) struct TaskShare {
    pub(crate) name: String,
    pub(crate) weight: u32,
    /// Share among the type's task picks (0-1).
    pub(crate) share: f64,
    /// Share among all task picks of weighted users (type share × task share).
    pub(crate) total_share: f64,
}

/// One user type's share.
#[derive(Serialize, Debug, PartialEq)]
pub(crate) struct TypeShare {
    pub(crate) name: String,
    pub(crate) weight: u32,
    /// Exactly this many users, whatever the total.
    pub(crate) fixed_count: Option<u32>,
    /// Share of the weighted (not fixed) users (0-1; 0 for fixed-count types).
    pub(crate) share: f64,
    /// Users of this type running now.
    pub(crate) users: u64,
    /// Tasks run in declaration order instead of by weight.
    pub(crate) sequential: bool,
    pub(crate) tasks: Vec<TaskShare>,
}

/// `GET /api/ratio`.
#[derive(Serialize, Debug, PartialEq)]
pub(crate) struct Ratio {
    pub(crate) user_types: Vec<TypeShare>,
}

/// The plan's ratios, with `running` (users per type, from the controller's status).
pub(crate) fn ratio(plan: &Plan, running: &[(String, u64)]) -> Ratio {
    let weighted_total: u64 = plan
        .entries()
        .iter()
        .filter(|e| e.user_type.fixed_count().is_none())
        .map(|e| u64::from(e.user_type.weight()))
        .sum();
    let user_types = plan
        .entries()
        .iter()
        .map(|e| {
            let fixed_count = e.user_type.fixed_count();
            let weight = e.user_type.weight();
            let share = if fixed_count.is_none() && weighted_total > 0 {
                f64::from(weight) / weighted_total as f64
            } else {
                0.0
            };
            // (task index, weight, share within the type)
            let picks: Vec<(usize, u32, f64)> = match &e.picker {
                TaskPicker::Weighted { cumulative, total } => {
                    let mut previous = 0;
                    cumulative
                        .iter()
                        .map(|&(cum, i)| {
                            let w = cum - previous;
                            previous = cum;
                            let weight = u32::try_from(w).unwrap_or(u32::MAX);
                            (i, weight, w as f64 / (*total).max(1) as f64)
                        })
                        .collect()
                }
                TaskPicker::Sequential(order) => {
                    let n = order.len().max(1) as f64;
                    order.iter().map(|&i| (i, 1, 1.0 / n)).collect()
                }
            };
            let tasks = picks
                .into_iter()
                .filter_map(|(i, weight, task_share)| {
                    e.tasks.get(i).map(|t| TaskShare {
                        name: t.name.clone(),
                        weight,
                        share: task_share,
                        total_share: task_share * share,
                    })
                })
                .collect();
            TypeShare {
                users: running
                    .iter()
                    .find(|(n, _)| *n == e.name)
                    .map_or(0, |(_, u)| *u),
                name: e.name.clone(),
                weight,
                fixed_count,
                share,
                sequential: matches!(e.picker, TaskPicker::Sequential(_)),
                tasks,
            }
        })
        .collect();
    Ratio { user_types }
}
