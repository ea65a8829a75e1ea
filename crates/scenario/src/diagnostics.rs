//! Load-time diagnostics: where a problem is (file, line, column), what was expected,
//! and how [`LoadError`] prints them (`origin:line:col: message`, the source line, a caret).
//!
//! Loading collects diagnostics instead of stopping at the first one, so a user fixing a
//! scenario sees every problem in one run. The list is capped ([`MAX_DIAGNOSTICS`]) so a
//! pathological file cannot produce an unbounded report.

use std::fmt;
use std::sync::Arc;

/// At most this many diagnostics are kept; the rest are only counted.
pub const MAX_DIAGNOSTICS: usize = 100;

/// One problem found while loading a scenario.
///
/// `line` and `column` are 1-based. Both are 0 when the problem has no position in the
/// file (for example, the file itself cannot be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file (or origin name given to [`crate::parse_str`]) the problem is in.
    pub file: String,
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column (in characters), 0 when unknown.
    pub column: usize,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

/// A scenario that could not be loaded. Holds every diagnostic found (up to
/// [`MAX_DIAGNOSTICS`]); its `Display` prints each with its source line and a caret.
#[derive(Debug, Clone)]
pub struct LoadError {
    diagnostics: Vec<Diagnostic>,
    /// How many diagnostics were dropped because of the cap.
    omitted: usize,
    /// The scenario text, used to print the offending line under each diagnostic.
    source: Option<Arc<str>>,
}

