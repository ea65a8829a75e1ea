//! From YAML text to a validated [`Scenario`]: the top level, user types, tasks, steps.
//!
//! Parsing never stops at the first problem: every helper reports into [`Diags`] and
//! returns `None`, and the caller carries on with the rest, so one run shows everything.
//! Templates are compiled as they are met; the checks that need the whole picture
//! (variables set anywhere in a user type, weights, names) run at the end.

use crate::convert::map_value;
use crate::data::{DataFiles, parse_data};
use crate::diagnostics::{Diags, LoadError, Pos};
use crate::extract::check_var_name;
use crate::json_template::JsonTemplate;
use crate::model::{Scenario, SetStep, Step, TaskSpec, UserSpec};
use crate::request::{RequestStep, merge_headers, parse_headers};
use crate::state::Globals;
use crate::template::{Compiler, Known, Scope, Text};
use crate::wait::{Wait, parse_wait, positive_duration};
use crate::yaml::{self, Fields, Kind, Node};
use http::HeaderName;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// Larger scenario files are refused before parsing.
pub(crate) const MAX_SCENARIO_BYTES: usize = 8 * 1024 * 1024;

/// Parsing state shared by the parse functions of every module.
pub(crate) struct Parser<'a> {
    pub d: Diags,
    pub c: Compiler,
    /// Variables set by `extract`/`set` in the user type being parsed.
    pub declared: HashSet<String>,
    /// `defaults.headers` merged with the current user type's `headers`.
    pub base_headers: Vec<(HeaderName, Text)>,
    pub default_timeout: Option<Duration>,
    files: DataFiles<'a>,
}

const TOP_KEYS: &[&str] = &[
    "host", "seed", "defaults", "vars", "secrets", "data", "users", "shape",
];
const USER_KEYS: &[&str] = &[
    "name",
    "weight",
    "fixed_count",
    "wait",
    "sequential",
    "on_start",
    "on_stop",
    "headers",
    "tasks",
];
const TASK_KEYS: &[&str] = &["name", "weight", "tags", "steps", "request"];
const STEP_KEYS: &[&str] = &["request", "think", "set"];

