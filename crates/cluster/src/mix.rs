//! The task mix (a load shape's incident window: weight factors and extra tasks) on the wire.

use std::sync::Arc;

use cicada_engine::mix::{ExtraRequest, TaskMix};

use crate::proto::{ExtraTask, TaskFactor, TaskMixUpdate};

/// The message for a mix (`None`: the scenario's own mix, sent as empty lists).
pub fn to_proto(mix: Option<&TaskMix>) -> TaskMixUpdate {
    let Some(mix) = mix else {
        return TaskMixUpdate::default();
    };
    TaskMixUpdate {
        factors: mix
            .factors
            .iter()
            .map(|(task, factor)| TaskFactor {
                task: task.clone(),
                factor: *factor,
            })
            .collect(),
        extras: mix
            .extras
            .iter()
            .map(|e| ExtraTask {
                name: e.name.to_string(),
                method: e.method.to_string(),
                path: e.path.clone(),
                weight: e.weight,
                user_type: e.user_type.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

/// The mix a message asks for (`None`: the scenario's own). Extra tasks with a method that does
/// not parse are left out (a master of the same version never sends one).
pub fn from_proto(update: &TaskMixUpdate) -> Option<TaskMix> {
    let mix = TaskMix {
        factors: update
            .factors
            .iter()
            .filter(|f| f.factor.is_finite() && f.factor >= 0.0)
            .map(|f| (f.task.clone(), f.factor))
            .collect(),
        extras: update
            .extras
            .iter()
            .filter_map(|e| {
                Some(ExtraRequest {
                    name: Arc::from(e.name.as_str()),
                    method: e.method.parse().ok()?,
                    path: e.path.clone(),
                    weight: e.weight,
                    user_type: (!e.user_type.is_empty()).then(|| e.user_type.clone()),
                })
            })
            .collect(),
    };
    (!mix.factors.is_empty() || !mix.extras.is_empty()).then_some(mix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_survives_the_wire_and_none_means_the_scenarios_own() {
        let mix = TaskMix {
            factors: vec![("Create quote".into(), 4.0), ("List".into(), 0.0)],
            extras: vec![ExtraRequest {
                name: Arc::from("Search timeout"),
                method: http::Method::GET,
                path: "/api/v1/search?q=slow".into(),
                weight: 2,
                user_type: Some("Agent".into()),
            }],
        };
        assert_eq!(from_proto(&to_proto(Some(&mix))), Some(mix));
        assert_eq!(from_proto(&to_proto(None)), None);
    }
}
