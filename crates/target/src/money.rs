//! Money and numbers the way the real services handle them.
//!
//! - Money columns are Prisma `Decimal`s with two decimals and go out as JSON **strings**
//!   written like `Decimal.toString()`: `"1250"`, `"3200.5"`, `"0.05"`. [`Money`] holds whole
//!   cents, parsed exactly from the decimal text (no float rounding surprises).
//! - Input numbers are checked like express-validator's `isNumeric` (a JSON number, or a string
//!   matching `^[+-]?([0-9]*[.])?[0-9]+$`).
//! - Numbers the server computes itself (the premium estimate) are JSON numbers written like
//!   JavaScript writes them: `650`, not `650.0`.

use std::fmt;

use serde_json::Value;

/// Largest absolute amount accepted, in cents (10^13 dollars: far beyond any insurance sum,
/// far below `i64` overflow).
const MAX_CENTS: i64 = 1_000_000_000_000_000;

/// An amount of money in whole cents.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    /// From whole cents.
    pub fn from_cents(cents: i64) -> Money {
        Money(cents)
    }

    /// The amount in cents.
    pub fn cents(self) -> i64 {
        self.0
    }

    /// Parses decimal text (`isNumeric` syntax), rounding half away from zero to cents like
    /// a `NUMERIC(_, 2)` column. `None` when the text is not numeric or out of range.
    pub fn parse(text: &str) -> Option<Money> {
        if !is_numeric(text) {
            return None;
        }
        let (negative, digits) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
        let mut cents: i64 = 0;
        for b in int_part.bytes() {
            cents = cents.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
            if cents > MAX_CENTS {
                return None;
            }
        }
        let frac = frac_part.as_bytes();
        let digit = |i: usize| frac.get(i).map_or(0, |b| i64::from(b - b'0'));
        cents = cents
            .checked_mul(100)?
            .checked_add(digit(0) * 10 + digit(1))?;
        if digit(2) >= 5 {
            cents += 1;
        }
        if cents > MAX_CENTS {
            return None;
        }
        Some(Money(if negative { -cents } else { cents }))
    }

    /// From a float already rounded to cents (server-computed premiums).
    pub fn from_f64(x: f64) -> Option<Money> {
        let cents = (x * 100.0).round();
        if !cents.is_finite() || cents.abs() > MAX_CENTS as f64 {
            return None;
        }
        Some(Money(cents as i64))
    }

    /// The amount as a float (what clients get from `parseFloat`).
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl fmt::Display for Money {
    /// `Decimal.toString()`: no trailing zeros, no trailing point.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (whole, frac) = (abs / 100, abs % 100);
        match frac {
            0 => write!(f, "{sign}{whole}"),
            f2 if f2 % 10 == 0 => write!(f, "{sign}{whole}.{}", f2 / 10),
            f2 => write!(f, "{sign}{whole}.{f2:02}"),
        }
    }
}

/// validator.js `isNumeric` (no locale): `^[+-]?([0-9]*[.])?[0-9]+$`.
pub fn is_numeric(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => ("", body),
    };
    !frac_part.is_empty()
        && frac_part.bytes().all(|b| b.is_ascii_digit())
        && int_part.bytes().all(|b| b.is_ascii_digit())
}

/// The text express-validator checks for a JSON value (`String(value)`), for the values that
/// can ever be numeric; `None` for absent, null, booleans, arrays and objects.
pub fn numeric_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Money from a JSON value that passes `isNumeric`.
pub fn money_of(v: Option<&Value>) -> Option<Money> {
    Money::parse(&numeric_text(v)?)
}

/// JavaScript `parseFloat` on a JSON value that passed `isNumeric`.
pub fn float_of(v: Option<&Value>) -> Option<f64> {
    let text = numeric_text(v)?;
    if !is_numeric(&text) {
        return None;
    }
    text.parse::<f64>().ok().filter(|x| x.is_finite())
}

/// JavaScript `Math.round(x * 100) / 100`.
pub fn round_cents(x: f64) -> f64 {
    (x * 100.0 + 0.5).floor() / 100.0
}

