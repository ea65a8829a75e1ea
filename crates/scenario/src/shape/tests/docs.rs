//! Every YAML example in docs/shapes.md must load (as a scenario when it has `users:`,
//! else as a shape file), and the documented error output and summary must be real.

use crate::{parse_shape_str, parse_str};
use std::path::Path;

const DOC: &str = include_str!("../../../../../docs/shapes.md");

fn blocks(fence: &str) -> Vec<&'static str> {
    DOC.split(fence)
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .collect()
}

#[test]
fn documented_shapes_load() {
    let mut loaded = 0;
    for block in blocks("```yaml\n") {
        if block.starts_with("users:") {
            let s = parse_str(block, "doc.yaml", Path::new("."))
                .unwrap_or_else(|e| panic!("documented scenario fails:\n{block}\n{e}"));
            assert!(s.shape.is_some(), "{block}");
        } else {
            parse_shape_str(block, "doc.yaml")
                .unwrap_or_else(|e| panic!("documented shape fails:\n{block}\n{e}"));
        }
        loaded += 1;
    }
    assert!(loaded >= 8, "{loaded}");
}

#[test]
fn documented_errors_and_summary_match() {
    let src =
        "timezone: Europe/Berln\ndiurnal:\n  min_users: 10\n  peak: \"25:00\"\n  max_users: 100\n";
    let e = match parse_shape_str(src, "shape.yaml") {
        Ok(_) => panic!("loaded"),
        Err(e) => e.to_string(),
    };
    assert!(
        DOC.contains(&format!("```\n{e}\n```")),
        "docs differ; actual:\n{e}"
    );
    let Some(first) = blocks("```yaml\n").into_iter().next() else {
        panic!("no example")
    };
    let s = parse_str(first, "doc.yaml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    let line = format!(
        "shape: {}",
        s.shape.as_ref().map(|s| s.describe()).unwrap_or_default()
    );
    assert!(s.summary().contains(&line), "{}", s.summary());
    assert!(
        DOC.contains(&format!("`{line}`")),
        "docs differ; actual: {line}"
    );
}
