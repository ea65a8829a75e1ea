//! Loading the scenario named on the command line into an engine plan.
//!
//! Everything here happens before any user starts: a bad file or name is an error with its
//! location, and the process exits with status 2.

use std::sync::Arc;

use cicada_engine::{Plan, PlanError, TagFilter};

use crate::config::Source;
use crate::registry::Registry;

/// Why the scenario cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The YAML file is invalid (the message lists every problem with file:line:column).
    #[error("{0}")]
    Scenario(#[from] cicada_scenario::LoadError),
    /// No built-in scenario has this name.
    #[error("no built-in scenario named `{name}`{}", known_list(.known))]
    UnknownBuiltin {
        /// What was asked for.
        name: String,
        /// What exists.
        known: Vec<String>,
    },
    /// The user types cannot run (e.g. the tag filter leaves nothing).
    #[error("{origin}: {error}")]
    Plan {
        /// The file or scenario name.
        origin: String,
        /// The problem.
        error: PlanError,
    },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (this binary has none; use -f FILE)".to_string()
    } else {
        format!(" (known: {})", known.join(", "))
    }
}

/// A scenario ready to run.
pub struct Loaded {
    /// The user types and their task tables.
    pub plan: Arc<Plan>,
    /// The scenario's own host, used when `-H` is not given.
    pub host: Option<String>,
    /// A human summary for `cicada validate`.
    pub summary: String,
    /// A YAML scenario's text and data files, as a master ships them to workers (`None`: a
    /// built-in scenario).
    pub yaml: Option<YamlText>,
    /// The load shape: the scenario's `shape:` section, or `--shape FILE` (see
    /// [`load_shape`]).
    pub shape: Option<cicada_scenario::Shape>,
    /// The parsed YAML scenario (to check a separate shape file's names against).
    pub scenario: Option<Arc<cicada_scenario::Scenario>>,
}

/// A YAML scenario as read.
#[derive(Clone, Debug)]
pub struct YamlText {
    /// The file.
    pub origin: String,
    /// Its text.
    pub text: String,
    /// The data files it reads, by the path written in it.
    pub files: std::collections::BTreeMap<String, String>,
}

/// Loads and checks the scenario.
pub fn load(source: &Source, registry: &Registry, tags: &TagFilter) -> Result<Loaded, SourceError> {
    match source {
        Source::File(path) => {
            let mut scenario = cicada_scenario::load_file(path)?;
            let origin = path.display().to_string();
            // The text just parsed (load_file checked its size); a file replaced in between
            // would show as a different digest on the workers, never as a wrong plan here.
            let text = std::fs::read_to_string(path).map_err(|e| {
                cicada_scenario::LoadError::single(&origin, format!("cannot read scenario: {e}"))
            })?;
            let yaml = YamlText {
                origin,
                text,
                files: std::mem::take(&mut scenario.data_files),
            };
            let scenario = Arc::new(scenario);
            let types = cicada_engine::yaml::user_types(&scenario);
            let plan = Plan::new(types, tags).map_err(|error| SourceError::Plan {
                origin: path.display().to_string(),
                error,
            })?;
            Ok(Loaded {
                plan: Arc::new(plan),
                host: scenario.host.clone(),
                summary: scenario.summary(),
                yaml: Some(yaml),
                shape: scenario.shape.clone(),
                scenario: Some(scenario),
            })
        }
        Source::Builtin(name) => {
            let builtin = registry
                .get(name)
                .ok_or_else(|| SourceError::UnknownBuiltin {
                    name: name.clone(),
                    known: registry.all().iter().map(|b| b.name.clone()).collect(),
                })?;
            let plan =
                Plan::new(builtin.user_types(), tags).map_err(|error| SourceError::Plan {
                    origin: name.clone(),
                    error,
                })?;
            let summary = plan_summary(name, &plan);
            Ok(Loaded {
                plan: Arc::new(plan),
                host: builtin.host.clone(),
                summary,
                yaml: None,
                shape: None,
                scenario: None,
            })
        }
    }
}

/// A bad `--shape FILE`.
#[derive(Debug, thiserror::Error)]
#[error("--shape (CICADA_SHAPE): {0}")]
pub struct ShapeFileError(String);

/// Loads `--shape FILE` (if given) into `loaded.shape`, replacing the scenario's `shape:`
/// section, and checks its task and user type names against the scenario (for a built-in
/// scenario, against its plan).
pub fn load_shape(
    loaded: &mut Loaded,
    file: Option<&std::path::Path>,
) -> Result<(), ShapeFileError> {
    let Some(path) = file else {
        return Ok(());
    };
    let shape =
        cicada_scenario::load_shape_file(path).map_err(|e| ShapeFileError(e.to_string()))?;
    let origin = path.display().to_string();
    match &loaded.scenario {
        Some(scenario) => shape
            .check_names(scenario, &origin)
            .map_err(|e| ShapeFileError(e.to_string()))?,
        None => check_names_in_plan(&shape, &loaded.plan, &origin)?,
    }
    if loaded.shape.is_some() {
        tracing::info!(file = %origin, "--shape replaces the scenario's `shape:` section");
    }
    loaded.shape = Some(shape);
    Ok(())
}

/// The names a shape's incidents use must exist in a built-in scenario's plan.
fn check_names_in_plan(
    shape: &cicada_scenario::Shape,
    plan: &Plan,
    origin: &str,
) -> Result<(), ShapeFileError> {
    let has_task = |name: &str| {
        plan.entries()
            .iter()
            .any(|e| e.tasks.iter().any(|t| t.name == name))
    };
    for incident in &shape.incidents {
        if let Some(w) = incident.weights.iter().find(|w| !has_task(&w.task)) {
            return Err(ShapeFileError(format!(
                "{origin}: incident `{}`: no task is named `{}`",
                incident.name, w.task
            )));
        }
        if let Some(t) = incident
            .extra_task
            .as_ref()
            .and_then(|x| x.user_type.as_ref())
            && !plan.entries().iter().any(|e| e.name == *t)
        {
            return Err(ShapeFileError(format!(
                "{origin}: incident `{}`: no user type is named `{t}`",
                incident.name
            )));
        }
    }
    Ok(())
}

/// A summary of a plan (for Rust-tier scenarios, which have no file to summarise): user types
/// with their share and tasks with theirs.
pub fn plan_summary(name: &str, plan: &Plan) -> String {
    use std::fmt::Write;
    let mut out = format!("scenario {name}\n");
    let total: u64 = plan
        .entries()
        .iter()
        .filter(|e| e.user_type.fixed_count().is_none())
        .map(|e| u64::from(e.user_type.weight()))
        .sum();
    for e in plan.entries() {
        let share = match e.user_type.fixed_count() {
            Some(n) => format!("fixed {n}"),
            None => format!("{:.1}%", percent(u64::from(e.user_type.weight()), total)),
        };
        let _ = writeln!(
            out,
            "  user type {} (weight {}, {share})",
            e.name,
            e.user_type.weight()
        );
        let task_total: u64 = e.tasks.iter().map(|t| u64::from(t.weight)).sum();
        for t in &e.tasks {
            let _ = writeln!(
                out,
                "    task {} (weight {}, {:.1}%)",
                t.name,
                t.weight,
                percent(u64::from(t.weight), task_total)
            );
        }
    }
    out
}

fn percent(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        part as f64 * 100.0 / total as f64
    }
}
