//! [`SparseHist`]: the latency histogram of intervals and statistics rows, stored as the
//! non-zero counters only.
//!
//! It has exactly the buckets of an HdrHistogram with lowest value 1 and 3 significant digits
//! (the dense `hdrhistogram::Histogram::<u64>::new(3)` the crate used before): the same counter
//! indexes, the same value of each counter, and the same answers for quantiles and counts. It
//! only leaves out the zeros. A dense histogram of a row whose largest latency was 10 s holds
//! ~15,000 counters (120 KiB) whatever it saw; this one holds 10 bytes per bucket actually used
//! (a `u16` index and a `u64` count). A second of one row uses a handful of buckets; a row that
//! lives for weeks would keep finding new ones (up to all 23,552 of the one-hour range, ~230 KiB)
//! unless held to a budget, which is what the coarsening below is for.
//!
//! A long-lived histogram (a statistics row) can be held to a budget of buckets with
//! [`SparseHist::fit`]: past the budget it *coarsens*, one level at a time. At level `L` the
//! buckets are groups of whole 3-digit buckets, `2^L` of them wide in every power of two above 2^10
//! (values below stay exact while a group would be narrower than 1 µs), so a group is never wider
//! than `2^(L-10)` of its values: 0.8 % at level 3 (HdrHistogram's 2 significant digits), 3.1 % at
//! level 5. The grids nest (a level-`L+1` group is one or two level-`L` groups), counts are never
//! lost, and a quantile answers the highest value of its group, as HdrHistogram answers the highest
//! value of its bucket. Level 0 is the plain 3-digit histogram (every interval). This is what
//! OpenTelemetry's exponential histograms (160 buckets by default, down-scaling on overflow) and
//! Prometheus' native histograms (a maximum bucket count, halving the resolution past it) do.
//!
//! Updates are not on the request hot path (that is [`crate::chunked::ChunkedHist`] in the
//! recorder): intervals are merged into rows once a second, with a linear merge of two sorted
//! lists. The tests compare every answer against the dense `hdrhistogram` implementation.

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use hdrhistogram::Histogram;

/// log2 of half the sub-bucket count of 3 significant digits (2,048 sub-buckets).
const HALF_MAGNITUDE: u32 = 10;
/// Half the sub-bucket count.
const HALF: u64 = 1 << HALF_MAGNITUDE;
/// `64 - unit magnitude (0) - (HALF_MAGNITUDE + 1)`, HdrHistogram's `leading_zero_count_base`.
const LEADING_ZERO_BASE: u32 = 64 - (HALF_MAGNITUDE + 1);
/// HdrHistogram's `sub_bucket_mask` for 3 significant digits and lowest value 1.
const SUB_BUCKET_MASK: u64 = 2 * HALF - 1;

// HdrHistogram V2 cookies (see hdrhistogram's `serialization` module).
pub(crate) const V2_COOKIE: u32 = 0x1c84_9313;
pub(crate) const V2_COMPRESSED_COOKIE: u32 = 0x1c84_9314;
pub(crate) const V2_HEADER_SIZE: usize = 40;

/// The counter index of `value` (HdrHistogram's `index_for`). Values up to 2^32 give indexes
/// below 24,576.
pub(crate) fn index_of(value: u64) -> u64 {
    let bucket = LEADING_ZERO_BASE - (value | SUB_BUCKET_MASK).leading_zeros();
    let sub = value >> bucket;
    (u64::from(bucket + 1) << HALF_MAGNITUDE) + sub - HALF
}

/// The HDR bucket (power of two) of counter `index`: the width of its value range is
/// `1 << bucket_of_index(index)`.
fn bucket_of_index(index: u64) -> u32 {
    (index >> HALF_MAGNITUDE).saturating_sub(1) as u32
}

/// The lowest value counted at counter `index` (HdrHistogram's `value_for`). Recording this
/// value lands in the same counter.
pub(crate) fn value_at_index(index: u64) -> u64 {
    let bucket = bucket_of_index(index);
    let sub = if index < 2 * HALF {
        index
    } else {
        (index & (HALF - 1)) + HALF
    };
    sub << bucket
}

/// The highest value counted at counter `index` (HdrHistogram's
/// `highest_equivalent(value_for(index))`).
pub(crate) fn highest_at_index(index: u64) -> u64 {
    value_at_index(index) + (1u64 << bucket_of_index(index)) - 1
}

/// The coarsest level: one group per power of two.
const MAX_LEVEL: u8 = HALF_MAGNITUDE as u8;

