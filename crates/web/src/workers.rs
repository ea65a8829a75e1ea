//! The Workers tab. In standalone mode there is one worker: this process. Its CPU and memory
//! come from `sysinfo`, refreshing only our own pid and at most every
//! [`SAMPLE_EVERY`] (a refresh reads `/proc`; live views ask once a second).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cicada_control::Status;
use serde::Serialize;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Minimum time between two samples.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(2);

/// One row of `GET /api/workers`.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct WorkerRow {
    /// Stable id (the host name, which is the pod name on Kubernetes).
    pub id: String,
    /// The run state as the worker reports it.
    pub state: cicada_control::RunState,
    /// Users running on it.
    pub users: u64,
    /// CPU use of the process, percent of one core (may exceed 100 on several cores).
    pub cpu_percent: f64,
    /// Resident memory, bytes.
    pub memory_bytes: u64,
    /// Last heartbeat, Unix seconds (standalone: now).
    pub last_seen: u64,
}

/// Samples this process.
pub(crate) struct LocalWorker {
    id: String,
    system: Option<System>,
    pid: Option<Pid>,
    last: Option<(Instant, f64, u64)>,
}

impl LocalWorker {
    pub(crate) fn new() -> Self {
        let id = System::host_name()
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "local".to_owned());
        LocalWorker {
            id,
            // Without process information (an unsupported platform), CPU and memory read 0.
            system: System::new().ok(),
            pid: sysinfo::get_current_pid().ok(),
            last: None,
        }
    }

    /// CPU % and memory, refreshed when the last sample is older than [`SAMPLE_EVERY`].
    fn sample(&mut self) -> (f64, u64) {
        if let Some((at, cpu, mem)) = self.last
            && at.elapsed() < SAMPLE_EVERY
        {
            return (cpu, mem);
        }
        let (cpu, mem) = match (&mut self.system, self.pid) {
            (Some(system), Some(pid)) => {
                system.refresh_processes_specifics(
                    ProcessesToUpdate::Some(&[pid]),
                    true,
                    ProcessRefreshKind::nothing().with_cpu().with_memory(),
                );
                system
                    .process(pid)
                    .map_or((0.0, 0), |p| (f64::from(p.cpu_usage()), p.memory()))
            }
            _ => (0.0, 0),
        };
        self.last = Some((Instant::now(), cpu, mem));
        (cpu, mem)
    }

    /// The one row of a standalone run.
    pub(crate) fn rows(&mut self, status: &Status) -> Vec<WorkerRow> {
        let (cpu, mem) = self.sample();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        vec![WorkerRow {
            id: self.id.clone(),
            state: status.state,
            users: status.users,
            cpu_percent: crate::views::round6(cpu),
            memory_bytes: mem,
            last_seen: now,
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_process() {
        let mut w = LocalWorker::new();
        let status = Status {
            state: cicada_control::RunState::Ready,
            users: 0,
            target_users: 0,
            user_types: vec![],
            host: "http://x/".into(),
            spawn_rate: 1.0,
            stops_at: None,
        };
        let rows = w.rows(&status);
        assert_eq!(rows.len(), 1);
        assert!(!rows[0].id.is_empty());
        if cfg!(target_os = "linux") {
            assert!(rows[0].memory_bytes > 0, "{rows:?}");
        }
        // A second call within SAMPLE_EVERY reuses the sample.
        let again = w.rows(&status);
        assert_eq!(again[0].memory_bytes, rows[0].memory_bytes);
    }
}
