//! Templated text: compiled once at load, rendered per request.
//!
//! Every string in a scenario that may hold `{{ ... }}` becomes a [`Text`]. Text without
//! template markup stays a plain [`Text::Static`] and never touches minijinja at runtime.
//! A string that is *exactly* one `{{ expression }}` can be compiled as a typed
//! expression ([`Text::Expr`]) so that `"{{ randint(1, 5) }}"` yields a number, not the
//! string "3". minijinja's `Expression` borrows its environment, which we cannot store next
//! to the environment itself, so an expression is compiled as the one-line template
//! `{% set __cicada_value = (EXPR) %}` and its value read back from the captured state.
//!
//! All templates live in one shared `Environment` (strict undefined variables, a fuel
//! limit against runaway loops, no auto-escaping). After parsing, [`Compiler::validate`]
//! checks every template's undeclared variables against what its user type can know.

use crate::convert::value_to_text;
use crate::data::Dataset;
use crate::diagnostics::{Diags, Pos, did_you_mean};
use crate::functions::FUNCTIONS;
use crate::state::UserState;
use crate::template_lint;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value};
use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

/// Fuel per render: bounds the work of one template (a loop over 100 items uses ~1000).
const FUEL: u64 = 100_000;
/// Longest template source accepted.
const MAX_TEMPLATE_LEN: usize = 64 * 1024;
/// Longest text one render may produce (bounds memory per request).
const MAX_RENDERED_LEN: usize = 16 * 1024 * 1024;
/// The variable a typed expression assigns.
const VALUE_VAR: &str = "__cicada_value";
/// Names templates see besides user variables and functions.
pub(crate) const RESERVED: &[&str] = &["vars", "env", "data", "user"];

/// A possibly templated string.
#[derive(Debug, Clone)]
pub(crate) enum Text {
    /// No markup: used as-is.
    Static(Arc<str>),
    /// A template rendering to a string (by name in the shared environment).
    Template(Arc<str>),
    /// Exactly one `{{ expression }}`: renders to a typed value.
    Expr(Arc<str>),
}

impl Text {
    pub fn as_static(&self) -> Option<&str> {
        match self {
            Text::Static(s) => Some(s),
            _ => None,
        }
    }

    /// Renders to a string (a typed expression is printed).
    pub fn render(&self, state: &UserState) -> Result<String, Error> {
        match self {
            Text::Static(s) => Ok(s.to_string()),
            Text::Template(name) => {
                let out = state.env().get_template(name)?.render(state.root())?;
                if out.len() > MAX_RENDERED_LEN {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "rendered text too large",
                    ));
                }
                Ok(out)
            }
            Text::Expr(_) => self.render_value(state).map(|v| value_to_text(&v)),
        }
    }

    /// Renders to a value: typed for [`Text::Expr`], a string otherwise.
    pub fn render_value(&self, state: &UserState) -> Result<Value, Error> {
        match self {
            Text::Static(s) => Ok(Value::from(&**s)),
            Text::Template(_) => self.render(state).map(Value::from),
            Text::Expr(name) => {
                let captured = state
                    .env()
                    .get_template(name)?
                    .render_captured(state.root())?;
                let value = captured.state().lookup(VALUE_VAR).unwrap_or_default();
                if value.as_str().is_some_and(|s| s.len() > MAX_RENDERED_LEN) {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "rendered text too large",
                    ));
                }
                Ok(value)
            }
        }
    }
}

/// A render error described with bounded cardinality: the error *kind* only
/// ("undefined value", "invalid operation"), never names or values from the template.
pub(crate) fn error_kind(e: &Error) -> String {
    e.kind().to_string()
}

/// Whether `s` holds template markup at all.
pub(crate) fn has_markup(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// `[A-Za-z_][A-Za-z0-9_]*`
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The expression inside `{{ ... }}` when `s` is exactly one expression tag.
fn single_expression(s: &str) -> Option<&str> {
    let inner = s.strip_prefix("{{")?.strip_suffix("}}")?;
    if ["{{", "}}", "{%", "%}", "{#", "#}"]
        .iter()
        .any(|m| inner.contains(m))
    {
        return None;
    }
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    let inner = inner.strip_suffix(['-', '+']).unwrap_or(inner).trim();
    (!inner.is_empty()).then_some(inner)
}

/// Which user types a template belongs to (for variable checks).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope {
    /// Shared by every user type (`defaults.headers`).
    All,
    /// Index into the scenario's user types.
    User(usize),
}

struct Use {
    name: Arc<str>,
    source: String,
    pos: Pos,
    scope: Scope,
}

/// What each user type can refer to, for [`Compiler::validate`].
pub(crate) struct Known<'a> {
    /// (user type name, variables set by its `extract`/`set` steps)
    pub users: Vec<(&'a str, &'a HashSet<String>)>,
    pub vars: Vec<String>,
}

/// Environment variables templates refer to (`env.NAME`), read once at load.
#[derive(Debug, Default)]
pub(crate) struct EnvRefs {
    pub names: BTreeSet<String>,
    /// `env` used without a static name (`env[x]`): snapshot the whole environment.
    pub all: bool,
}

