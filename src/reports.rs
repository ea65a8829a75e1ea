//! Writing the end-of-run report files (`--csv PREFIX`, `--json FILE`).
//!
//! The stats crate renders the contents; this module only checks the destinations before the
//! run (so a typo in a path fails at once, not after a week) and writes the files at the end.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use cicada_stats::{Stats, report};

/// The report files a run writes.
#[derive(Clone, Debug, Default)]
pub struct ReportFiles {
    /// `PREFIX` of `PREFIX_stats.csv`, `PREFIX_failures.csv`, `PREFIX_stats_history.csv`.
    pub csv: Option<PathBuf>,
    /// The JSON report.
    pub json: Option<PathBuf>,
}

impl ReportFiles {
    /// The reports a run configuration asks for.
    pub fn of(cfg: &crate::config::RunConfig) -> Self {
        ReportFiles {
            csv: cfg.csv.clone(),
            json: cfg.json.clone(),
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

    /// Writes every requested report.
    pub fn write(&self, stats: &Stats) -> anyhow::Result<()> {
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
