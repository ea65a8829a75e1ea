//! One user's life, run as a tokio task by the spawner: `on_start` (retried with backoff),
//! then tasks and think times until it is retired (after its current task), stopped (after
//! its current request), or, for an arrived user of the open model, has run its
//! iterations. Tasks are picked through the engine's task mix ([`crate::mix`]), so an
//! incident's weight factors and extra task apply at the next pick.
//!
//! The same cell carries the plan: after a scenario reload ([`crate::EngineHandle::apply_plan`])
//! the user notices the new plan at its next pick. It then moves to the new plan's type of
//! the same name through [`crate::UserType::adopt`] (keeping its `Context`: connection,
//! cookies; and, for YAML users, its variables), or, when no type of its name is left,
//! retires: `on_stop` runs on the plan it started with and the user ends. A task that is
//! running always finishes on the plan it started with: the switch happens only between
//! tasks.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::arrivals::Leave;
use crate::backoff::Backoff;
use crate::context::Context;
use crate::mix::{MixCell, MixView, Pick};
use crate::plan::Plan;
use crate::spans::TaskOutcome;
use crate::user::TaskError;

/// Who a user is and how long it lives.
pub(crate) struct Life {
    pub(crate) plan: Arc<Plan>,
    pub(crate) mix: Arc<MixCell>,
    pub(crate) type_idx: usize,
    pub(crate) id: u64,
    /// Open model: leave after this many tasks. Closed model: `None` (until retired).
    pub(crate) iterations: Option<u32>,
    /// Open model: frees the user's place in the arrival gate when the user ends.
    pub(crate) _leave: Option<Leave>,
}

/// One user's life: `on_start` (retried with backoff), then tasks and think times until it is
/// retired (after its current task), stopped (after its current request), or (an arrived
/// user) has run its iterations.
pub(crate) async fn run_user(life: Life, mut cx: Context, retire: CancellationToken) {
    let Life {
        plan,
        mix,
        type_idx,
        id,
        iterations,
        _leave,
    } = life;
    let (mut plan, mut type_idx) = (plan, type_idx);
    let entry = &plan.entries()[type_idx];
    let mut view = MixView::new(plan.clone());
    let mut user = entry.user_type.new_user(id);
    let backoff = Backoff::default();

    // on_start: a login that fails is retried after a growing pause, never in a tight loop.
    let mut attempts = 0u32;
    loop {
        cx.begin_task(Some(entry.lifecycle_traces[0].clone()));
        match user.on_start(&mut cx).await {
            Ok(()) => {
                cx.end_task(TaskOutcome::Ok);
                break;
            }
            Err(TaskError::Stopped) => return cx.close(),
            Err(TaskError::Aborted(reason)) => {
                cx.end_task(TaskOutcome::Aborted);
                attempts = attempts.saturating_add(1);
                tracing::debug!(
                    user_id = id,
                    user_type = %entry.name,
                    task = "on_start",
                    reason = %cx.redact(&reason),
                    attempts,
                    "on_start failed; retrying"
                );
                let pause = backoff.delay(attempts, cx.unit());
                tokio::select! {
                    biased;
                    _ = retire.cancelled() => return cx.close(),
                    slept = cx.sleep(pause) => if slept.is_err() { return cx.close() },
                }
            }
        }
    }

    let mut runs = 0u64;
    let mut idle_failures = 0u32;
    while !retire.is_cancelled() {
        if let Some(next) = view.refresh(&mix) {
            let name = &plan.entries()[type_idx].name;
            let Some(at) = next.entries().iter().position(|e| e.name == *name) else {
                // The reload removed this user's type: retire (on_stop on the old plan).
                tracing::debug!(user = id, user_type = %name, "type removed by a reload; retiring");
                break;
            };
            user = next.entries()[at].user_type.adopt(id, user);
            (plan, type_idx) = (next, at);
        }
        let entry = &plan.entries()[type_idx];
        let unit = cx.unit();
        let pick = view.pick(type_idx, runs, unit);
        runs = runs.wrapping_add(1);
        // The clock is read around a task only for the waits that need its duration.
        let started = entry.wait.depends_on_elapsed().then(Instant::now);
        let sent_before = cx.requests_sent();
        let result = match pick {
            Pick::Task(task) => {
                cx.begin_task(entry.task_traces.get(task).cloned());
                user.run_task(task, &mut cx).await
            }
            Pick::Extra(extra) => {
                let (method, path, name) =
                    (extra.method.clone(), extra.path.clone(), extra.name.clone());
                cx.begin_task(None);
                cx.request(method, path).name(name).send().await.map(|_| ())
            }
        };
        cx.end_task(match &result {
            Ok(()) => TaskOutcome::Ok,
            Err(TaskError::Aborted(_)) => TaskOutcome::Aborted,
            Err(TaskError::Stopped) => TaskOutcome::Stopped,
        });
        let mut pause = match result {
            Err(TaskError::Stopped) => return cx.close(),
            Err(TaskError::Aborted(_)) if cx.requests_sent() == sent_before => {
                // The task failed without sending anything (e.g. a variable it needs is
                // missing): without a pause this would be a busy loop.
                idle_failures = idle_failures.saturating_add(1);
                backoff.delay(idle_failures, cx.unit())
            }
            _ => {
                idle_failures = 0;
                Duration::ZERO
            }
        };
        if iterations.is_some_and(|n| runs >= u64::from(n)) {
            // An arrived user leaves after its last task, without thinking first.
            break;
        }
        let elapsed = started.map_or(Duration::ZERO, |s| s.elapsed());
        pause = pause.max(entry.wait.delay(elapsed, cx.unit()));
        if pause.is_zero() {
            // No think time: still let other users of this thread run.
            tokio::task::yield_now().await;
            if cx.is_stopping() {
                return cx.close();
            }
            continue;
        }
        tokio::select! {
            biased;
            _ = retire.cancelled() => break,
            slept = cx.sleep(pause) => if slept.is_err() { return cx.close() },
        }
    }
    cx.begin_task(Some(plan.entries()[type_idx].lifecycle_traces[1].clone()));
    user.on_stop(&mut cx).await;
    cx.end_task(TaskOutcome::Ok);
    cx.close();
}
