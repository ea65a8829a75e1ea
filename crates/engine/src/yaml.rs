//! The YAML tier: a compiled [`cicada_scenario::Scenario`] as engine user types.
//!
//! The scenario crate does the pure work (rendering a request from templates and user
//! variables, judging a response: expected statuses, checks, extraction); this module only
//! sequences steps and sends requests through the [`Context`].
//!
//! On a reload of the scenario file, [`UserType::adopt`] moves a running user's
//! [`UserState`] (variables such as the token `on_start` extracted, its RNG and counter,
//! its dataset rows) into a user of the new scenario's type of the same name, so users do
//! not log in again.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use cicada_scenario::{
    FailureKind as StepKind, ResponseView, Scenario, Step, StepFailure, UserState,
};
use cicada_stats::{Failure, FailureKind, RequestKey};

use crate::context::Context;
use crate::user::{TaskError, TaskInfo, User, UserType};

/// The user types of a scenario, in file order.
pub fn user_types(scenario: &Arc<Scenario>) -> Vec<Arc<dyn UserType>> {
    (0..scenario.user_types.len())
        .map(|index| {
            let spec = &scenario.user_types[index];
            let tasks = spec
                .tasks
                .iter()
                .map(|t| TaskInfo {
                    name: t.name.clone(),
                    weight: t.weight,
                    tags: t.tags.clone(),
                })
                .collect();
            Arc::new(YamlUserType {
                scenario: scenario.clone(),
                index,
                tasks,
            }) as Arc<dyn UserType>
        })
        .collect()
}

/// One `users:` entry of a scenario file.
struct YamlUserType {
    scenario: Arc<Scenario>,
    index: usize,
    tasks: Vec<TaskInfo>,
}

impl UserType for YamlUserType {
    fn name(&self) -> &str {
        &self.scenario.user_types[self.index].name
    }
    fn weight(&self) -> u32 {
        self.scenario.user_types[self.index].weight
    }
    fn fixed_count(&self) -> Option<u32> {
        self.scenario.user_types[self.index].fixed_count
    }
    fn wait(&self) -> cicada_scenario::Wait {
        self.scenario.user_types[self.index].wait
    }
    fn tasks(&self) -> Vec<TaskInfo> {
        self.tasks.clone()
    }
    fn sequential(&self) -> bool {
        self.scenario.user_types[self.index].sequential
    }
    fn new_user(&self, user_id: u64) -> Box<dyn User> {
        Box::new(YamlUser {
            state: UserState::new(&self.scenario, user_id),
            scenario: self.scenario.clone(),
            index: self.index,
        })
    }

    fn adopt(&self, user_id: u64, previous: Box<dyn User>) -> Box<dyn User> {
        let seen: &dyn Any = &*previous;
        if !seen.is::<YamlUser>() {
            // Not a YAML user (cannot happen on a reload of a file): keep it as it is.
            return previous;
        }
        let any: Box<dyn Any + Send> = previous;
        match any.downcast::<YamlUser>() {
            Ok(old) => Box::new(YamlUser {
                state: old.state.rebase(&self.scenario),
                scenario: self.scenario.clone(),
                index: self.index,
            }),
            Err(_) => self.new_user(user_id),
        }
    }
}

/// One simulated user of a YAML user type: its variables live in `state`.
struct YamlUser {
    scenario: Arc<Scenario>,
    index: usize,
    state: UserState,
}

#[async_trait]
impl User for YamlUser {
    async fn on_start(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        let scenario = self.scenario.clone();
        run_steps(
            &scenario.user_types[self.index].on_start,
            &mut self.state,
            cx,
        )
        .await
    }

    async fn run_task(&mut self, task: usize, cx: &mut Context) -> Result<(), TaskError> {
        let scenario = self.scenario.clone();
        match scenario.user_types[self.index].tasks.get(task) {
            Some(t) => run_steps(&t.steps, &mut self.state, cx).await,
            None => Err(TaskError::Aborted("no such task".into())),
        }
    }

    async fn on_stop(&mut self, cx: &mut Context) {
        let scenario = self.scenario.clone();
        // on_stop failures are counted like any other; there is nothing left to abort.
        let _ = run_steps(
            &scenario.user_types[self.index].on_stop,
            &mut self.state,
            cx,
        )
        .await;
    }
}

/// Runs steps in order; the first failure ends the sequence (later steps usually depend on
/// what a failed step should have extracted).
async fn run_steps(
    steps: &[Step],
    state: &mut UserState,
    cx: &mut Context,
) -> Result<(), TaskError> {
    for step in steps {
        // What the user knows is secret (the scenario's secrets, a token it extracted) is
        // redacted from what it reports; one comparison when nothing changed.
        cx.learn_secrets(state.secrets());
        match step {
            Step::Request(request) => {
                let key = RequestKey {
                    method: request.method_str().clone(),
                    name: request.name().clone(),
                };
                let rendered = match request.render(state) {
                    Ok(r) => r,
                    Err(f) => {
                        // Nothing was sent, but the user must see why: count it under the row.
                        let failure = to_failure(f);
                        let reason = failure.message.to_string();
                        cx.record_unsent(&key, &failure);
                        return Err(TaskError::Aborted(reason));
                    }
                };
                let response = cx
                    .exchange(
                        &key,
                        rendered.method,
                        &rendered.path_and_query,
                        rendered.headers,
                        rendered.body,
                        rendered.timeout,
                        |r| {
                            let view = ResponseView {
                                status: r.status.as_u16(),
                                headers: &r.headers,
                                body: &r.body,
                            };
                            request.evaluate(&view, state).map_err(to_failure)
                        },
                    )
                    .await?;
                if let Some(failure) = response.failure {
                    return Err(TaskError::Aborted(failure.message.to_string()));
                }
            }
            Step::Think(wait) => cx.think(wait).await?,
            Step::Set(set) => {
                if let Err(f) = set.apply(state) {
                    return Err(TaskError::Aborted(f.message));
                }
            }
        }
    }
    Ok(())
}

fn to_failure(f: StepFailure) -> Failure {
    let kind = match f.kind {
        StepKind::Render => FailureKind::Other,
        StepKind::Status => FailureKind::Status,
        StepKind::Check => FailureKind::Check,
        StepKind::Extract => FailureKind::Extract,
    };
    Failure {
        kind,
        message: Arc::from(f.message),
    }
}