/// Parses and validates a scenario (see [`crate::parse_str`]).
pub(crate) fn parse(text: &str, origin: &str, files: DataFiles<'_>) -> Result<Scenario, LoadError> {
    if text.len() > MAX_SCENARIO_BYTES {
        return Err(LoadError::single(
            origin,
            "scenario file is larger than 8 MiB",
        ));
    }
    // The text is in memory already; the size cap bounds parse work and the tree we build.
    let mut p = Parser {
        d: Diags::new(origin),
        c: Compiler::new(),
        declared: HashSet::new(),
        base_headers: Vec::new(),
        default_timeout: None,
        files,
    };
    let root = match yaml::parse(text) {
        Ok(n) => n,
        Err(errors) => {
            for (pos, msg) in errors {
                p.d.error(pos, msg);
            }
            return Err(p.d.into_error(text));
        }
    };
    let Some(top) = Fields::new(&mut p.d, &root, "the scenario", TOP_KEYS) else {
        return Err(p.d.into_error(text));
    };
    let host = top.get("host").and_then(|n| parse_host(&mut p.d, n));
    let seed = match top.get("seed") {
        Some(n) => match n.kind {
            Kind::UInt(u) => Some(u),
            _ => {
                p.d.error(
                    n.pos,
                    "expected `seed` to be a whole number from 0 to 18446744073709551615",
                );
                None
            }
        },
        None => None,
    };
    let crate::secrets::Vars {
        value: vars,
        names: var_names,
        mut secrets,
        secret_names,
    } = crate::secrets::parse_vars(&mut p.d, top.get("vars"), top.get("secrets"));
    let mut data_files = BTreeMap::new();
    let datasets = match top.get("data") {
        Some(n) => parse_data(&mut p.d, n, p.files, &mut data_files),
        None => Vec::new(),
    };
    p.c.set_datasets(&datasets);
    if let Some(n) = top.get("defaults")
        && let Some(f) = Fields::new(&mut p.d, n, "`defaults`", &["headers", "timeout"])
    {
        if let Some(h) = f.get("headers") {
            p.base_headers = parse_headers(&mut p, h);
        }
        if let Some(t) = f.get("timeout") {
            p.default_timeout = positive_duration(&mut p.d, t, "`timeout`");
        }
    }
    // Data comes before users whatever the order in the file: `pick('x')` and `data.x`
    // in user templates are checked against the dataset names. Likewise
    // `defaults.headers` is parsed first so each request can merge it at load time.
    let defaults_headers = p.base_headers.clone();

    let mut users = Vec::new();
    let mut declared = Vec::new();
    let users_node = top.get("users");
    let items = match users_node {
        Some(n) => yaml::list(&mut p.d, n, "`users`"),
        None => &[],
    };
    for (i, node) in items.iter().enumerate() {
        p.c.scope = Scope::User(i);
        p.declared = HashSet::new();
        p.base_headers = defaults_headers.clone();
        let user = parse_user(&mut p, node);
        // Keep indexes aligned with `Scope::User(i)` even when a user type failed.
        declared.push((
            user.as_ref().map_or_else(String::new, |u| u.name.clone()),
            std::mem::take(&mut p.declared),
        ));
        users.extend(user);
    }
    if items.is_empty() {
        let pos = users_node.map_or(Pos { line: 1, column: 1 }, |n| n.pos);
        p.d.error(
            pos,
            "no user types: add at least one under `users:` (each with `name` and `tasks`)",
        );
    }
    check_users(&mut p.d, items, &users);
    let shape = top
        .get("shape")
        .and_then(|n| crate::shape::parse::parse_shape(&mut p.d, n));
    if let Some(shape) = &shape {
        let names: Vec<&str> = users.iter().map(|u| u.name.as_str()).collect();
        let tasks: Vec<&str> = users
            .iter()
            .flat_map(|u| u.tasks.iter().map(|t| t.name.as_str()))
            .collect();
        crate::shape::parse::check_names(&mut p.d, shape, &names, &tasks);
    }

    // Variable checks need the whole user type (a task may use what `on_start` extracts),
    // so they run after everything is parsed.
    let known = Known {
        users: declared.iter().map(|(n, d)| (n.as_str(), d)).collect(),
        vars: var_names,
    };
    let env_refs = p.c.validate(&mut p.d, &known);
    if !p.d.is_empty() {
        return Err(p.d.into_error(text));
    }
    // Only the environment variables templates name are captured (all of them only when
    // a template indexes `env` dynamically), so secrets in the environment that no
    // template uses never enter the scenario.
    let env_vars = if env_refs.all {
        map_value(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    } else {
        map_value(
            env_refs
                .names
                .into_iter()
                .filter_map(|k| std::env::var(&k).ok().map(|v| (k, v))),
        )
    };
    crate::secrets::pin_env(&mut secrets, &env_vars);
    let globals = Arc::new(Globals {
        env: p.c.finish(),
        vars,
        env_vars,
        datasets,
        secrets,
        secret_names,
    });
    Ok(Scenario {
        host,
        user_types: users,
        shape,
        globals,
        seed: seed.unwrap_or_else(rand::random),
        data_files,
    })
}

fn parse_host(d: &mut Diags, n: &Node) -> Option<String> {
    let s = yaml::string(d, n, "a base URL like `http://127.0.0.1:3000`")?;
    let s = s.trim().trim_end_matches('/').to_owned();
    if crate::host_has_credentials(&s) {
        d.error(n.pos, crate::HOST_CREDENTIALS_MESSAGE);
        return None;
    }
    let ok = s
        .parse::<http::Uri>()
        .is_ok_and(|u| matches!(u.scheme_str(), Some("http" | "https")) && u.authority().is_some());
    if !ok {
        d.error(
            n.pos,
            "`host` must be a base URL like `http://127.0.0.1:3000` or `https://api.example.com`",
        );
        return None;
    }
    Some(s)
}

fn parse_user(p: &mut Parser<'_>, node: &Node) -> Option<UserSpec> {
    let f = Fields::new(&mut p.d, node, "a user type", USER_KEYS)?;
    let name = match f.get("name") {
        Some(n) => yaml::text(&mut p.d, n, "a user type name").filter(|s| {
            let ok = !s.trim().is_empty();
            if !ok {
                p.d.error(n.pos, "a user type name cannot be empty");
            }
            ok
        }),
        None => {
            p.d.error(node.pos, "a user type needs a `name`");
            None
        }
    };
    let weight = f
        .get("weight")
        .map_or(Some(1), |n| yaml::u32_value(&mut p.d, n, "`weight`"));
    let fixed_count = f
        .get("fixed_count")
        .map(|n| yaml::u32_value(&mut p.d, n, "`fixed_count`"));
    let wait = f
        .get("wait")
        .map_or(Some(Wait::None), |n| parse_wait(&mut p.d, n));
    let sequential = f
        .get("sequential")
        .map_or(Some(false), |n| yaml::boolean(&mut p.d, n, "`sequential`"));
    if let Some(h) = f.get("headers") {
        let own = parse_headers(p, h);
        p.base_headers = merge_headers(&p.base_headers, own);
    }
    let on_start = f.get("on_start").map(|n| parse_steps(p, n, "`on_start`"));
    let on_stop = f.get("on_stop").map(|n| parse_steps(p, n, "`on_stop`"));
    let tasks = match f.get("tasks") {
        Some(n) => {
            let items = yaml::list(&mut p.d, n, "`tasks`");
            let tasks: Vec<Option<TaskSpec>> = items
                .iter()
                .enumerate()
                .map(|(i, t)| parse_task(p, t, i))
                .collect();
            if items.is_empty() {
                p.d.error(
                    n.pos,
                    "`tasks` is empty: a user type needs at least one task",
                );
            }
            Some((n.pos, tasks))
        }
        None => {
            p.d.error(node.pos, "a user type needs `tasks` (a list of tasks)");
            None
        }
    };
    let (name, weight, wait, sequential) = (name?, weight?, wait?, sequential?);
    let (tasks_pos, tasks) = tasks?;
    let tasks: Vec<TaskSpec> = tasks.into_iter().collect::<Option<_>>()?;
    if !sequential && !tasks.is_empty() && tasks.iter().all(|t| t.weight == 0) {
        p.d.error(
            tasks_pos,
            format!("every task of user type `{name}` has weight 0: no task could ever run"),
        );
    }
    Some(UserSpec {
        name,
        weight,
        fixed_count: fixed_count.flatten(),
        wait,
        sequential,
        on_start: on_start.unwrap_or_default(),
        on_stop: on_stop.unwrap_or_default(),
        tasks,
    })
}

fn parse_task(p: &mut Parser<'_>, node: &Node, index: usize) -> Option<TaskSpec> {
    let f = Fields::new(&mut p.d, node, "a task", TASK_KEYS)?;
    let weight = f
        .get("weight")
        .map_or(Some(1), |n| yaml::u32_value(&mut p.d, n, "`weight`"));
    let tags = match f.get("tags") {
        Some(n) => {
            let items = yaml::list(&mut p.d, n, "`tags`");
            items
                .iter()
                .filter_map(|t| yaml::text(&mut p.d, t, "a tag"))
                .collect()
        }
        None => Vec::new(),
    };
    if !f.exactly_one(
        &mut p.d,
        &["steps", "request"],
        "a task needs exactly one of `steps` (a list) or `request` (a single request)",
    ) {
        return None;
    }
    let steps = match (f.get("steps"), f.get("request")) {
        (Some(n), None) => {
            let steps = parse_steps(p, n, "`steps`");
            if matches!(&n.kind, Kind::Null) || matches!(&n.kind, Kind::Seq(v) if v.is_empty()) {
                p.d.error(n.pos, "`steps` is empty: a task needs at least one step");
            }
            steps
        }
        (None, Some(n)) => RequestStep::parse(p, n)
            .map(|r| vec![Step::Request(Box::new(r))])
            .unwrap_or_default(),
        _ => return None,
    };
    let name = match f.get("name") {
        Some(n) => yaml::text(&mut p.d, n, "a task name")?,
        None => steps
            .iter()
            .find_map(|s| match s {
                Step::Request(r) => Some(r.name().to_string()),
                _ => None,
            })
            .unwrap_or_else(|| format!("task {}", index + 1)),
    };
    Some(TaskSpec {
        name,
        weight: weight?,
        tags,
        steps,
    })
}

/// A list of steps; steps that fail to parse are reported and left out.
fn parse_steps(p: &mut Parser<'_>, node: &Node, what: &str) -> Vec<Step> {
    let items = yaml::list(&mut p.d, node, what);
    items.iter().filter_map(|n| parse_step(p, n)).collect()
}

fn parse_step(p: &mut Parser<'_>, node: &Node) -> Option<Step> {
    let f = Fields::new(
        &mut p.d,
        node,
        "a step (`request`, `think` or `set`)",
        STEP_KEYS,
    )?;
    if !f.exactly_one(
        &mut p.d,
        STEP_KEYS,
        "a step needs exactly one of `request`, `think`, `set`",
    ) {
        return None;
    }
    if let Some(n) = f.get("request") {
        return RequestStep::parse(p, n).map(|r| Step::Request(Box::new(r)));
    }
    if let Some(n) = f.get("think") {
        return parse_wait(&mut p.d, n).map(Step::Think);
    }
    let n = f.get("set")?;
    let mut assignments = Vec::new();
    for (name, key, value) in yaml::entries(&mut p.d, n, "`set`") {
        if !check_var_name(&mut p.d, &name, key.pos) {
            continue;
        }
        p.declared.insert(name.clone());
        if let Some(t) = JsonTemplate::compile(&mut p.c, &mut p.d, value) {
            assignments.push((name, t));
        }
    }
    Some(Step::Set(SetStep { assignments }))
}

/// Checks across user types: unique names, weights, fixed counts.
fn check_users(d: &mut Diags, nodes: &[Node], users: &[UserSpec]) {
    let mut seen = HashSet::new();
    for (node, user) in nodes.iter().zip(users) {
        if !seen.insert(user.name.as_str()) {
            let pos = match &node.kind {
                Kind::Map(m) => m
                    .iter()
                    .find(|(k, _)| k.as_str() == Some("name"))
                    .map_or(node.pos, |(_, v)| v.pos),
                _ => node.pos,
            };
            d.error(pos, format!("duplicate user type name `{}`", user.name));
        }
    }
    if users.is_empty() {
        return;
    }
    let weighted: Vec<&UserSpec> = users.iter().filter(|u| u.fixed_count.is_none()).collect();
    let first = nodes.first().map_or(Pos::default(), |n| n.pos);
    if !weighted.is_empty() && weighted.iter().all(|u| u.weight == 0) {
        d.error(first, "every user type (without `fixed_count`) has weight 0: give at least one a positive weight");
    }
    let fixed_total: u64 = users
        .iter()
        .filter_map(|u| u.fixed_count)
        .map(u64::from)
        .sum();
    if fixed_total > u64::from(u32::MAX) {
        d.error(
            first,
            "the `fixed_count` values add up to more than 4294967295 users",
        );
    } else if weighted.is_empty() && fixed_total == 0 {
        d.error(
            first,
            "every user type has `fixed_count: 0`: no user would ever run",
        );
    }
}
