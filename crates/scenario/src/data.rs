//! Datasets (`data:`): rows users draw from, loaded once at load time.
//!
//! A dataset comes from a CSV file (first line = column names; every row becomes an
//! object of strings), a JSON file (a list), or inline `rows:`. Rows are stored as template
//! values, so handing one to a template is a reference-count increment.
//!
//! Drawing order: `sequential` hands rows out round-robin across *all* users of this
//! process through one atomic counter (every credential gets used, evenly);
//! `random` draws with the user's own seeded RNG.

use crate::convert::json_to_value;
use crate::diagnostics::{Diags, Pos};
use crate::yaml::{self, Fields, Node};
use minijinja::Value;
use rand::RngExt;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Larger data files are refused: the whole dataset lives in memory for the run.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// At most this many rows per dataset.
const MAX_ROWS: usize = 1_000_000;

/// How rows are handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Sequential,
    Random,
}

/// One named dataset.
#[derive(Debug)]
pub(crate) struct Dataset {
    pub name: String,
    pub rows: Vec<Value>,
    pub order: Order,
    /// Next row for `sequential` (shared by every user of the scenario).
    cursor: AtomicU64,
}

impl Dataset {
    pub fn new(name: String, rows: Vec<Value>, order: Order) -> Self {
        Dataset {
            name,
            rows,
            order,
            cursor: AtomicU64::new(0),
        }
    }

    /// The next row for a user. Never panics (an empty dataset yields none/undefined,
    /// though loading refuses empty datasets).
    pub fn draw<R: RngExt + ?Sized>(&self, rng: &mut R) -> Value {
        if self.rows.is_empty() {
            return Value::from(());
        }
        let len = self.rows.len();
        let i = match self.order {
            // Relaxed is enough: we only need each fetch_add to return a distinct number.
            Order::Sequential => {
                let n = self.cursor.fetch_add(1, Ordering::Relaxed);
                usize::try_from(n % len as u64).unwrap_or(0)
            }
            Order::Random => rng.random_range(0..len),
        };
        self.rows.get(i).cloned().unwrap_or_default()
    }
}

