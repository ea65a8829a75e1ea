//! Every YAML example in docs/scenarios.md must load (environment variables the examples
//! read are the only accepted problem: tests cannot set them).

use super::temp_dir;
use crate::parse_str;

const DOC: &str = include_str!("../../../../docs/scenarios.md");

fn yaml_blocks() -> Vec<&'static str> {
    DOC.split("```yaml\n")
        .skip(1)
        .filter_map(|b| b.split("\n```").next())
        .collect()
}

#[test]
fn documented_scenarios_load() {
    let dir = temp_dir();
    std::fs::write(dir.join("users.csv"), "email,password\na@x.io,pw\n")
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("products.json"), "[{\"code\": \"A\"}]")
        .unwrap_or_else(|e| panic!("{e}"));
    let mut loaded = 0;
    for block in yaml_blocks() {
        // Fragments (a `data:` or `json:` snippet) are not whole scenarios.
        if !block.contains("users:") {
            continue;
        }
        match parse_str(block, "doc.yaml", &dir) {
            Ok(_) => loaded += 1,
            Err(e) => {
                let only_env = e
                    .diagnostics()
                    .iter()
                    .all(|d| d.message.starts_with("environment variable"));
                assert!(only_env, "documented scenario fails to load:\n{block}\n{e}");
                loaded += 1;
            }
        }
    }
    assert!(loaded >= 5, "{loaded}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn documented_summary_matches() {
    let blocks = yaml_blocks();
    let Some(example) = blocks.iter().find(|b| b.contains("name: NewCustomer")) else {
        panic!("example 3 missing")
    };
    let patched = example.replace("{{ env.ADMIN_KEY }}", "key");
    let s = parse_str(&patched, "doc.yaml", std::path::Path::new("."))
        .unwrap_or_else(|e| panic!("{e}"));
    let summary = s.summary();
    assert!(
        DOC.contains(&format!("```\n{summary}```")),
        "docs summary differs; actual:\n{summary}"
    );
}
