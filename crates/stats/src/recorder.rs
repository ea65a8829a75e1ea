//! [`Recorder`]: the hot path. Simulated users call [`Recorder::record`] after every request,
//! from all Tokio worker threads at once; an aggregator calls [`Recorder::take`] once a second.
//!
//! # Concurrency
//!
//! The recorder is split into shards, each a `std::sync::Mutex` (critical sections are a few
//! additions and never await, so a blocking mutex is right). A thread picks its shard once: the
//! first time it records, it takes the next number from the recorder's round-robin counter and
//! keeps it in a thread-local. So N worker threads normally use N distinct shards and never wait
//! for each other; the only other party is `take`, once a second. The thread-local is a load
//! spreading hint only (a thread keeps the number it got from the first recorder it used, for all
//! recorders); correctness never depends on which shard a thread uses.
//!
//! Each shard is double-buffered: `take` locks the shard's *spare* buffer (which only `take`
//! uses), swaps it with the *active* one under the active lock (a pointer swap, so recording
//! threads wait nanoseconds), and then drains the spare buffer at leisure. Every recorded
//! request lands in exactly one interval.
//!
//! # Allocation and bounds
//!
//! Recording for a row that the buffer already knows is looked up by `&RequestKey` (one hash of
//! the key) and its counters and histogram are updated in place. The histogram is a
//! [`crate::chunked::ChunkedHist`]: dense counters in 256-byte chunks allocated on first use and
//! freed by the drain after a second in which they counted nothing, so a slot holds what its row
//! needed in the last second or two (typically a few hundred bytes; at most 92 KiB when one
//! second covers the whole one-hour range), and an idle slot only its ~200 bytes of counters.
//! Recording allocates only when a latency falls into a chunk the slot does not hold. Slots idle
//! for about a minute are freed.
//!
//! Which rows get a slot: per buffer at most [`RecorderConfig::max_keys`] rows (or the row
//! limit of the statistics this recorder feeds, see [`crate::Admission`]) and
//! [`RecorderConfig::max_failures`] distinct failures per interval; once the statistics table is
//! full, only the rows it holds. Everything else is counted in the overflow row / overflow
//! failure, exactly as [`crate::Stats`] would file it. So the number of slots does not grow with
//! the number of distinct request names, and their size does not grow with time.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::admission::{Admission, Admitted};
use crate::chunked::ChunkedHist;
use crate::hist;
use crate::interval::{Interval, IntervalEntry};
use crate::key::{Failure, FailureKey, RequestKey};
use crate::sparse::SparseHist;

/// A slot whose buffer was drained this many times in a row without any request is freed
/// (each buffer is drained every other `take`, so about a minute at one `take` per second).
const IDLE_DRAINS: u32 = 30;

/// Sizing of a [`Recorder`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecorderConfig {
    /// Number of shards; more than the number of recording threads buys nothing.
    pub shards: usize,
    /// Distinct rows per shard buffer before the overflow row is used. Rows stay in a buffer
    /// until they have been idle for about a minute, so this bounds the rows seen per shard in
    /// roughly the last minute.
    pub max_keys: usize,
    /// Distinct `(row, failure)` pairs per shard per interval before the overflow failure is
    /// used.
    pub max_failures: usize,
}

impl Default for RecorderConfig {
    fn default() -> Self {
        RecorderConfig {
            shards: 8,
            max_keys: 1000,
            max_failures: 500,
        }
    }
}

thread_local! {
    /// This thread's shard number (modulo the shard count), assigned on first use.
    static THREAD_SHARD: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Concurrent, sharded collector of measurements. Cheap to clone (an `Arc`).
#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
}

struct Inner {
    shards: Box<[Shard]>,
    next_thread: AtomicUsize,
    max_keys: usize,
    max_failures: usize,
    /// Which rows the statistics fed by this recorder keep (open unless a `Stats` publishes).
    admission: Admission,
    /// Pre-built so that overflowing never allocates on the hot path.
    overflow_key: RequestKey,
    overflow_failure: Failure,
}

struct Shard {
    active: Mutex<Buffer>,
    /// Only `take` locks this one.
    spare: Mutex<Buffer>,
}

#[derive(Default)]
struct Buffer {
    slots: HashMap<RequestKey, Slot>,
    /// Distinct `(row, failure)` pairs in this buffer since its last drain.
    failure_rows: usize,
    /// This buffer's copy of the admission state, and its generation (see
    /// [`crate::admission`]): refreshed when the shared generation differs.
    generation: u64,
    admitted: Admitted,
}