/// Width in µs of the level-`level` group holding `value`: `2^k >> (10 - level)` for `value` in
/// `[2^k, 2^(k+1))`, at least 1. At level 0 this is the width of the 3-digit bucket.
fn group_width(value: u64, level: u8) -> u64 {
    if value == 0 {
        return 1;
    }
    let octave = 63 - value.leading_zeros();
    ((1u64 << octave) >> (HALF_MAGNITUDE - u32::from(level))).max(1)
}

/// The counter index of the lowest value of the level-`level` group holding counter `index`
/// (`index` itself at level 0). Monotone in `index`.
fn group_index(index: u64, level: u8) -> u64 {
    if level == 0 {
        return index;
    }
    let low = value_at_index(index);
    index_of(low & !(group_width(low, level) - 1))
}

/// The highest value of the level-`level` group whose lowest counter is `index`.
fn group_highest(index: u64, level: u8) -> u64 {
    let low = value_at_index(index);
    low + group_width(low, level) - 1
}

/// A latency histogram (microseconds, 3 significant digits, or coarser groups of them past a
/// budget) holding only its non-zero counters, sorted by index. See the module documentation.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct SparseHist {
    /// Counter indexes, strictly ascending (< 2^16: values are clamped to one hour).
    index: Vec<u16>,
    /// `counts[i]` belongs to `index[i]`; never zero.
    counts: Vec<u64>,
    /// Sum of `counts` (saturating).
    total: u64,
    /// Coarsening level (0: exact 3-digit buckets); every index is its group's lowest counter.
    level: u8,
}

impl std::fmt::Debug for SparseHist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SparseHist")
            .field("total", &self.total)
            .field("buckets", &self.index.len())
            .field("level", &self.level)
            .finish()
    }
}

impl SparseHist {
    /// An empty histogram (allocates nothing).
    pub(crate) fn new() -> Self {
        SparseHist::default()
    }

    /// Number of recorded values.
    pub(crate) fn len(&self) -> u64 {
        self.total
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Number of non-zero counters.
    pub(crate) fn buckets(&self) -> usize {
        self.index.len()
    }

    /// The coarsening level (0: exact 3-digit buckets; see the module documentation).
    #[cfg(test)]
    pub(crate) fn level(&self) -> u8 {
        self.level
    }

    /// Heap bytes held (capacity, not length).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.index.capacity() * 2 + self.counts.capacity() * 8
    }

