//! The Workers tab: one row per process running users (standalone: this one; a master: its
//! workers), as the controller's fleet reports them.

use cicada_control::{Controller, WorkerInfo};

/// The rows of `GET /api/workers` and of the live `update` events, CPU rounded for display.
pub(crate) fn rows(controller: &Controller) -> Vec<WorkerInfo> {
    let mut rows = controller.workers();
    for row in &mut rows {
        row.cpu_percent = crate::views::round6(row.cpu_percent);
    }
    rows
}