impl LoadError {
    /// Every diagnostic, in file order where possible.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// An error about a whole file (no line), e.g. one that cannot be read.
    pub fn single(file: &str, message: impl Into<String>) -> Self {
        LoadError {
            diagnostics: vec![Diagnostic {
                file: file.to_owned(),
                line: 0,
                column: 0,
                message: message.into(),
            }],
            omitted: 0,
            source: None,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
            if let Some(line) = self.source.as_deref().and_then(|s| source_line(s, d.line)) {
                let number = d.line.to_string();
                let pad = " ".repeat(number.len());
                // Tabs are printed as one space so the caret lines up.
                let line = redact_line(line);
                let shown: String = line
                    .chars()
                    .map(|c| if c == '\t' { ' ' } else { c })
                    .collect();
                write!(f, "\n {number} | {shown}")?;
                // No caret past the (possibly cut) line: it would point at nothing.
                if d.column > 0 && d.column <= shown.chars().count() + 1 {
                    let caret_pad = " ".repeat(d.column - 1);
                    write!(f, "\n {pad} | {caret_pad}^")?;
                }
            }
        }
        if self.omitted > 0 {
            write!(f, "\n... and {} more problem(s)", self.omitted)?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// The 1-based `line` of `text`, without its line ending; `None` when out of range.
/// Very long lines are cut so a minified file does not flood the terminal.
fn source_line(text: &str, line: usize) -> Option<&str> {
    if line == 0 {
        return None;
    }
    let l = text.lines().nth(line - 1)?;
    let cut = l.char_indices().nth(200).map_or(l.len(), |(i, _)| i);
    Some(&l[..cut])
}

/// A source line as printed under a diagnostic: the values of secret-named keys
/// (`password: x`, `{ token: "x" }`, see `cicada_redact::is_secret_name`) and secret shapes
/// are redacted, so an error next to a secret does not print it (to a terminal, or to the
/// JSON logs of a pod).
fn redact_line(line: &str) -> std::borrow::Cow<'_, str> {
    let b = line.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while let Some(rel) = line.get(i..).and_then(|rest| rest.find(':')) {
        let colon = i + rel;
        i = colon + 1;
        let key_end = if colon > 0 && matches!(b[colon - 1], b'"' | b'\'') {
            colon - 1
        } else {
            colon
        };
        let mut key_start = key_end;
        while key_start > 0
            && (b[key_start - 1].is_ascii_alphanumeric()
                || matches!(b[key_start - 1], b'_' | b'-' | b'.'))
        {
            key_start -= 1;
        }
        if key_start == key_end
            || b.get(colon + 1) != Some(&b' ')
            || !cicada_redact::is_secret_name(&line[key_start..key_end])
        {
            continue;
        }
        let start = colon + 1 + line[colon + 1..].len() - line[colon + 1..].trim_start().len();
        let end = match b.get(start) {
            None | Some(b'{' | b'[' | b'|' | b'>' | b'#') => continue,
            Some(&q @ (b'"' | b'\'')) => line[start + 1..]
                .find(char::from(q))
                .map_or(line.len(), |e| start + 1 + e + 1),
            Some(_) => {
                let rest = &line[start..];
                let stop = rest.find([',', '}', ']']).unwrap_or(rest.len());
                let stop = rest[..stop].find(" #").unwrap_or(stop);
                start + rest[..stop].trim_end().len()
            }
        };
        if end > start && start >= copied {
            out.push_str(&line[copied..start]);
            out.push_str(cicada_redact::MARKER);
            copied = end;
            i = end.max(i);
        }
    }
    if copied == 0 {
        return cicada_redact::scrub(line);
    }
    out.push_str(&line[copied..]);
    std::borrow::Cow::Owned(cicada_redact::scrub(&out).into_owned())
}

/// A position in the scenario file (1-based line and column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

/// Collects diagnostics for one file while it is parsed and compiled.
#[derive(Debug)]
pub(crate) struct Diags {
    file: String,
    items: Vec<Diagnostic>,
    omitted: usize,
}

impl Diags {
    pub fn new(file: &str) -> Self {
        Diags {
            file: file.to_owned(),
            items: Vec::new(),
            omitted: 0,
        }
    }

    /// Records a problem at `pos`.
    pub fn error(&mut self, pos: Pos, message: impl Into<String>) {
        if self.items.len() >= MAX_DIAGNOSTICS {
            self.omitted += 1;
            return;
        }
        self.items.push(Diagnostic {
            file: self.file.clone(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Turns the collected diagnostics into a [`LoadError`], sorted by position.
    pub fn into_error(mut self, source: &str) -> LoadError {
        self.items.sort_by_key(|d| (d.line, d.column));
        LoadError {
            diagnostics: self.items,
            omitted: self.omitted,
            source: Some(Arc::from(source)),
        }
    }
}

/// `" (did you mean `x`?)"` when one of `candidates` is close to `word`, else `""`.
/// (Also used by the binary for its config file's keys.)
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let score = strsim::jaro_winkler(&word.to_ascii_lowercase(), &c.to_ascii_lowercase());
        let close = score >= 0.8 || strsim::levenshtein(word, c) <= 2;
        if close && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    match best {
        Some((_, c)) => format!(" (did you mean `{c}`?)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_shows_line_and_caret() {
        let mut d = Diags::new("s.yaml");
        d.error(Pos { line: 2, column: 3 }, "bad thing");
        let e = d.into_error("a: 1\nb:  x\n");
        assert_eq!(e.to_string(), "s.yaml:2:3: bad thing\n 2 | b:  x\n   |   ^");
        assert_eq!(e.diagnostics()[0].line, 2);
    }

    #[test]
    fn secret_values_are_not_printed_under_a_diagnostic() {
        for (line, shown) in [
            ("  password: hunter2", "  password: [redacted]"),
            (
                "  api_key: \"a, b\"  # the key",
                "  api_key: [redacted]  # the key",
            ),
            (
                "secrets: { password: abc, pin: '1234' }",
                "secrets: { password: [redacted], pin: '1234' }",
            ),
            (
                "  - { token: x1, user: bob }",
                "  - { token: [redacted], user: bob }",
            ),
            ("  password:", "  password:"),
            ("  secrets:", "  secrets:"),
            ("  token: {{ vars.x }}", "  token: {{ vars.x }}"),
            ("  path: /x?token=abc", "  path: /x?token=[redacted]"),
            ("  name: plain", "  name: plain"),
        ] {
            assert_eq!(redact_line(line), shown, "{line}");
        }
        let mut d = Diags::new("s.yaml");
        d.error(
            Pos {
                line: 2,
                column: 13,
            },
            "too short",
        );
        let e = d.into_error("secrets:\n  password: \"12\"\n");
        assert!(!e.to_string().contains("12\""), "{e}");
    }

    #[test]
    fn unknown_position_prints_file_only() {
        let e = LoadError::single("x.yaml", "cannot read");
        assert_eq!(e.to_string(), "x.yaml: cannot read");
    }

    #[test]
    fn caps_the_number_of_diagnostics() {
        let mut d = Diags::new("f");
        for i in 0..(MAX_DIAGNOSTICS + 5) {
            d.error(
                Pos {
                    line: i + 1,
                    column: 1,
                },
                "x",
            );
        }
        let e = d.into_error("");
        assert_eq!(e.diagnostics().len(), MAX_DIAGNOSTICS);
        assert!(e.to_string().ends_with("... and 5 more problem(s)"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("wieght", ["weight", "wait"]),
            " (did you mean `weight`?)"
        );
        assert_eq!(did_you_mean("zzzzzz", ["weight", "wait"]), "");
        assert_eq!(
            did_you_mean("on_strat", ["on_start", "on_stop"]),
            " (did you mean `on_start`?)"
        );
    }
}
