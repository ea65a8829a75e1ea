//! Binary encoding of an [`Interval`] for shipping from workers to the master.
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! b"CIVL"  version:u8 (=1)  header_len:u32  header: JSON (header_len bytes)  histograms...
//! ```
//!
//! The JSON header lists the rows (`method`, `name`, `count`, `failures`, `sum_us`, `min_us`,
//! `max_us`, `bytes`, `hist_len`) and the failure rows (`method`, `name`, `kind`, `message`,
//! `count`). The histograms follow in row order, each in HdrHistogram's standard
//! "V2 + DEFLATE" format (`hist_len` bytes; readable by every HdrHistogram implementation).
//! The sparse histograms write that format themselves ([`crate::sparse`]); only the "highest
//! trackable value" header field differs from what the `hdrhistogram` crate wrote for the same
//! counts, and readers use it only to size the counts array, so versions 1 before and after
//! that change read each other's reports and `VERSION` stays 1.
//! Nothing is rounded, so `from_bytes(to_bytes(i)) == i`.
//!
//! Decoding treats the bytes as untrusted: every length is checked, the histogram headers are
//! validated (3 significant digits, lowest value 1, highest value at most 2^32 µs) *before*
//! anything is allocated from them, decompression is bounded, the sum of histogram sizes is
//! capped ([`MAX_DECODED_CELLS`]), and each histogram's total must equal its row's request
//! count. Malformed input gives a [`DecodeError`], never a panic or an unbounded allocation.

use std::io::Read;
use std::sync::Arc;

use flate2::read::ZlibDecoder;
use serde::{Deserialize, Serialize};

use crate::hist::MAX_TRACKABLE_US;
use crate::interval::{Interval, IntervalEntry};
use crate::key::{Failure, FailureKind, RequestKey};
use crate::sparse::{SparseHist, V2_COMPRESSED_COOKIE, V2_COOKIE, V2_HEADER_SIZE};

const MAGIC: &[u8; 4] = b"CIVL";
const VERSION: u8 = 1;

/// Most rows or failure rows accepted in one encoded interval.
pub const MAX_DECODED_ROWS: usize = 65_536;
/// Most histogram counters (8 bytes each) allocated while decoding one interval: 8 Mi counters,
/// 64 MiB. Typical intervals need a few hundred thousand.
pub const MAX_DECODED_CELLS: u64 = 1 << 23;
/// Largest request count accepted for one row of one interval (about 10^12).
const MAX_ROW_COUNT: u64 = 1 << 40;
/// Largest "highest trackable value" accepted in a histogram header: any histogram whose values
/// are clamped to [`MAX_TRACKABLE_US`] (< 2^32) stays below it.
const MAX_HIGH: u64 = 1 << 32;