/// Where the data files a scenario names are read from.
#[derive(Clone, Copy, Debug)]
pub enum DataFiles<'a> {
    /// From disk; relative paths resolve against this folder (the scenario file's).
    Dir(&'a Path),
    /// From memory, by the path as written in the scenario: what a master ships to its workers
    /// (see [`crate::Scenario::data_files`]).
    Shipped(&'a BTreeMap<String, String>),
}

/// Parses the `data:` mapping. The text of every file read is added to `read`, by the path as
/// written, so the scenario can be shipped with its data.
pub(crate) fn parse_data(
    d: &mut Diags,
    node: &Node,
    files: DataFiles<'_>,
    read: &mut BTreeMap<String, String>,
) -> Vec<Dataset> {
    let mut out = Vec::new();
    for (name, key, spec) in yaml::entries(d, node, "`data`") {
        if !crate::template::is_identifier(&name) {
            d.error(
                key.pos,
                format!("dataset name `{name}` must be an identifier (letters, digits, `_`)"),
            );
            continue;
        }
        if let Some(ds) = parse_dataset(d, name, spec, files, read) {
            out.push(ds);
        }
    }
    out
}

fn parse_dataset(
    d: &mut Diags,
    name: String,
    node: &Node,
    files: DataFiles<'_>,
    read: &mut BTreeMap<String, String>,
) -> Option<Dataset> {
    let what = format!("dataset `{name}`");
    let f = Fields::new(d, node, &what, &["file", "rows", "order", "format"])?;
    let order = match f.get("order") {
        None => Order::Sequential,
        Some(n) => match n.as_str() {
            Some("sequential") => Order::Sequential,
            Some("random") => Order::Random,
            _ => {
                d.error(n.pos, "expected `order: sequential` or `order: random`");
                Order::Sequential
            }
        },
    };
    if !f.exactly_one(
        d,
        &["file", "rows"],
        &format!("{what} needs exactly one of `file` or `rows`"),
    ) {
        return None;
    }
    let rows = match (f.get("file"), f.get("rows")) {
        (Some(_), Some(_)) | (None, None) => return None,
        (None, Some(rows)) => {
            if f.get("format").is_some() {
                d.error(f.pos, "`format` only applies to `file`");
            }
            yaml::list(d, rows, "`rows`")
                .iter()
                .map(|n| json_to_value(&n.to_json()))
                .collect()
        }
        (Some(file), None) => {
            let path = yaml::string(d, file, "a file path")?;
            let format = match f.get("format") {
                Some(n) => Some((yaml::string(d, n, "`format` (csv or json)")?, n.pos)),
                None => None,
            };
            let format = file_format(d, file.pos, &path, format)?;
            let text = read_file(d, file.pos, files, &path)?;
            let rows = parse_rows(d, file.pos, &path, &text, &format)?;
            read.insert(path, text);
            rows
        }
    };
    if rows.is_empty() {
        d.error(f.pos, format!("{what} has no rows"));
        return None;
    }
    if rows.len() > MAX_ROWS {
        d.error(f.pos, format!("{what} has more than {MAX_ROWS} rows"));
        return None;
    }
    Some(Dataset::new(name, rows, order))
}

/// Reads a data file (capped at [`MAX_FILE_BYTES`]).
fn read_file(d: &mut Diags, pos: Pos, files: DataFiles<'_>, shown: &str) -> Option<String> {
    let base_dir = match files {
        DataFiles::Dir(dir) => dir,
        DataFiles::Shipped(map) => {
            let text = map.get(shown).cloned();
            if text.is_none() {
                d.error(
                    pos,
                    format!("data file `{shown}` was not shipped with the scenario"),
                );
            }
            return text;
        }
    };
    let full = base_dir.join(shown);
    let size = std::fs::metadata(&full).map(|m| m.len());
    match size {
        Ok(n) if n > MAX_FILE_BYTES => {
            d.error(pos, format!("data file `{shown}` is larger than 64 MiB"));
            return None;
        }
        Ok(_) => {}
        Err(e) => {
            d.error(
                pos,
                format!("cannot read data file `{shown}`: {}", io_reason(&e)),
            );
            return None;
        }
    }
    match std::fs::read_to_string(&full) {
        Ok(t) => Some(t),
        Err(e) => {
            d.error(
                pos,
                format!("cannot read data file `{shown}`: {}", io_reason(&e)),
            );
            None
        }
    }
}

/// The format of a data file: `format:`, else the file's extension; `csv` or `json`.
fn file_format(
    d: &mut Diags,
    pos: Pos,
    shown: &str,
    format: Option<(String, Pos)>,
) -> Option<String> {
    let ext = Path::new(shown)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let (format, format_pos) = match format {
        Some((f, p)) => (f.to_ascii_lowercase(), p),
        None => (ext.unwrap_or_default(), pos),
    };
    if format != "csv" && format != "json" {
        d.error(
            format_pos,
            format!("cannot tell the format of `{shown}`: add `format: csv` or `format: json`"),
        );
        return None;
    }
    Some(format)
}

/// Parses a data file's text in its format.
fn parse_rows(
    d: &mut Diags,
    pos: Pos,
    shown: &str,
    text: &str,
    format: &str,
) -> Option<Vec<Value>> {
    let parsed = if format == "csv" {
        parse_csv(text)
    } else {
        parse_json_rows(text)
    };
    match parsed {
        Ok(rows) => Some(rows),
        Err(msg) => {
            d.error(pos, format!("data file `{shown}`: {msg}"));
            None
        }
    }
}

/// A short reason that never includes file contents.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::InvalidData => "not valid UTF-8 text".to_owned(),
        k => k.to_string(),
    }
}

/// A JSON file holding a list (of objects, usually).
pub(crate) fn parse_json_rows(text: &str) -> Result<Vec<Value>, String> {
    let v: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| format!("invalid JSON at line {} column {}", e.line(), e.column()))?;
    match v {
        serde_json::Value::Array(items) => Ok(items.iter().map(json_to_value).collect()),
        _ => Err("expected a JSON list of rows".to_owned()),
    }
}

