//! [`Admission`]: which rows the [`crate::Recorder`] gives a slot of their own, as decided by
//! the [`crate::Stats`] the recorder feeds.
//!
//! The statistics keep [`crate::StatsConfig::max_entries`] rows and file every further row
//! under the overflow row. Without this, the recorder would keep slots (a histogram each, in
//! every shard and buffer) for rows the statistics throw away. With it:
//!
//! * while the statistics table has room, the admission is *open*: the recorder creates slots
//!   for any row, up to the table's size per buffer (a row may lose the race for the last
//!   places; the statistics then file it under the overflow row, as before);
//! * once the table is full, the statistics *close* it with the set of their rows: from then
//!   on the recorder creates slots only for those rows and records everything else straight
//!   into the overflow row, and its next drain frees the slots of rows outside the set;
//! * [`crate::Stats::reset`] opens it again.
//!
//! Concurrency: the state changes at most a few times per run (full, reset), and the recorder
//! consults it only when a buffer has no slot for a row. Each recorder buffer caches the
//! state's `Arc` with its generation number and re-reads it (a read lock) only when the
//! generation, one atomic load, has changed. So the hot path takes no shared lock.

use std::collections::HashSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use crate::key::RequestKey;

/// The rows of a full statistics table (`None` while the table has room).
pub(crate) type Admitted = Option<Arc<HashSet<RequestKey>>>;

/// Shared admission state between one [`crate::Stats`] and one [`crate::Recorder`]. Cheap to
/// clone (an `Arc`). See the [module documentation](self).
#[derive(Clone, Default)]
pub struct Admission {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped on every change (starts at 0 = open, nothing published).
    generation: AtomicU64,
    /// The statistics' row limit once a `Stats` published (0 = none yet).
    limit: AtomicUsize,
    admitted: RwLock<Admitted>,
}

impl fmt::Debug for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (generation, admitted) = self.current();
        f.debug_struct("Admission")
            .field("generation", &generation)
            .field("limit", &self.limit())
            .field("closed_rows", &admitted.map(|a| a.len()))
            .finish()
    }
}

impl Admission {
    /// An open admission (every row admitted).
    pub fn new() -> Self {
        Admission::default()
    }

    /// The generation number; it changes whenever the state does.
    #[inline]
    pub(crate) fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// The generation and the admitted rows (`None`: all rows).
    pub(crate) fn current(&self) -> (u64, Admitted) {
        let admitted = self
            .inner
            .admitted
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        // Read under the lock: a writer changes both under the write lock.
        (self.generation(), admitted.clone())
    }

    /// The statistics' row limit (`None` until a `Stats` published one).
    pub(crate) fn limit(&self) -> Option<usize> {
        match self.inner.limit.load(Ordering::Relaxed) {
            0 => None,
            n => Some(n),
        }
    }

    pub(crate) fn set_limit(&self, limit: usize) {
        self.inner.limit.store(limit.max(1), Ordering::Relaxed);
    }

    /// Admits only `rows` (the statistics table is full).
    pub(crate) fn close(&self, rows: HashSet<RequestKey>) {
        self.publish(Some(Arc::new(rows)));
    }

    /// Admits every row (the statistics table has room again).
    pub(crate) fn open(&self) {
        self.publish(None);
    }

    /// True when closed (the table is full).
    pub fn is_closed(&self) -> bool {
        self.current().1.is_some()
    }

    fn publish(&self, admitted: Admitted) {
        let mut guard = self
            .inner
            .admitted
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        *guard = admitted;
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }
}
