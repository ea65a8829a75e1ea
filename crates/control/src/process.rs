//! This process's CPU and memory, for the Workers tab, worker heartbeats and `/metrics`.
//!
//! `sysinfo` refreshes only our own pid, and at most every [`SAMPLE_EVERY`]: a refresh reads
//! `/proc`, and several views ask about once a second.

use std::time::{Duration, Instant};

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Minimum time between two samples.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(2);

/// One reading.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessSample {
    /// CPU use, percent of one core (may exceed 100 on several cores).
    pub cpu_percent: f64,
    /// Resident memory, bytes.
    pub memory_bytes: u64,
}

/// Samples this process.
pub struct ProcessSampler {
    system: Option<System>,
    pid: Option<Pid>,
    last: Option<(Instant, ProcessSample)>,
}

impl Default for ProcessSampler {
    fn default() -> Self {
        ProcessSampler::new()
    }
}

impl ProcessSampler {
    /// A sampler of the current process. On a platform without process information every
    /// sample reads 0.
    pub fn new() -> Self {
        ProcessSampler {
            system: System::new().ok(),
            pid: sysinfo::get_current_pid().ok(),
            last: None,
        }
    }

    /// CPU and memory, refreshed when the last sample is older than [`SAMPLE_EVERY`].
    pub fn sample(&mut self) -> ProcessSample {
        if let Some((at, sample)) = self.last
            && at.elapsed() < SAMPLE_EVERY
        {
            return sample;
        }
        let sample = match (&mut self.system, self.pid) {
            (Some(system), Some(pid)) => {
                system.refresh_processes_specifics(
                    ProcessesToUpdate::Some(&[pid]),
                    true,
                    ProcessRefreshKind::nothing().with_cpu().with_memory(),
                );
                system
                    .process(pid)
                    .map_or(ProcessSample::default(), |p| ProcessSample {
                        cpu_percent: f64::from(p.cpu_usage()),
                        memory_bytes: p.memory(),
                    })
            }
            _ => ProcessSample::default(),
        };
        self.last = Some((Instant::now(), sample));
        sample
    }
}

/// This process's cumulative CPU time and current memory, for `/metrics` and the OTLP metric
/// export.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ProcessTotals {
    /// User plus system CPU time since the process started, seconds.
    pub cpu_seconds: f64,
    /// The same split into (user, system) seconds, where the platform tells them apart
    /// (Linux: `/proc/self/stat`).
    pub cpu_modes: Option<(f64, f64)>,
    /// Resident memory (RSS), bytes.
    pub resident_bytes: u64,
    /// Virtual memory, bytes.
    pub virtual_bytes: u64,
}

/// This process's totals, read now (`None` where the platform does not tell). For `/metrics`
/// and the OTLP export, which read every few seconds at most.
pub fn totals() -> Option<ProcessTotals> {
    let pid = sysinfo::get_current_pid().ok()?;
    let mut system = System::new().ok()?;
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_cpu().with_memory(),
    );
    let p = system.process(pid)?;
    Some(ProcessTotals {
        // Milliseconds to seconds.
        cpu_seconds: p.accumulated_cpu_time() as f64 / 1000.0,
        cpu_modes: cpu_modes(),
        resident_bytes: p.memory(),
        virtual_bytes: p.virtual_memory(),
    })
}

/// User and system CPU seconds from `/proc/self/stat` (fields 14 and 15, in clock ticks of
/// `USER_HZ`, which Linux fixes at 100 for user space on every mainstream architecture; reading
/// `sysconf(_SC_CLK_TCK)` would need `unsafe`, which the workspace forbids).
fn cpu_modes() -> Option<(f64, f64)> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    parse_stat_times(&std::fs::read_to_string("/proc/self/stat").ok()?)
}

/// The (user, system) seconds of a `/proc/PID/stat` line. The command name (field 2) is in
/// parentheses and may contain spaces or parentheses, so fields are counted after the last `)`.
fn parse_stat_times(stat: &str) -> Option<(f64, f64)> {
    const USER_HZ: f64 = 100.0;
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name: state (field 3) is index 0, so utime (14) is 11 and stime (15) is 12.
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user as f64 / USER_HZ, system as f64 / USER_HZ))
}

/// This machine's host name (the pod name on Kubernetes), or `local`.
pub fn host_name() -> String {
    System::host_name()
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process_and_reuses_recent_samples() {
        let mut sampler = ProcessSampler::new();
        let first = sampler.sample();
        if cfg!(target_os = "linux") {
            assert!(first.memory_bytes > 0, "{first:?}");
        }
        assert_eq!(sampler.sample(), first, "a second call within SAMPLE_EVERY");
        assert!(!host_name().is_empty());
    }

    #[test]
    fn totals_read_this_process() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let t = totals().expect("Linux tells");
        assert!(
            t.resident_bytes > 0 && t.virtual_bytes >= t.resident_bytes,
            "{t:?}"
        );
        let (user, system) = t.cpu_modes.expect("Linux splits user and system");
        assert!(
            user >= 0.0 && system >= 0.0 && t.cpu_seconds >= 0.0,
            "{t:?}"
        );
    }

    #[test]
    fn stat_lines_are_read_after_the_command_name() {
        let line = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 8 0 1 2 3";
        assert_eq!(parse_stat_times(line), Some((2.5, 0.37)));
        assert_eq!(parse_stat_times("42 (x) S 1"), None);
        assert_eq!(parse_stat_times("no name here"), None);
    }
}