/// A JSON number written like JavaScript writes it (integral values without `.0`).
pub fn js_number(x: f64) -> Value {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// A number as JavaScript's template strings print it (`650`, `1234.5`).
pub fn js_display(x: f64) -> String {
    js_number(x).to_string()
}

/// JavaScript `parseInt(s, 10)`: optional whitespace and sign, then the leading digits;
/// `None` for NaN.
pub fn js_parse_int(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let digits: &str = &rest[..rest.bytes().take_while(u8::is_ascii_digit).count()];
    if digits.is_empty() {
        return None;
    }
    // Absurdly long numbers saturate instead of failing (JavaScript would lose precision).
    let n = digits.parse::<i64>().unwrap_or(i64::MAX);
    Some(if neg { -n } else { n })
}

/// JavaScript `parseFloat(s)`: the longest leading decimal number; `None` for NaN.
pub fn js_parse_float(s: &str) -> Option<f64> {
    let t = s.trim_start();
    let bytes = t.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        end = 1;
    }
    let int_start = end;
    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    let mut digits = end - int_start;
    if bytes.get(end) == Some(&b'.') {
        let mut k = end + 1;
        while bytes.get(k).is_some_and(u8::is_ascii_digit) {
            k += 1;
        }
        digits += k - end - 1;
        if k > end + 1 || digits > 0 {
            end = k;
        }
    }
    if digits == 0 {
        return None;
    }
    // An exponent only counts when digits follow it.
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let mut k = end + 1;
        if matches!(bytes.get(k), Some(b'+' | b'-')) {
            k += 1;
        }
        let exp_start = k;
        while bytes.get(k).is_some_and(u8::is_ascii_digit) {
            k += 1;
        }
        if k > exp_start {
            end = k;
        }
    }
    t[..end].trim_end_matches('.').parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn money_prints_like_decimal_to_string() {
        for (cents, text) in [
            (125_000, "1250"),
            (320_050, "3200.5"),
            (5, "0.05"),
            (-150, "-1.5"),
            (0, "0"),
            (123_456, "1234.56"),
        ] {
            assert_eq!(Money::from_cents(cents).to_string(), text);
        }
    }

    #[test]
    fn money_parses_exactly_and_rounds_half_away_from_zero() {
        assert_eq!(Money::parse("1234.565"), Some(Money::from_cents(123_457)));
        assert_eq!(Money::parse("1.005"), Some(Money::from_cents(101)));
        assert_eq!(Money::parse("-2.5"), Some(Money::from_cents(-250)));
        assert_eq!(Money::parse(".5"), Some(Money::from_cents(50)));
        assert_eq!(Money::parse("+7"), Some(Money::from_cents(700)));
        assert_eq!(Money::parse("1e5"), None);
        assert_eq!(Money::parse("12."), None);
        assert_eq!(Money::parse("99999999999999999999999"), None);
    }

    #[test]
    fn is_numeric_matches_validator_js() {
        for ok in ["0", "12", "-12", "+1.5", ".5", "00.10"] {
            assert!(is_numeric(ok), "{ok}");
        }
        for bad in ["", "-", ".", "1.", "1e3", "abc", " 1", "1 ", "1,5", "1.2.3"] {
            assert!(!is_numeric(bad), "{bad}");
        }
    }

    #[test]
    fn json_values_are_checked_as_strings() {
        assert_eq!(
            money_of(Some(&json!(25000))),
            Some(Money::from_cents(2_500_000))
        );
        assert_eq!(
            money_of(Some(&json!("99.9"))),
            Some(Money::from_cents(9990))
        );
        assert_eq!(money_of(Some(&json!(true))), None);
        assert_eq!(money_of(Some(&json!(null))), None);
        assert_eq!(money_of(None), None);
        assert_eq!(float_of(Some(&json!("1250.5"))), Some(1250.5));
    }

    #[test]
    fn javascript_number_rules() {
        assert_eq!(js_number(650.0).to_string(), "650");
        assert_eq!(js_number(1234.5).to_string(), "1234.5");
        assert_eq!(js_display(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(round_cents(1.005 * 1000.0), 1005.0);
        // JavaScript: Math.round(2.345 * 100) / 100 === 2.35 but 1.005 gives 1 (binary
        // floating point); the same arithmetic gives the same cents.
        assert_eq!(round_cents(2.345), 2.35);
        assert_eq!(round_cents(1.005), 1.0);
        assert_eq!(js_parse_int("10abc"), Some(10));
        assert_eq!(js_parse_int(" -3"), Some(-3));
        assert_eq!(js_parse_int("1.9"), Some(1));
        assert_eq!(js_parse_int("abc"), None);
        assert_eq!(js_parse_int(""), None);
        assert_eq!(js_parse_float("12.5kg"), Some(12.5));
        assert_eq!(js_parse_float("1e3"), Some(1000.0));
        assert_eq!(js_parse_float("1e"), Some(1.0));
        assert_eq!(js_parse_float(".5"), Some(0.5));
        assert_eq!(js_parse_float("5."), Some(5.0));
        assert_eq!(js_parse_float("."), None);
        assert_eq!(js_parse_float("x"), None);
    }
}
