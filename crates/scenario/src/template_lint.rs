//! A small scanner over template source that finds what minijinja only checks when a
//! template *runs*: filter names (`x | upper`), test names (`x is defined`) and the
//! literal first argument of calls (`fake('email')`, `pick('creds')`). Loading uses it to
//! turn those runtime failures into load-time diagnostics.
//!
//! It is deliberately simple (strings, identifiers, `|`, parentheses): anything it does
//! not understand is skipped, so at worst a problem is reported at runtime instead.

/// What the scanner found in one template.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Lint {
    pub filters: Vec<String>,
    pub tests: Vec<String>,
    /// Called names, with their first argument when it is a string literal.
    pub calls: Vec<(String, Option<String>)>,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Pipe,
    Open,
    Close,
    Comma,
    Other,
}

pub(crate) fn scan(src: &str) -> Lint {
    let mut lint = Lint::default();
    let mut i = 0;
    while let Some(off) = src[i..].find('{') {
        let at = i + off;
        let rest = &src[at..];
        if rest.starts_with("{#") {
            i = rest.find("#}").map_or(src.len(), |e| at + e + 2);
        } else if rest.starts_with("{{") || rest.starts_with("{%") {
            let close = if rest.starts_with("{{") { "}}" } else { "%}" };
            let (toks, end) = tokens(src, at + 2, close);
            i = end;
            if close == "%}" && matches!(toks.first(), Some(Tok::Ident(w)) if w == "raw") {
                // Skip the raw block's literal text up to `{% endraw %}`.
                i = src[i..].find("endraw").map_or(src.len(), |e| {
                    let after = i + e;
                    src[after..].find("%}").map_or(src.len(), |c| after + c + 2)
                });
                continue;
            }
            collect(&toks, &mut lint);
        } else {
            i = at + 1;
        }
    }
    lint
}

/// Tokens from `start` up to the closing delimiter (outside strings); returns the
/// tokens and the index after the delimiter.
fn tokens(src: &str, start: usize, close: &str) -> (Vec<Tok>, usize) {
    let mut toks = Vec::new();
    let b = src.as_bytes();
    let mut i = start;
    while i < b.len() {
        if src[i..].starts_with(close) {
            return (toks, i + close.len());
        }
        let c = b[i];
        match c {
            b'\'' | b'"' => {
                let mut j = i + 1;
                let mut s = String::new();
                while j < b.len() && b[j] != c {
                    if b[j] == b'\\' {
                        j += 1;
                    }
                    j += 1;
                }
                if let Some(text) = src.get(i + 1..j.min(b.len())) {
                    s.push_str(text);
                }
                toks.push(Tok::Str(s));
                i = j + 1;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let j = src[i..]
                    .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_'))
                    .map_or(b.len(), |e| i + e);
                toks.push(Tok::Ident(src[i..j].to_owned()));
                i = j;
            }
            b'|' => {
                toks.push(Tok::Pipe);
                i += 1;
            }
            b'(' => {
                toks.push(Tok::Open);
                i += 1;
            }
            b')' => {
                toks.push(Tok::Close);
                i += 1;
            }
            b',' => {
                toks.push(Tok::Comma);
                i += 1;
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                toks.push(Tok::Other);
                // Step over a whole (possibly multi-byte) character.
                i += src[i..].chars().next().map_or(1, char::len_utf8);
            }
        }
    }
    (toks, b.len())
}

fn collect(toks: &[Tok], lint: &mut Lint) {
    let ident = |k: usize| match toks.get(k) {
        Some(Tok::Ident(s)) => Some(s.as_str()),
        _ => None,
    };
    for (k, t) in toks.iter().enumerate() {
        match t {
            Tok::Pipe => {
                if let Some(name) = ident(k + 1) {
                    lint.filters.push(name.to_owned());
                }
            }
            Tok::Ident(w) if w == "is" => {
                let next = if ident(k + 1) == Some("not") {
                    k + 2
                } else {
                    k + 1
                };
                if let Some(name) = ident(next) {
                    lint.tests.push(name.to_owned());
                }
            }
            Tok::Ident(name) if toks.get(k + 1) == Some(&Tok::Open) => {
                // A method call (`x.items()`) is preceded by `.`, which we see as Other;
                // a filter call (`| default(1)`) by a pipe: neither is a function.
                let prev = k.checked_sub(1).and_then(|p| toks.get(p));
                if matches!(prev, Some(Tok::Other | Tok::Pipe))
                    || matches!(prev, Some(Tok::Ident(w)) if w == "is" || w == "not")
                {
                    continue;
                }
                let literal = match (toks.get(k + 2), toks.get(k + 3)) {
                    (Some(Tok::Str(s)), Some(Tok::Close | Tok::Comma)) => Some(s.clone()),
                    _ => None,
                };
                lint.calls.push((name.clone(), literal));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_filters_tests_and_literal_calls() {
        let l = scan(
            "a {{ x | upper | default('|') }} {% if y is not defined %}{{ fake('email') }}{% endif %}{# {{ z|nope }} #}",
        );
        assert_eq!(l.filters, ["upper", "default"]);
        assert_eq!(l.tests, ["defined"]);
        assert_eq!(l.calls, [("fake".to_owned(), Some("email".to_owned()))]);
    }

    #[test]
    fn skips_raw_and_methods() {
        let l =
            scan("{% raw %}{{ a | nope }}{% endraw %}{{ d.items() }}{{ pick(\"creds\").email }}");
        assert!(l.filters.is_empty());
        assert_eq!(l.calls, [("pick".to_owned(), Some("creds".to_owned()))]);
    }

    #[test]
    fn never_panics_on_garbage() {
        for s in [
            "{{",
            "{%",
            "{{ 'unterminated",
            "{{ \"\\",
            "{{ é | ü }}",
            "{#",
            "{% raw %}",
        ] {
            let _ = scan(s);
        }
    }
}
