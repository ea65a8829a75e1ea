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

/// Total CPU seconds and resident bytes of this process, read now (`None` where the platform
/// does not tell). For `/metrics`, which is scraped every few seconds at most.
pub fn cpu_seconds_and_rss() -> Option<(f64, u64)> {
    let pid = sysinfo::get_current_pid().ok()?;
    let mut system = System::new().ok()?;
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_cpu().with_memory(),
    );
    let p = system.process(pid)?;
    // Milliseconds to seconds.
    Some((p.accumulated_cpu_time() as f64 / 1000.0, p.memory()))
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
}
