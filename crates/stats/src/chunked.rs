//! [`ChunkedHist`]: the recorder's per-second latency histogram. Recording is O(1) like a
//! dense HdrHistogram (same counter indexes, see [`crate::sparse`]), but the counters live in
//! chunks of [`CHUNK`] that are allocated when first used, and every drain frees the chunks that
//! received nothing since the previous drain.
//!
//! So a slot holds what its row needed during the last second or two, not the union of every
//! latency it ever saw: a row with a handful of requests per second costs a few hundred bytes,
//! an idle row nothing. The worst case (every counter of the one-hour range used within one
//! second) is 23,552 `u32` counters, 92 KiB, as before.

use crate::sparse::{SparseHist, index_of};

/// Counters per chunk (`u32` each: 256 bytes).
pub(crate) const CHUNK: usize = 64;
const CHUNK_BITS: u32 = CHUNK.trailing_zeros();

type Chunk = [u32; CHUNK];

/// See the module documentation.
#[derive(Default)]
pub(crate) struct ChunkedHist {
    /// Chunk number of `chunks[0]`.
    base: usize,
    /// Chunks `base..base + chunks.len()`; `None` = all zero and not allocated.
    chunks: Vec<Option<Box<Chunk>>>,
}

impl ChunkedHist {
    /// Records one value (microseconds, at most 2^32). Allocates only when the value falls
    /// into a chunk that is not allocated (or outside the chunk table's current range).
    #[inline]
    pub(crate) fn record(&mut self, value: u64) {
        let index = index_of(value) as usize;
        // Fast path: one subtraction, one bounds check, one null check (a chunk below `base`
        // wraps around to a huge position and takes the slow path).
        let pos = (index >> CHUNK_BITS).wrapping_sub(self.base);
        if let Some(Some(chunk)) = self.chunks.get_mut(pos) {
            let c = &mut chunk[index & (CHUNK - 1)];
            *c = c.saturating_add(1);
            return;
        }
        self.record_slow(index);
    }

    /// [`ChunkedHist::record`] when the chunk is not allocated or outside the table.
    #[cold]
    #[inline(never)]
    fn record_slow(&mut self, index: usize) {
        let chunk = index >> CHUNK_BITS;
        let pos = if self.chunks.is_empty() {
            self.base = chunk;
            self.chunks.push(None);
            0
        } else if chunk < self.base {
            // A latency smaller than any in the table: shift the table up.
            let grow = self.base - chunk;
            self.chunks
                .splice(0..0, std::iter::repeat_with(|| None).take(grow));
            self.base = chunk;
            0
        } else {
            let pos = chunk - self.base;
            if pos >= self.chunks.len() {
                self.chunks.resize_with(pos + 1, || None);
            }
            pos
        };
        let c = self.chunks[pos].get_or_insert_with(|| Box::new([0; CHUNK]));
        let slot = &mut c[index & (CHUNK - 1)];
        *slot = slot.saturating_add(1);
    }

    /// Moves the counts into `out` and zeroes them. Chunks that counted something are kept
    /// (zeroed) for the next second; chunks that counted nothing since the previous drain are
    /// freed, and the table shrinks to the chunks kept.
    pub(crate) fn drain_into(&mut self, out: &mut SparseHist) {
        let mut first_kept = None;
        let mut last_kept = 0;
        for (pos, slot) in self.chunks.iter_mut().enumerate() {
            let Some(chunk) = slot else { continue };
            let base_index = (self.base + pos) << CHUNK_BITS;
            let mut used = false;
            for (i, c) in chunk.iter_mut().enumerate() {
                if *c != 0 {
                    out.add_at((base_index + i) as u64, u64::from(*c));
                    *c = 0;
                    used = true;
                }
            }
            if used {
                first_kept.get_or_insert(pos);
                last_kept = pos;
            } else {
                *slot = None;
            }
        }
        match first_kept {
            None => self.chunks = Vec::new(),
            Some(first) => {
                self.chunks.truncate(last_kept + 1);
                self.chunks.drain(..first);
                self.base += first;
                if self.chunks.capacity() > 2 * self.chunks.len() + 4 {
                    self.chunks.shrink_to_fit();
                }
            }
        }
    }

    /// Heap bytes held (chunk table and chunks).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.chunks.capacity() * std::mem::size_of::<Option<Box<Chunk>>>()
            + self.chunks.iter().flatten().count() * std::mem::size_of::<Chunk>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn idle_drains_free_everything() {
        let mut h = ChunkedHist::default();
        for v in [5u64, 1_000, 250_000, 9_000_000] {
            h.record(v);
        }
        let mut out = SparseHist::new();
        h.drain_into(&mut out);
        assert_eq!(out.len(), 4);
        // Kept (zeroed) for reuse...
        assert!(h.heap_bytes() >= 4 * std::mem::size_of::<Chunk>());
        let mut again = SparseHist::new();
        h.drain_into(&mut again);
        assert!(again.is_empty());
        // ...and freed after a second without requests.
        assert_eq!(h.heap_bytes(), 0);
    }

    #[test]
    fn only_the_chunks_used_last_second_stay() {
        let mut h = ChunkedHist::default();
        let mut out = SparseHist::new();
        for ms in 1..=10_000u64 {
            h.record(ms * 1000);
        }
        h.drain_into(&mut out);
        let wide = h.heap_bytes();
        h.record(20_000);
        h.drain_into(&mut out);
        h.record(20_000);
        h.drain_into(&mut out);
        assert_eq!(out.len(), 10_002);
        assert!(h.heap_bytes() < 512, "{} of {wide}", h.heap_bytes());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Draining gives exactly the counts of a dense `hdrhistogram`, second after second.
        #[test]
        fn drains_match_dense(
            seconds in proptest::collection::vec(
                proptest::collection::vec(0u64..crate::MAX_TRACKABLE_US, 0..80), 1..4),
        ) {
            let mut h = ChunkedHist::default();
            for values in seconds {
                let mut dense = crate::hist::new_hist::<u64>(crate::hist::SIGFIG);
                for &v in &values {
                    h.record(v);
                    dense.record(v).unwrap();
                }
                let mut out = SparseHist::new();
                h.drain_into(&mut out);
                prop_assert_eq!(&out, &SparseHist::from_hdr(&dense));
            }
        }
    }
}