/// Why [`Interval::from_bytes`] rejected its input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input does not start with the interval magic bytes.
    #[error("not an encoded interval (bad magic bytes)")]
    BadMagic,
    /// The input was written by an incompatible version.
    #[error("unsupported interval encoding version {0}")]
    UnsupportedVersion(u8),
    /// The input ends early.
    #[error("encoded interval is truncated")]
    Truncated,
    /// The JSON header is malformed.
    #[error("invalid interval header: {0}")]
    Header(String),
    /// A row's histogram is malformed.
    #[error("invalid histogram for row {row}: {reason}")]
    Histogram {
        /// `METHOD name` of the row (shortened).
        row: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A row's counters contradict each other or exceed the limits.
    #[error("inconsistent row {row}: {reason}")]
    Inconsistent {
        /// `METHOD name` of the row (shortened).
        row: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The input exceeds a decoding limit.
    #[error("encoded interval exceeds a limit: {0}")]
    TooLarge(&'static str),
    /// Bytes follow the last histogram.
    #[error("{0} unexpected bytes after the encoded interval")]
    TrailingBytes(usize),
}

#[derive(Serialize, Deserialize)]
struct WireHeader {
    entries: Vec<WireEntry>,
    failures: Vec<WireFailure>,
}

#[derive(Serialize, Deserialize)]
struct WireEntry {
    method: Arc<str>,
    name: Arc<str>,
    count: u64,
    failures: u64,
    sum_us: u64,
    min_us: u64,
    max_us: u64,
    bytes: u64,
    /// Length of the histogram blob; 0 means "no histogram" (only if encoding failed).
    hist_len: usize,
}

#[derive(Serialize, Deserialize)]
struct WireFailure {
    method: Arc<str>,
    name: Arc<str>,
    kind: FailureKind,
    message: Arc<str>,
    count: u64,
}

impl Interval {
    /// Encodes the interval (deterministic: rows are sorted). See the [`crate::wire`] module
    /// for the layout.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut rows: Vec<(&RequestKey, &IntervalEntry)> = self.entries.iter().collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        let mut blobs = Vec::new();
        let mut entries = Vec::with_capacity(rows.len());
        for (key, e) in rows {
            let before = blobs.len();
            e.hist.write_v2_deflate(&mut blobs);
            entries.push(WireEntry {
                method: key.method.clone(),
                name: key.name.clone(),
                count: e.count,
                failures: e.failures,
                sum_us: e.sum_us,
                min_us: e.min_us,
                max_us: e.max_us,
                bytes: e.bytes,
                hist_len: blobs.len() - before,
            });
        }
        let mut failures: Vec<WireFailure> = self
            .failures
            .iter()
            .map(|(fk, &count)| WireFailure {
                method: fk.key.method.clone(),
                name: fk.key.name.clone(),
                kind: fk.failure.kind,
                message: fk.failure.message.clone(),
                count,
            })
            .collect();
        failures.sort_by(|a, b| {
            (&a.method, &a.name, a.kind, &a.message).cmp(&(&b.method, &b.name, b.kind, &b.message))
        });
        // Serializing plain strings and integers into a Vec cannot fail.
        let header = serde_json::to_vec(&WireHeader { entries, failures }).unwrap_or_default();

        let mut out = Vec::with_capacity(9 + header.len() + blobs.len());
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&(header.len() as u32).to_be_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&blobs);
        out
    }

    /// Decodes what [`Interval::to_bytes`] produced. Safe on untrusted input (see the
    /// [`crate::wire`] module).
    pub fn from_bytes(b: &[u8]) -> Result<Interval, DecodeError> {
        let mut interval = Interval::new();
        interval.merge_bytes(b)?;
        Ok(interval)
    }

    /// Adds an encoded interval to this one, as `merge(from_bytes(b)?)` would, but without
    /// building dense histograms first: each histogram's non-zero counters are recorded
    /// straight into the matching row's histogram. This is what a master does with every
    /// worker's report, so its cost is proportional to the buckets actually used, not to the
    /// histograms' ranges. Everything is validated before anything is added: on error `self`
    /// is unchanged.
    pub fn merge_bytes(&mut self, b: &[u8]) -> Result<(), DecodeError> {
        if b.len() < 9 {
            return Err(if b.len() >= 4 && &b[..4] != MAGIC {
                DecodeError::BadMagic
            } else {
                DecodeError::Truncated
            });
        }
        if &b[..4] != MAGIC {
            return Err(DecodeError::BadMagic);
        }
        if b[4] != VERSION {
            return Err(DecodeError::UnsupportedVersion(b[4]));
        }
        let header_len = read_u32(&b[5..9]) as usize;
        let rest = &b[9..];
        if header_len > rest.len() {
            return Err(DecodeError::Truncated);
        }
        let (header, mut blobs) = rest.split_at(header_len);
        let header: WireHeader =
            serde_json::from_slice(header).map_err(|e| DecodeError::Header(e.to_string()))?;
        if header.entries.len() > MAX_DECODED_ROWS || header.failures.len() > MAX_DECODED_ROWS {
            return Err(DecodeError::TooLarge("too many rows"));
        }

        let mut rows = Vec::with_capacity(header.entries.len());
        let mut budget = MAX_DECODED_CELLS;
        let mut sparse = Vec::new();
        for w in header.entries {
            let key = RequestKey {
                method: w.method,
                name: w.name,
            };
            let inconsistent = |reason| DecodeError::Inconsistent {
                row: row_label(&key),
                reason,
            };
            if w.count == 0 {
                return Err(inconsistent("no requests"));
            }
            if w.count > MAX_ROW_COUNT {
                return Err(inconsistent("request count too large"));
            }
            if w.failures > w.count {
                return Err(inconsistent("more failures than requests"));
            }
            if w.min_us > w.max_us || w.max_us > MAX_TRACKABLE_US {
                return Err(inconsistent("bad min/max latency"));
            }
            if w.hist_len > blobs.len() {
                return Err(DecodeError::Truncated);
            }
            let (blob, tail) = blobs.split_at(w.hist_len);
            blobs = tail;
            let start = sparse.len();
            if !blob.is_empty() {
                let total =
                    decode_sparse(blob, &mut budget, &mut sparse).map_err(
                        |reason| match reason {
                            HistError::Budget => DecodeError::TooLarge("histograms too large"),
                            HistError::Invalid(reason) => DecodeError::Histogram {
                                row: row_label(&key),
                                reason,
                            },
                        },
                    )?;
                if total != w.count {
                    return Err(inconsistent("histogram total differs from request count"));
                }
            }
            let scalars = Scalars {
                count: w.count,
                failures: w.failures,
                sum_us: w.sum_us,
                min_us: w.min_us,
                max_us: w.max_us,
                bytes: w.bytes,
            };
            rows.push((key, scalars, start..sparse.len()));
        }
        if !blobs.is_empty() {
            return Err(DecodeError::TrailingBytes(blobs.len()));
        }

        // Valid: apply.
        for (key, w, range) in rows {
            let entry = self.entries.entry(key).or_insert_with(|| IntervalEntry {
                count: 0,
                failures: 0,
                sum_us: 0,
                min_us: u64::MAX,
                max_us: 0,
                bytes: 0,
                hist: SparseHist::new(),
            });
            entry.count = entry.count.saturating_add(w.count);
            entry.failures = entry.failures.saturating_add(w.failures);
            entry.sum_us = entry.sum_us.saturating_add(w.sum_us);
            entry.min_us = entry.min_us.min(w.min_us);
            entry.max_us = entry.max_us.max(w.max_us);
            entry.bytes = entry.bytes.saturating_add(w.bytes);
            for &(index, count) in &sparse[range] {
                // Indexes were checked against the header's range (values below 2^32).
                entry.hist.add_at(index, count);
            }
        }
        for f in header.failures {
            let key = RequestKey {
                method: f.method,
                name: f.name,
            };
            let failure = Failure {
                kind: f.kind,
                message: f.message,
            };
            self.add_failure(&key, &failure, f.count);
        }
        Ok(())
    }
}