/// Compiles templates into one environment and remembers where each came from.
pub(crate) struct Compiler {
    env: Environment<'static>,
    uses: Vec<Use>,
    datasets: Vec<String>,
    pub scope: Scope,
}

impl Compiler {
    pub fn new() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // Keep the text exactly as written (a body ending in a newline keeps it).
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .keep_trailing_newline(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        crate::functions::register(&mut env);
        Compiler {
            env,
            uses: Vec::new(),
            datasets: Vec::new(),
            scope: Scope::All,
        }
    }

    pub fn set_datasets(&mut self, datasets: &[Dataset]) {
        self.datasets = datasets.iter().map(|d| d.name.clone()).collect();
    }

    /// Compiles a string-valued template (paths, headers, raw bodies).
    pub fn text(&mut self, d: &mut Diags, src: &str, pos: Pos) -> Option<Text> {
        self.compile(d, src, pos, false)
    }

    /// Compiles a template whose value keeps its type when it is exactly one `{{ }}`.
    pub fn typed(&mut self, d: &mut Diags, src: &str, pos: Pos) -> Option<Text> {
        self.compile(d, src, pos, true)
    }

    fn compile(&mut self, d: &mut Diags, src: &str, pos: Pos, typed: bool) -> Option<Text> {
        if !has_markup(src) {
            return Some(Text::Static(Arc::from(src)));
        }
        if src.len() > MAX_TEMPLATE_LEN {
            d.error(pos, "template is too long (at most 64 KiB)");
            return None;
        }
        let name: Arc<str> = Arc::from(format!("t{}", self.uses.len()));
        if typed && let Some(expr) = single_expression(src) {
            let wrapped = format!("{{% set {VALUE_VAR} = ({expr}) %}}");
            if self
                .env
                .add_template_owned(name.to_string(), wrapped)
                .is_ok()
            {
                self.lint(d, src, pos);
                self.uses.push(Use {
                    name: name.clone(),
                    source: src.to_owned(),
                    pos,
                    scope: self.scope,
                });
                return Some(Text::Expr(name));
            }
        }
        match self
            .env
            .add_template_owned(name.to_string(), src.to_owned())
        {
            Ok(()) => {
                self.lint(d, src, pos);
                self.uses.push(Use {
                    name: name.clone(),
                    source: src.to_owned(),
                    pos,
                    scope: self.scope,
                });
                Some(Text::Template(name))
            }
            Err(e) => {
                let detail = e.detail().unwrap_or("invalid template");
                let line = match e.line() {
                    Some(l) if src.contains('\n') => format!(" (template line {l})"),
                    _ => String::new(),
                };
                d.error(pos, format!("template {}: {detail}{line}", e.kind()));
                None
            }
        }
    }

    /// Load-time checks of what minijinja checks only at runtime: filter and test
    /// names, and literal `fake('kind')` / `pick('dataset')` arguments.
    fn lint(&self, d: &mut Diags, src: &str, pos: Pos) {
        let lint = template_lint::scan(src);
        let mut state = self.env.empty_state();
        for f in &lint.filters {
            if state
                .apply_filter(f, &[])
                .is_err_and(|e| e.kind() == ErrorKind::UnknownFilter)
            {
                d.error(pos, format!("unknown filter `{f}`"));
            }
        }
        for t in &lint.tests {
            if state
                .perform_test(t, &[])
                .is_err_and(|e| e.kind() == ErrorKind::UnknownTest)
            {
                d.error(pos, format!("unknown test `{t}`"));
            }
        }
        for (func, arg) in &lint.calls {
            match (func.as_str(), arg) {
                ("fake", Some(kind)) if !crate::fake_data::KINDS.contains(&kind.as_str()) => {
                    let hint = did_you_mean(kind, crate::fake_data::KINDS.iter().copied());
                    let all = crate::fake_data::KINDS.join(", ");
                    d.error(
                        pos,
                        format!("unknown fake() kind `{kind}`{hint}; known kinds: {all}"),
                    );
                }
                ("pick", Some(ds)) if !self.datasets.contains(ds) => {
                    let hint = did_you_mean(ds, self.datasets.iter().map(String::as_str));
                    d.error(
                        pos,
                        format!("pick(): no dataset named `{ds}` under `data`{hint}"),
                    );
                }
                _ => {}
            }
        }
    }