    /// The non-zero counters as `(index, count)`, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.index
            .iter()
            .zip(&self.counts)
            .map(|(&i, &c)| (u64::from(i), c))
    }

    /// Records `value` (microseconds, at most 2^32) `n` times.
    pub(crate) fn record_n(&mut self, value: u64, n: u64) {
        self.add_at(index_of(value), n);
    }

    /// Adds `n` to counter `index` (< 2^16), or to its group's when coarsened.
    pub(crate) fn add_at(&mut self, index: u64, n: u64) {
        if n == 0 {
            return;
        }
        debug_assert!(index <= u64::from(u16::MAX));
        let index = group_index(index.min(u64::from(u16::MAX)), self.level) as u16;
        self.total = self.total.saturating_add(n);
        // Grow by a quarter, not double: rows live for weeks, the slack would be kept.
        if self.index.len() == self.index.capacity() {
            let more = (self.index.len() / 4).max(4);
            self.index.reserve_exact(more);
            self.counts.reserve_exact(more);
        }
        // Appending at the end is the common case when filling in index order.
        if self.index.last().is_none_or(|&last| last < index) {
            self.index.push(index);
            self.counts.push(n);
            return;
        }
        match self.index.binary_search(&index) {
            Ok(i) => self.counts[i] = self.counts[i].saturating_add(n),
            Err(i) => {
                self.index.insert(i, index);
                self.counts.insert(i, n);
            }
        }
    }

    /// Adds every counter of `other`. The result has the coarser of the two levels.
    pub(crate) fn add(&mut self, other: &SparseHist) {
        if other.is_empty() {
            return;
        }
        if other.level > self.level {
            self.coarsen_to(other.level);
        }
        if self.is_empty() && self.level == other.level {
            self.clone_from(other);
            return;
        }
        // A few counters (the usual second of one row): insert them one by one. Otherwise a
        // linear merge of the two sorted lists, at this histogram's level.
        if other.index.len() <= 16 {
            for (i, c) in other.iter() {
                self.add_at(i, c);
            }
            return;
        }
        if other.level < self.level {
            let mut coarse = other.clone();
            coarse.coarsen_to(self.level);
            return self.add(&coarse);
        }
        // A row that already has every bucket of `other` (a mature row): add in place.
        if self.add_in_place(other) {
            return;
        }
        let mut index = Vec::with_capacity(self.index.len() + other.index.len());
        let mut counts = Vec::with_capacity(index.capacity());
        let (mut a, mut b) = (0, 0);
        while a < self.index.len() || b < other.index.len() {
            let ia = self.index.get(a).copied().unwrap_or(u16::MAX);
            let ib = other.index.get(b).copied().unwrap_or(u16::MAX);
            let take_a = a < self.index.len() && (b >= other.index.len() || ia <= ib);
            let take_b = b < other.index.len() && (a >= self.index.len() || ib <= ia);
            let mut c = 0u64;
            if take_a {
                c = c.saturating_add(self.counts[a]);
                a += 1;
            }
            if take_b {
                c = c.saturating_add(other.counts[b]);
                b += 1;
            }
            index.push(if take_a { ia } else { ib });
            counts.push(c);
        }
        index.shrink_to_fit();
        counts.shrink_to_fit();
        self.index = index;
        self.counts = counts;
        self.total = self.total.saturating_add(other.total);
    }

    /// Coarsens level by level until at most `budget` counters are left, or the coarsest level
    /// (one group per power of two: at most 33 counters up to the one-hour clamp) is reached.
    pub(crate) fn fit(&mut self, budget: usize) {
        while self.index.len() > budget && self.level < MAX_LEVEL {
            self.coarsen_to(self.level + 1);
        }
    }

    /// Merges the counters into the groups of `level` (no-op if not coarser than now).
    fn coarsen_to(&mut self, level: u8) {
        if level <= self.level {
            return;
        }
        self.level = level;
        // Group indexes are monotone: equal ones are adjacent, merged in place.
        let mut out = 0usize;
        for at in 0..self.index.len() {
            let g = group_index(u64::from(self.index[at]), level) as u16;
            let c = self.counts[at];
            if out > 0 && self.index[out - 1] == g {
                self.counts[out - 1] = self.counts[out - 1].saturating_add(c);
            } else {
                self.index[out] = g;
                self.counts[out] = c;
                out += 1;
            }
        }
        self.index.truncate(out);
        self.counts.truncate(out);
        self.index.shrink_to_fit();
        self.counts.shrink_to_fit();
    }

    /// Adds `other` without moving anything when every index of `other` is present in
    /// `self`; returns false (and changes nothing) otherwise.
    fn add_in_place(&mut self, other: &SparseHist) -> bool {
        let mut at = 0;
        for &i in &other.index {
            match self.index[at..].binary_search(&i) {
                Ok(found) => at += found,
                Err(_) => return false,
            }
        }
        let mut at = 0;
        for (&i, &c) in other.index.iter().zip(&other.counts) {
            // Present (checked above); the search only moves forward.
            while self.index[at] != i {
                at += 1;
            }
            self.counts[at] = self.counts[at].saturating_add(c);
        }
        self.total = self.total.saturating_add(other.total);
        true
    }

    /// The value at each quantile (ascending, each in `[0, 1]`), exactly as
    /// `hdrhistogram::Histogram::value_at_quantiles` answers for the dense histogram with the
    /// same counts (at level 0; coarsened, the highest value of the group, or its lowest for
    /// quantile 0). An empty histogram gives zeros.
    pub(crate) fn value_at_quantiles<const N: usize>(&self, quantiles: [f64; N]) -> [u64; N] {
        let mut out = [0u64; N];
        let mut running = 0u64;
        let mut at = 0usize;
        for (slot, q) in out.iter_mut().zip(quantiles) {
            let target = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
            while running < target {
                let Some(&c) = self.counts.get(at) else {
                    return out; // empty histogram (or saturated total): zeros, as HDR.
                };
                running = running.saturating_add(c);
                at += 1;
            }
            // `at` is one past the counter that reached the target.
            let index = u64::from(self.index[at - 1]);
            *slot = if q == 0.0 {
                value_at_index(index)
            } else {
                group_highest(index, self.level)
            };
        }
        out
    }

    /// The value at one quantile (see [`SparseHist::value_at_quantiles`]).
    pub(crate) fn value_at_quantile(&self, q: f64) -> u64 {
        self.value_at_quantiles([q.min(1.0)])[0]
    }

    /// How many values are at most `value` (within the histogram's precision: HDR's
    /// `count_between(0, value)`; coarsened, the whole group of `value` counts).
    pub(crate) fn count_at_or_below(&self, value: u64) -> u64 {
        let limit = group_index(index_of(value.min(u64::MAX >> 1)), self.level);
        self.iter()
            .take_while(|&(i, _)| i <= limit)
            .fold(0u64, |acc, (_, c)| acc.saturating_add(c))
    }

    /// Adds these counts to an `hdrhistogram` histogram of any precision, as
    /// `Histogram::add` does for histograms of different configurations (each counter's lowest
    /// value is recorded; coarsened, each group's lowest value).
    pub(crate) fn add_to_hdr(&self, dst: &mut Histogram<u64>) {
        for (i, c) in self.iter() {
            // Auto-resizing and values < 2^32: cannot fail.
            let _ = dst.record_n(value_at_index(i), c);
        }
    }

    /// A dense `hdrhistogram` copy (3 significant digits, auto-resizing).
    pub(crate) fn to_hdr(&self) -> Histogram<u64> {
        let mut h = crate::hist::new_hist(crate::hist::SIGFIG);
        self.add_to_hdr(&mut h);
        h
    }

    /// The counts of a dense histogram (lossless at 3 significant digits).
    #[cfg(test)]
    pub(crate) fn from_hdr(h: &Histogram<u64>) -> SparseHist {
        let mut s = SparseHist::new();
        for v in h.iter_recorded() {
            s.record_n(v.value_iterated_to(), v.count_at_value());
        }
        s
    }

    /// Appends the histogram in HdrHistogram's "V2 + DEFLATE" format, byte for byte what
    /// `hdrhistogram`'s `V2DeflateSerializer` writes for the dense histogram with the same
    /// counts except for the "highest trackable value" field (which the dense histogram takes
    /// from its resizing history; here it is the highest value of the largest counter). Every
    /// HdrHistogram implementation reads it back with the same counts.
    pub(crate) fn write_v2_deflate(&self, out: &mut Vec<u8>) {
        let max_index = self.index.last().map_or(0, |&i| u64::from(i));
        let high = highest_at_index(max_index).max(2);
        let mut v2 = Vec::with_capacity(V2_HEADER_SIZE + 2 * self.index.len() * 3 + 8);
        v2.extend_from_slice(&V2_COOKIE.to_be_bytes());
        v2.extend_from_slice(&0u32.to_be_bytes()); // payload length, filled in below
        v2.extend_from_slice(&0u32.to_be_bytes()); // normalizing index offset
        v2.extend_from_slice(&u32::from(crate::hist::SIGFIG).to_be_bytes());
        v2.extend_from_slice(&1u64.to_be_bytes()); // lowest discernible value
        v2.extend_from_slice(&high.to_be_bytes());
        v2.extend_from_slice(&1.0f64.to_bits().to_be_bytes());
        // Counts from index 0 to the largest one: a run of n > 1 zeros is written as -n, a
        // single zero as 0 (as HdrHistogram does).
        let mut next = 0u64;
        let counts = self.iter().chain((self.index.is_empty()).then_some((0, 0)));
        for (i, c) in counts {
            let zeros = i - next;
            if zeros == 1 {
                write_varint(zig_zag(0), &mut v2);
            } else if zeros > 1 {
                write_varint(zig_zag(-(zeros as i64)), &mut v2);
            }
            // Counts above i64::MAX cannot be written; they cannot occur (requests per row are
            // bounded far below that), so saturate rather than fail.
            write_varint(zig_zag(c.min(i64::MAX as u64) as i64), &mut v2);
            next = i + 1;
        }
        let payload_len = (v2.len() - V2_HEADER_SIZE) as u32;
        v2[4..8].copy_from_slice(&payload_len.to_be_bytes());

        let start = out.len();
        out.extend_from_slice(&V2_COMPRESSED_COOKIE.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes()); // compressed length, filled in below
        let mut z = ZlibEncoder::new(&mut *out, Compression::default());
        // Writing into a Vec cannot fail.
        let _ = z.write_all(&v2);
        let _ = z.finish();
        let compressed = (out.len() - start - 8) as u32;
        out[start + 4..start + 8].copy_from_slice(&compressed.to_be_bytes());
    }
}

fn zig_zag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

/// HdrHistogram's LEB128-64b9B varint: up to 8 groups of 7 bits, then a full 9th byte.
fn write_varint(mut v: u64, out: &mut Vec<u8>) {
    for _ in 0..8 {
        if v < 0x80 {
            out.push(v as u8);
            return;
        }
        out.push((v & 0x7f) as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
#[path = "sparse_tests.rs"]
mod tests;