struct Slot {
    count: u64,
    failures: u64,
    sum_us: u64,
    min_us: u64,
    max_us: u64,
    bytes: u64,
    /// `u32` counters (saturating): a bucket cannot see 4 billion requests between two drains.
    hist: ChunkedHist,
    errors: HashMap<Failure, u64>,
    idle_drains: u32,
}

impl Slot {
    fn new() -> Self {
        Slot {
            count: 0,
            failures: 0,
            sum_us: 0,
            min_us: u64::MAX,
            max_us: 0,
            bytes: 0,
            hist: ChunkedHist::default(),
            errors: HashMap::new(),
            idle_drains: 0,
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; if something ever did, the counters are still
    // usable, so keep going rather than poison every user task.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl fmt::Debug for Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recorder")
            .field("shards", &self.inner.shards.len())
            .field("max_keys", &self.inner.max_keys)
            .field("max_failures", &self.inner.max_failures)
            .finish()
    }
}

impl Recorder {
    /// A recorder with [`RecorderConfig::default`].
    pub fn new() -> Self {
        Recorder::with_config(RecorderConfig::default())
    }

    /// A recorder with explicit sizing (`shards` of 0 counts as 1).
    pub fn with_config(config: RecorderConfig) -> Self {
        let shards = (0..config.shards.max(1))
            .map(|_| Shard {
                active: Mutex::new(Buffer::default()),
                spare: Mutex::new(Buffer::default()),
            })
            .collect();
        Recorder {
            inner: Arc::new(Inner {
                shards,
                next_thread: AtomicUsize::new(0),
                max_keys: config.max_keys,
                max_failures: config.max_failures,
                admission: Admission::new(),
                overflow_key: RequestKey::overflow(),
                overflow_failure: Failure::overflow(),
            }),
        }
    }

    /// The admission state this recorder follows. Give it to the [`crate::Stats`] that this
    /// recorder's intervals are applied to ([`crate::Stats::publish_admission`]), so that the
    /// recorder keeps slots only for the rows the statistics keep. A recorder whose intervals
    /// go elsewhere (a worker's, merged by the master) leaves it open.
    pub fn admission(&self) -> Admission {
        self.inner.admission.clone()
    }

    /// Approximate heap bytes held by the slots (keys, counters, histograms, failure maps) of
    /// all shards and buffers. Locks each buffer in turn; meant for tests and measurements.
    pub fn heap_bytes(&self) -> usize {
        let mut total = 0;
        for shard in self.inner.shards.iter() {
            for buffer in [&shard.active, &shard.spare] {
                total += lock(buffer).heap_bytes();
            }
        }
        total
    }

    /// Number of slots (rows held) over all shards and buffers.
    pub fn slot_count(&self) -> usize {
        let mut total = 0;
        for shard in self.inner.shards.iter() {
            // One lock at a time: `take` locks spare then active.
            total += lock(&shard.active).slots.len();
            total += lock(&shard.spare).slots.len();
        }
        total
    }

    /// Number of shards.
    pub fn shard_count(&self) -> usize {
        self.inner.shards.len()
    }

    fn shard(&self) -> &Shard {
        let shards = &self.inner.shards;
        let n = THREAD_SHARD.with(|c| match c.get() {
            Some(n) => n,
            None => {
                let n = self.inner.next_thread.fetch_add(1, Ordering::Relaxed);
                c.set(Some(n));
                n
            }
        });
        &shards[n % shards.len()]
    }

    /// Records one request: its row, latency, response body size and, if it failed, why.
    ///
    /// Hot path: one hash of the key (plus one of the failure when there is one) when the row
    /// has a slot in this shard; no lock but the shard's own (uncontended but for `take`), no
    /// formatting. A row without a slot costs one
    /// more lookup (the admission set, once the statistics are full) and, when it is admitted,
    /// the slot's allocation. Allocates only for a new slot, a histogram chunk not used in the
    /// last second, or a failure not seen this second.
    pub fn record(
        &self,
        key: &RequestKey,
        elapsed: Duration,
        bytes: u64,
        failure: Option<&Failure>,
    ) {
        let us = hist::duration_to_us(elapsed);
        let inner = &*self.inner;
        let mut guard = lock(&self.shard().active);
        let buffer = &mut *guard;
        if let Some(slot) = buffer.slots.get_mut(key) {
            record_into(slot, &mut buffer.failure_rows, inner, us, bytes, failure);
            return;
        }
        // First request of this row in this buffer (or since the slot was freed), or a row
        // that is not admitted.
        let key = if buffer.admits(key, inner) {
            key
        } else {
            if let Some(slot) = buffer.slots.get_mut(&inner.overflow_key) {
                record_into(slot, &mut buffer.failure_rows, inner, us, bytes, failure);
                return;
            }
            &inner.overflow_key
        };
        let slot = buffer.slots.entry(key.clone()).or_insert_with(Slot::new);
        record_into(slot, &mut buffer.failure_rows, inner, us, bytes, failure);
    }