/// A row's numbers besides its histogram.
struct Scalars {
    count: u64,
    failures: u64,
    sum_us: u64,
    min_us: u64,
    max_us: u64,
    bytes: u64,
}

fn read_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_be_bytes(a)
}

fn read_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

/// `METHOD name`, shortened so that a hostile name cannot blow up an error message.
fn row_label(key: &RequestKey) -> String {
    let mut s = format!("{} {}", key.method, key.name);
    if let Some((i, _)) = s.char_indices().nth(120) {
        s.truncate(i);
        s.push_str("...");
    }
    s
}

enum HistError {
    Budget,
    Invalid(&'static str),
}

/// Number of counters HdrHistogram allocates for lowest value 1, 3 significant digits and the
/// given highest trackable value (mirrors `buckets_to_cover` and `num_bins`).
fn counts_len_for(high: u64) -> u64 {
    const SUB_BUCKET_COUNT: u64 = 2048; // 2^ceil(log2(2 * 10^3))
    let mut smallest_untrackable = SUB_BUCKET_COUNT;
    let mut buckets: u64 = 1;
    while smallest_untrackable <= high {
        if smallest_untrackable > u64::MAX / 2 {
            buckets += 1;
            break;
        }
        smallest_untrackable <<= 1;
        buckets += 1;
    }
    (buckets + 1) * (SUB_BUCKET_COUNT / 2)
}

/// Validates one V2+DEFLATE histogram, charging its size to `budget`, and appends its
/// non-zero counters to `out` as (index, count). Returns the histogram's total count.
fn decode_sparse(
    blob: &[u8],
    budget: &mut u64,
    out: &mut Vec<(u64, u64)>,
) -> Result<u64, HistError> {
    use HistError::Invalid;
    if blob.len() < 8 || read_u32(blob) != V2_COMPRESSED_COOKIE {
        return Err(Invalid("not a compressed V2 histogram"));
    }
    if read_u32(&blob[4..]) as usize != blob.len() - 8 {
        return Err(Invalid("compressed length mismatch"));
    }
    let mut inflater = ZlibDecoder::new(&blob[8..]);
    let mut v2 = vec![0u8; V2_HEADER_SIZE];
    inflater
        .read_exact(&mut v2)
        .map_err(|_| Invalid("corrupt compressed data"))?;
    if read_u32(&v2) != V2_COOKIE {
        return Err(Invalid("bad V2 cookie"));
    }
    let payload_len = u64::from(read_u32(&v2[4..]));
    let normalizing_offset = read_u32(&v2[8..]);
    let sigfig = read_u32(&v2[12..]);
    let low = read_u64(&v2[16..]);
    let high = read_u64(&v2[24..]);
    let ratio = f64::from_bits(read_u64(&v2[32..]));
    if normalizing_offset != 0 || ratio != 1.0 {
        return Err(Invalid("unsupported V2 features"));
    }
    if sigfig != 3 || low != 1 || !(2..=MAX_HIGH).contains(&high) {
        return Err(Invalid("unexpected histogram configuration"));
    }
    let cells = counts_len_for(high);
    *budget = budget.checked_sub(cells).ok_or(HistError::Budget)?;
    // Each counter takes at most 9 bytes (LEB128-64b9B).
    if payload_len > cells * 9 {
        return Err(Invalid("payload longer than the counts array"));
    }
    // Read one byte more than announced to detect trailing data, without unbounded inflation.
    inflater
        .take(payload_len + 1)
        .read_to_end(&mut v2)
        .map_err(|_| Invalid("corrupt compressed data"))?;
    if v2.len() as u64 != V2_HEADER_SIZE as u64 + payload_len {
        return Err(Invalid("payload length mismatch"));
    }
    sparse_counts(&v2[V2_HEADER_SIZE..], cells, out)
}

/// Walks the zig-zag varint counts once, rejecting what would make a histogram misbehave (the
/// one value whose negation overflows, indexes past the counts array, totals that could
/// overflow later arithmetic), and appends the non-zero counters to `out`.
fn sparse_counts(
    mut payload: &[u8],
    cells: u64,
    out: &mut Vec<(u64, u64)>,
) -> Result<u64, HistError> {
    use HistError::Invalid;
    let mut index: u64 = 0;
    let mut total: u64 = 0;
    while !payload.is_empty() {
        let (raw, used) = read_varint(payload).ok_or(Invalid("truncated varint"))?;
        payload = &payload[used..];
        // zig-zag decode
        let v = ((raw >> 1) as i64) ^ -((raw & 1) as i64);
        if v < 0 {
            // A run of zero counters.
            let zeros = v.checked_neg().ok_or(Invalid("bad zero run"))? as u64;
            index = index.saturating_add(zeros);
        } else {
            if index >= cells {
                return Err(Invalid("counts beyond the histogram range"));
            }
            if v > 0 {
                out.push((index, v as u64));
            }
            total = total.saturating_add(v as u64);
            index = index.saturating_add(1);
        }
        if index > cells {
            return Err(Invalid("counts beyond the histogram range"));
        }
        if total > MAX_ROW_COUNT {
            return Err(Invalid("total count too large"));
        }
    }
    Ok(total)
}

/// Reads HdrHistogram's LEB128-64b9B varint: up to 8 groups of 7 bits, then a full 9th byte.
fn read_varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for i in 0..9 {
        let byte = *b.get(i)?;
        if i == 8 {
            value |= u64::from(byte) << 56;
            return Some((value, 9));
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
