//! The human summary printed by `cicada validate`: user types with their share of users,
//! tasks with their share within the type, and the requests each task sends.

use crate::model::{Scenario, Step, UserSpec};
use std::fmt::Write as _;

impl Scenario {
    /// A multi-line description of the scenario for humans.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let tasks: usize = self.user_types.iter().map(|u| u.tasks.len()).sum();
        let requests: usize = self
            .user_types
            .iter()
            .map(|u| {
                let steps = u
                    .on_start
                    .iter()
                    .chain(&u.on_stop)
                    .chain(u.tasks.iter().flat_map(|t| &t.steps));
                steps.filter(|s| matches!(s, Step::Request(_))).count()
            })
            .sum();
        let _ = writeln!(
            out,
            "host: {}",
            self.host.as_deref().unwrap_or("(none: pass -H/--host)")
        );
        let _ = writeln!(
            out,
            "{} user type(s), {tasks} task(s), {requests} request step(s)",
            self.user_types.len()
        );
        let weight_total: u64 = self
            .user_types
            .iter()
            .filter(|u| u.fixed_count.is_none())
            .map(|u| u64::from(u.weight))
            .sum();
        if !self.globals.secret_names.is_empty() {
            // Names only: the values never leave the process.
            let _ = writeln!(
                out,
                "secret variables (redacted in all output): {}",
                self.globals.secret_names.join(", ")
            );
        }
        if let Some(shape) = &self.shape {
            let _ = writeln!(out, "shape: {}", shape.describe());
        }
        for user in &self.user_types {
            out.push('\n');
            user_summary(&mut out, user, weight_total);
        }
        out
    }
}

fn percent(part: u64, total: u64) -> String {
    if total == 0 {
        return "0.0%".to_owned();
    }
    #[allow(clippy::cast_precision_loss)] // display only
    let p = part as f64 * 100.0 / total as f64;
    format!("{p:.1}%")
}

fn user_summary(out: &mut String, user: &UserSpec, weight_total: u64) {
    let share = match user.fixed_count {
        Some(n) => format!("fixed {n} user(s)"),
        None => format!(
            "weight {} ({} of weighted users)",
            user.weight,
            percent(u64::from(user.weight), weight_total)
        ),
    };
    let _ = writeln!(out, "{}: {share}, wait {}", user.name, user.wait.describe());
    steps_summary(out, "on_start", &user.on_start);
    let order = if user.sequential {
        "in order"
    } else {
        "picked by weight"
    };
    let _ = writeln!(out, "  tasks ({order}):");
    let task_total: u64 = user.tasks.iter().map(|t| u64::from(t.weight)).sum();
    for (i, task) in user.tasks.iter().enumerate() {
        let lead = if user.sequential {
            format!("{}.", i + 1)
        } else {
            percent(u64::from(task.weight), task_total)
        };
        let tags = if task.tags.is_empty() {
            String::new()
        } else {
            format!("  [{}]", task.tags.join(", "))
        };
        let _ = writeln!(out, "    {lead:>6}  {}{tags}", task.name);
        for step in &task.steps {
            step_line(out, "            ", step);
        }
    }
    steps_summary(out, "on_stop", &user.on_stop);
}

fn steps_summary(out: &mut String, title: &str, steps: &[Step]) {
    if steps.is_empty() {
        return;
    }
    let _ = writeln!(out, "  {title}:");
    for step in steps {
        step_line(out, "    ", step);
    }
}

fn step_line(out: &mut String, indent: &str, step: &Step) {
    let _ = match step {
        Step::Request(r) => writeln!(out, "{indent}{} {}", r.method_str(), r.name()),
        Step::Think(w) => writeln!(out, "{indent}think {}", w.describe()),
        Step::Set(s) => writeln!(
            out,
            "{indent}set {}",
            s.names().collect::<Vec<_>>().join(", ")
        ),
    };
}
