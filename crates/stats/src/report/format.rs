//! Number and text formatting shared by the reports.

use std::borrow::Cow;

/// Widest name column of the console tables; longer names are shortened in the middle.
pub(crate) const MAX_NAME_WIDTH: usize = 60;
/// Widest type (method) column.
pub(crate) const MAX_TYPE_WIDTH: usize = 10;

/// Milliseconds for the console: two decimals below 10 ms, one below 100 ms, none above (so
/// sub-millisecond latencies do not all print as 0).
pub(crate) fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}")
    } else if v < 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.0}")
    }
}

/// A float the way Python's `csv` module writes it (`repr`): shortest round-trip form with at
/// least one decimal (`12.0`, `0.125`), rounded to 6 decimals first to avoid `0.30000000000000004`.
pub(crate) fn py_float(v: f64) -> String {
    if !v.is_finite() {
        return "0.0".to_owned();
    }
    let r = (v * 1e6).round() / 1e6;
    // `{:?}` prints `12.0` for integral values, unlike `{}`.
    format!("{r:?}")
}

/// Whole milliseconds, as Locust prints medians and percentiles.
pub(crate) fn int_ms(v: f64) -> String {
    if v.is_finite() && v > 0.0 {
        format!("{}", v.round() as u64)
    } else {
        "0".to_owned()
    }
}

/// Replaces control characters (newlines, tabs, escapes) so a cell stays on one line.
pub(crate) fn one_line(s: &str) -> Cow<'_, str> {
    if s.chars().any(char::is_control) {
        Cow::Owned(
            s.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect(),
        )
    } else {
        Cow::Borrowed(s)
    }
}

/// Shortens `s` to at most `width` characters by cutting out its middle (`/api/v1/...{id}/docs`):
/// request names usually differ at the end, so both ends are kept.
pub(crate) fn fit(s: &str, width: usize) -> String {
    let s = one_line(s);
    let len = s.chars().count();
    if len <= width {
        return s.into_owned();
    }
    if width <= 3 {
        return s.chars().take(width).collect();
    }
    let keep = width - 3;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    let mut out: String = s.chars().take(head).collect();
    out.push_str("...");
    out.extend(s.chars().skip(len - tail));
    out
}

/// One CSV field, quoted like Python's `csv.QUOTE_MINIMAL`: only when it contains a comma, a
/// quote or a line break; quotes are doubled.
pub(crate) fn csv_field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(ms(0.4567), "0.46");
        assert_eq!(ms(45.67), "45.7");
        assert_eq!(ms(4567.8), "4568");
        assert_eq!(py_float(12.0), "12.0");
        assert_eq!(py_float(0.1 + 0.2), "0.3");
        assert_eq!(py_float(f64::NAN), "0.0");
        assert_eq!(int_ms(12.5), "13");
        assert_eq!(int_ms(0.2), "0");
    }

    #[test]
    fn fits_names() {
        assert_eq!(fit("/short", 10), "/short");
        let f = fit("/api/v1/claims/{claim_id}/documents/{doc_id}", 20);
        assert_eq!(f.chars().count(), 20);
        assert!(
            f.starts_with("/api/v1") && f.ends_with("{doc_id}") && f.contains("..."),
            "{f}"
        );
        assert_eq!(fit("abcdef", 2), "ab");
        assert_eq!(fit("ééééééééé", 5).chars().count(), 5);
        assert_eq!(fit("a\nb", 10), "a b");
    }

    #[test]
    fn quotes_csv() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