/// RFC 4180 CSV: a header line, then rows; quoted fields may hold commas, quotes (`""`)
/// and line breaks. Blank lines are skipped. Each row becomes `{column: text}`.
///
/// Hand-written (60 lines) rather than a dependency: datasets are small and loaded once,
/// and every value stays a string, which is what credentials and ids want (no `007` -> 7).
pub(crate) fn parse_csv(text: &str) -> Result<Vec<Value>, String> {
    let records = csv_records(text.strip_prefix('\u{feff}').unwrap_or(text))?;
    let mut iter = records.into_iter();
    let Some((_, header)) = iter.next() else {
        return Err("empty CSV file (expected a header line)".to_owned());
    };
    let header: Vec<String> = header.into_iter().map(|h| h.trim().to_owned()).collect();
    if header.iter().any(String::is_empty) {
        return Err("the header line has an empty column name".to_owned());
    }
    let mut rows = Vec::new();
    for (line, fields) in iter {
        if fields.len() != header.len() {
            return Err(format!(
                "line {line} has {} fields, the header has {}",
                fields.len(),
                header.len()
            ));
        }
        rows.push(crate::convert::map_value(
            header.iter().map(String::as_str).zip(fields),
        ));
        if rows.len() > MAX_ROWS {
            return Err(format!("more than {MAX_ROWS} rows"));
        }
    }
    Ok(rows)
}

/// Splits CSV text into records (with the line each starts on), skipping blank lines.
fn csv_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let (mut line, mut start_line) = (1usize, 1usize);
    let mut in_quotes = false;
    let mut quoted_field = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !quoted_field => {
                in_quotes = true;
                quoted_field = true;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                quoted_field = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                end_record(&mut records, &mut fields, &mut field, start_line);
                quoted_field = false;
                line += 1;
                start_line = line;
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(format!("line {start_line}: a quoted field is never closed"));
    }
    end_record(&mut records, &mut fields, &mut field, start_line);
    Ok(records)
}

fn end_record(
    records: &mut Vec<(usize, Vec<String>)>,
    fields: &mut Vec<String>,
    field: &mut String,
    line: usize,
) {
    if fields.is_empty() && field.is_empty() {
        return; // blank line
    }
    fields.push(std::mem::take(field));
    records.push((line, std::mem::take(fields)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::Xoshiro256PlusPlus;

    #[test]
    fn csv_with_quotes_and_blank_lines() {
        let rows =
            parse_csv("email,password\r\na@x.io,\"p,w\"\"1\"\n\n\"b@x.io\",\"multi\nline\"\n")
                .unwrap_or_default();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].get_attr("password").ok().map(|v| v.to_string()),
            Some("p,w\"1".to_owned())
        );
        assert_eq!(
            rows[1].get_attr("password").ok().map(|v| v.to_string()),
            Some("multi\nline".to_owned())
        );
    }

    #[test]
    fn csv_errors() {
        assert!(parse_csv("").unwrap_err().contains("header"));
        assert!(
            parse_csv("a,b\n1\n")
                .unwrap_err()
                .contains("line 2 has 1 fields")
        );
        assert!(
            parse_csv("a,b\n\"1,2\n")
                .unwrap_err()
                .contains("never closed")
        );
    }

    #[test]
    fn json_rows() {
        assert_eq!(parse_json_rows("[{\"a\": 1}, 2]").map(|r| r.len()), Ok(2));
        assert!(parse_json_rows("{}").is_err());
        assert!(parse_json_rows("[").unwrap_err().contains("line 1"));
    }

    #[test]
    fn sequential_is_round_robin_and_random_is_seeded() {
        let rows: Vec<Value> = (0..3).map(Value::from).collect();
        let seq = Dataset::new("s".into(), rows.clone(), Order::Sequential);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let got: Vec<String> = (0..5).map(|_| seq.draw(&mut rng).to_string()).collect();
        assert_eq!(got, ["0", "1", "2", "0", "1"]);
        let rnd = Dataset::new("r".into(), rows, Order::Random);
        let draw = |seed| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            (0..8)
                .map(|_| rnd.draw(&mut rng).to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(5), draw(5));
    }
}