    /// Takes everything recorded since the previous call (all shards merged) and starts a new
    /// interval. Safe to call from any thread, concurrently with `record`.
    pub fn take(&self) -> Interval {
        let mut interval = Interval::new();
        for shard in self.inner.shards.iter() {
            let mut spare = lock(&shard.spare);
            {
                let mut active = lock(&shard.active);
                std::mem::swap(&mut *active, &mut *spare);
            }
            // Recording continues on the swapped-in buffer while this one is drained.
            spare.drain_into(&mut interval, &self.inner);
        }
        interval
    }
}

fn record_into(
    slot: &mut Slot,
    failure_rows: &mut usize,
    inner: &Inner,
    us: u64,
    bytes: u64,
    failure: Option<&Failure>,
) {
    slot.count = slot.count.saturating_add(1);
    slot.sum_us = slot.sum_us.saturating_add(us);
    slot.min_us = slot.min_us.min(us);
    slot.max_us = slot.max_us.max(us);
    slot.bytes = slot.bytes.saturating_add(bytes);
    slot.hist.record(us);
    let Some(f) = failure else { return };
    slot.failures = slot.failures.saturating_add(1);
    if let Some(c) = slot.errors.get_mut(f) {
        *c = c.saturating_add(1);
    } else if *failure_rows < inner.max_failures {
        *failure_rows += 1;
        slot.errors.insert(f.clone(), 1);
    } else if let Some(c) = slot.errors.get_mut(&inner.overflow_failure) {
        *c = c.saturating_add(1);
    } else {
        slot.errors.insert(inner.overflow_failure.clone(), 1);
    }
}

impl Buffer {
    /// Refreshes this buffer's copy of the admission state if it changed.
    fn refresh_admission(&mut self, admission: &Admission) {
        if admission.generation() != self.generation {
            (self.generation, self.admitted) = admission.current();
        }
    }

    /// Whether `key` (which has no slot here) may get one.
    fn admits(&mut self, key: &RequestKey, inner: &Inner) -> bool {
        self.refresh_admission(&inner.admission);
        match &self.admitted {
            Some(rows) => rows.contains(key),
            None => {
                let cap = inner.admission.limit().unwrap_or(inner.max_keys);
                self.slots.len() < cap
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        let per_entry = std::mem::size_of::<(RequestKey, Slot)>() + 1;
        self.slots.capacity() * per_entry
            + self
                .slots
                .values()
                .map(|s| {
                    s.hist.heap_bytes()
                        + s.errors.capacity() * (std::mem::size_of::<(Failure, u64)>() + 1)
                })
                .sum::<usize>()
    }

    /// Moves this buffer's measurements into `interval`, keeping (reset) slots for reuse and
    /// freeing slots that stayed idle, and slots of rows the statistics no longer admit.
    fn drain_into(&mut self, interval: &mut Interval, inner: &Inner) {
        self.failure_rows = 0;
        self.refresh_admission(&inner.admission);
        let admitted = self.admitted.clone();
        self.slots.retain(|key, slot| {
            let keep = admitted
                .as_ref()
                .is_none_or(|rows| key.is_overflow() || rows.contains(key));
            if slot.count == 0 {
                slot.idle_drains += 1;
                // Frees the chunks used two seconds ago.
                slot.hist.drain_into(&mut SparseHist::new());
                return keep && slot.idle_drains < IDLE_DRAINS;
            }
            slot.idle_drains = 0;
            let mut entry = IntervalEntry {
                count: slot.count,
                failures: slot.failures,
                sum_us: slot.sum_us,
                min_us: slot.min_us,
                max_us: slot.max_us,
                bytes: slot.bytes,
                hist: SparseHist::new(),
            };
            slot.hist.drain_into(&mut entry.hist);
            interval.add_entry(key.clone(), entry);
            for (failure, count) in slot.errors.drain() {
                let fk = FailureKey {
                    key: key.clone(),
                    failure,
                };
                let c = interval.failures.entry(fk).or_insert(0);
                *c = c.saturating_add(count);
            }
            slot.count = 0;
            slot.failures = 0;
            slot.sum_us = 0;
            slot.min_us = u64::MAX;
            slot.max_us = 0;
            slot.bytes = 0;
            keep
        });
        if self.slots.capacity() > 2 * self.slots.len() + 64 {
            self.slots.shrink_to_fit();
        }
    }
}

#[cfg(test)]
#[path = "recorder_tests.rs"]
mod tests;
