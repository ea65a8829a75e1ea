//! Writing the end-of-run report files (`--csv PREFIX`, `--json FILE`, `--html FILE`).
//!
//! The stats crate renders the CSV and JSON contents and the web crate the HTML report; this
//! module only checks the destinations before the run (so a typo in a path fails at once, not
//! after a week) and writes the files at the end.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cicada_stats::{Stats, report};
use cicada_web::{ReportInfo, html_report};

use crate::config::Source;

/// The report files a run writes.
#[derive(Clone, Debug, Default)]
pub struct ReportFiles {
    /// `PREFIX` of `PREFIX_stats.csv`, `PREFIX_failures.csv`, `PREFIX_stats_history.csv`.
    pub csv: Option<PathBuf>,
    /// The JSON report.
    pub json: Option<PathBuf>,
    /// The self-contained HTML report.
    pub html: Option<PathBuf>,
}

/// How reports name the scenario: the file name, or the built-in scenario's name.
pub fn scenario_label(source: &Source) -> String {
    match source {
        Source::File(path) => path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        Source::Builtin(name) => name.clone(),
    }
}

impl ReportFiles {
    /// The reports a run configuration asks for.
    pub fn of(cfg: &crate::config::RunConfig) -> Self {
        ReportFiles {
            csv: cfg.csv.clone(),
            json: cfg.json.clone(),
            html: cfg.html.clone(),
        }
    }

    fn paths(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(prefix) = &self.csv {
            for suffix in ["_stats.csv", "_failures.csv", "_stats_history.csv"] {
                out.push(with_suffix(prefix, suffix));
            }
        }
        if let Some(json) = &self.json {
            out.push(json.clone());
        }
        if let Some(html) = &self.html {
            out.push(html.clone());
        }
        out
    }

    /// Checks that every destination's directory exists, before anything runs.
    pub fn check(&self) -> Result<(), String> {
        for path in self.paths() {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            if !dir.is_dir() {
                return Err(format!(
                    "cannot write {}: directory {} does not exist",
                    path.display(),
                    dir.display()
                ));
            }
        }
        Ok(())
    }

    /// Writes every requested report (`info` names the scenario and host in the HTML report).
    pub fn write(&self, stats: &Stats, info: &ReportInfo) -> anyhow::Result<()> {
        if let Some(prefix) = &self.csv {
            write(
                &with_suffix(prefix, "_stats.csv"),
                &report::csv_stats(stats),
            )?;
            write(
                &with_suffix(prefix, "_failures.csv"),
                &report::csv_failures(stats),
            )?;
            write(
                &with_suffix(prefix, "_stats_history.csv"),
                &report::csv_history(stats),
            )?;
        }
        if let Some(path) = &self.json {
            let json = serde_json::to_string_pretty(&report::json_report(stats))?;
            write(path, &json)?;
        }
        if let Some(path) = &self.html {
            write(path, &html_report(stats, info))?;
        }
        Ok(())
    }
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn write(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(file = %path.display(), "report written");
    Ok(())
}