    /// Checks every template's free variables; returns the `env.NAME`s referenced.
    pub fn validate(&self, d: &mut Diags, known: &Known<'_>) -> EnvRefs {
        let mut refs = EnvRefs::default();
        for u in &self.uses {
            let Ok(t) = self.env.get_template(&u.name) else {
                continue;
            };
            let mut names: Vec<String> = t.undeclared_variables(true).into_iter().collect();
            names.sort();
            for path in names {
                let (root, rest) = path
                    .split_once('.')
                    .map_or((path.as_str(), None), |(a, b)| (a, Some(b)));
                let field = rest.map(|r| r.split('.').next().unwrap_or(r));
                match (root, field) {
                    (r, _) if FUNCTIONS.contains(&r) => {}
                    ("env", Some(name)) => {
                        if std::env::var(name).is_err() {
                            d.error(u.pos, format!("environment variable `{name}` (used as `env.{name}`) is not set"));
                        }
                        refs.names.insert(name.to_owned());
                    }
                    ("env", None) => refs.all = true,
                    ("vars", Some(name)) if !known.vars.iter().any(|v| v == name) => {
                        let full: Vec<String> =
                            known.vars.iter().map(|v| format!("vars.{v}")).collect();
                        let hint =
                            did_you_mean(&format!("vars.{name}"), full.iter().map(String::as_str));
                        d.error(
                            u.pos,
                            format!(
                                "unknown variable `vars.{name}`: no such key under `vars`{hint}"
                            ),
                        );
                    }
                    ("data", Some(name)) if !self.datasets.iter().any(|v| v == name) => {
                        let full: Vec<String> =
                            self.datasets.iter().map(|v| format!("data.{v}")).collect();
                        let hint =
                            did_you_mean(&format!("data.{name}"), full.iter().map(String::as_str));
                        d.error(
                            u.pos,
                            format!(
                                "unknown dataset `data.{name}`: no such dataset under `data`{hint}"
                            ),
                        );
                    }
                    ("user", Some(name)) if name != "id" => {
                        d.error(
                            u.pos,
                            format!("unknown variable `user.{name}`: `user` only has `id`"),
                        );
                    }
                    ("vars" | "data" | "user", _) => {}
                    (name, _) => self.check_user_var(d, u, name, known),
                }
            }
        }
        refs
    }

    fn check_user_var(&self, d: &mut Diags, u: &Use, name: &str, known: &Known<'_>) {
        let users: Vec<&(&str, &HashSet<String>)> = match u.scope {
            Scope::All => known.users.iter().collect(),
            Scope::User(i) => known.users.get(i).into_iter().collect(),
        };
        for (user, declared) in users {
            if declared.contains(name) {
                continue;
            }
            let candidates = declared
                .iter()
                .map(String::as_str)
                .chain(FUNCTIONS.iter().copied())
                .chain(RESERVED.iter().copied());
            let hint = did_you_mean(name, candidates);
            let called = template_lint::scan(&u.source)
                .calls
                .iter()
                .any(|(f, _)| f == name);
            let message = if called {
                let all = FUNCTIONS.join(", ");
                format!("unknown function `{name}`{hint}; functions are: {all}")
            } else {
                format!(
                    "unknown variable `{name}`{hint}: not a function, not `vars`/`env`/`data`/`user`, \
                     and no `extract` or `set` in user type `{user}` sets it"
                )
            };
            d.error(u.pos, message);
            return;
        }
    }

    pub fn finish(self) -> Environment<'static> {
        self.env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_expression_detection() {
        assert_eq!(
            single_expression("{{ randint(1, 5) }}"),
            Some("randint(1, 5)")
        );
        assert_eq!(single_expression("{{- x -}}"), Some("x"));
        assert_eq!(single_expression("{{ a }} {{ b }}"), None);
        assert_eq!(single_expression(" {{ a }}"), None);
        assert_eq!(single_expression("{{ }}"), None);
        assert_eq!(single_expression("{{ '}}' }}"), None);
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("quote_id2"));
        assert!(is_identifier("_x"));
        assert!(!is_identifier("2x"));
        assert!(!is_identifier("a-b"));
        assert!(!is_identifier(""));
    }

    #[test]
    fn syntax_errors_are_reported_at_the_node() {
        let mut c = Compiler::new();
        let mut d = Diags::new("f");
        assert!(
            c.text(&mut d, "/x/{{ id", Pos { line: 4, column: 9 })
                .is_none()
        );
        assert!(
            c.text(&mut d, "/static", Pos::default())
                .is_some_and(|t| t.as_static() == Some("/static"))
        );
        let e = d.into_error("");
        assert_eq!((e.diagnostics()[0].line, e.diagnostics()[0].column), (4, 9));
        assert!(
            e.diagnostics()[0]
                .message
                .starts_with("template syntax error"),
            "{}",
            e.diagnostics()[0].message
        );
    }

    #[test]
    fn lint_catches_unknown_filters_and_fake_kinds() {
        let mut c = Compiler::new();
        let mut d = Diags::new("f");
        let _ = c.text(
            &mut d,
            "{{ x | uper }} {{ fake('emial') }} {{ y is definedd }}",
            Pos::default(),
        );
        let msgs: Vec<String> = d
            .into_error("")
            .diagnostics()
            .iter()
            .map(|m| m.message.clone())
            .collect();
        assert!(
            msgs.iter().any(|m| m == "unknown filter `uper`"),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains("unknown fake() kind `emial` (did you mean `email`?)")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m == "unknown test `definedd`"),
            "{msgs:?}"
        );
    }
}
