//! Small, lock-free randomness.
//!
//! Two needs, two tools:
//! - the seed data must be the same for the same `--seed` on every machine, so it comes from a
//!   [`SplitMix64`] stream (tiny, fast, good enough for picking names);
//! - latency and error injection must be reproducible in tests but must not serialise the
//!   server's threads on one generator, so each decision is a pure function of
//!   `(seed, request number, purpose)` through [`mix`]: no shared RNG state, only an atomic
//!   counter in the caller.

use uuid::Uuid;

/// The SplitMix64 generator (Steele, Lea, Flood 2014).
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A stream starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        finalize(self.0)
    }

    /// A number in `0..n` (`0` when `n` is 0). The modulo bias is irrelevant for seed data.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// A random element of a non-empty slice (`None` when empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        let n = u64::try_from(items.len()).ok()?;
        let i = usize::try_from(self.below(n)).ok()?;
        items.get(i)
    }

    /// A version-4 UUID from this stream.
    pub fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

fn finalize(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stateless hash of `(seed, n, purpose)` to 64 random-looking bits.
pub fn mix(seed: u64, n: u64, purpose: u64) -> u64 {
    finalize(
        seed ^ finalize(n.wrapping_add(0x9E37_79B9_7F4A_7C15))
            ^ purpose.wrapping_mul(0xD6E8_FEB8_6659_FD93),
    )
}

/// Maps 64 random bits to a float in `[0, 1)`.
pub fn unit(bits: u64) -> f64 {
    // The top 53 bits fill an f64 mantissa exactly.
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `len` upper-case base-36 digits of `bits` (like JavaScript's
/// `Math.random().toString(36).substr(2, 9).toUpperCase()` in the record numbers).
pub fn base36_upper(mut bits: u64, len: usize) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = String::with_capacity(len);
    for _ in 0..len {
        out.push(char::from(DIGITS[(bits % 36) as usize]));
        bits /= 36;
    }
    out
}

/// A server-generated record number, `PREFIX-<epoch ms>-<9 upper base-36>`
/// (`POL-`, `CLM-`, `QUO-`). The random part comes from a fresh v4 UUID's random bits.
pub fn record_number(prefix: &str, now_ms: i64) -> String {
    let (high, _) = Uuid::new_v4().as_u64_pair();
    format!("{prefix}-{now_ms}-{}", base36_upper(high, 9))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible() {
        let a: Vec<u64> = {
            let mut r = SplitMix64::new(7);
            (0..5).map(|_| r.next_u64()).collect()
        };
        let mut r = SplitMix64::new(7);
        let b: Vec<u64> = (0..5).map(|_| r.next_u64()).collect();
        assert_eq!(a, b);
        assert_ne!(SplitMix64::new(8).next_u64(), a[0]);
    }

    #[test]
    fn uuids_are_version_4() {
        let id = SplitMix64::new(1).uuid();
        assert_eq!(id.get_version_num(), 4);
    }

    #[test]
    fn unit_is_in_range_and_mix_depends_on_every_input() {
        for n in 0..1000 {
            let u = unit(mix(1, n, 2));
            assert!((0.0..1.0).contains(&u));
        }
        assert_ne!(mix(1, 2, 3), mix(1, 2, 4));
        assert_ne!(mix(1, 2, 3), mix(1, 3, 3));
        assert_ne!(mix(1, 2, 3), mix(2, 2, 3));
    }

    #[test]
    fn record_numbers() {
        let n = record_number("POL", 1_700_000_000_000);
        assert!(n.starts_with("POL-1700000000000-"), "{n}");
        assert_eq!(n.len(), "POL-1700000000000-".len() + 9);
        assert_ne!(n, record_number("POL", 1_700_000_000_000));
    }

    #[test]
    fn base36_has_the_requested_length() {
        let s = base36_upper(u64::MAX, 9);
        assert_eq!(s.len(), 9);
        assert!(
            s.chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert_eq!(base36_upper(0, 3), "000");
    }
}
