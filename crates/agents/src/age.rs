//! Age-weighted picking (the original's `select_by_age_probability`) and the speed factor.
//!
//! Each item of a list weighs exp(−0.3·|age − target| / target) by its age in minutes since
//! `createdAt`; items younger than the minimum age (1 minute, divided by the time scale) weigh 0,
//! so an agent leaves fresh work alone and items drift through their lifecycle at roughly the
//! target age. Unlike the original, ages use real UTC (`createdAt` is parsed as RFC 3339), not
//! the container's local clock.

use chrono::{DateTime, Utc};
use md5::{Digest, Md5};
use serde_json::Value;

/// Picks an index of `items` by age; `None` when nothing qualifies. `target_min` and `min_age`
/// are in minutes; `unit` is uniform in `[0, 1)`.
pub fn pick_by_age(
    items: &[Value],
    target_min: f64,
    min_age: f64,
    now: DateTime<Utc>,
    unit: f64,
) -> Option<usize> {
    if !(target_min.is_finite() && target_min > 0.0) {
        return None;
    }
    let weights: Vec<f64> = items
        .iter()
        .map(|item| {
            let Some(age) = age_minutes(item, now) else {
                return 0.0;
            };
            if age < min_age {
                0.0
            } else {
                (-0.3 * (age - target_min).abs() / target_min).exp()
            }
        })
        .collect();
    let total: f64 = weights.iter().sum();
    if !(total > 0.0 && total.is_finite()) {
        return None;
    }
    let mut left = unit.clamp(0.0, 1.0) * total;
    let mut last = None;
    for (i, w) in weights.iter().enumerate() {
        if *w <= 0.0 {
            continue;
        }
        last = Some(i);
        if left < *w {
            return Some(i);
        }
        left -= w;
    }
    last
}

/// Minutes since the item's `createdAt`, if it has a parseable one.
fn age_minutes(item: &Value, now: DateTime<Utc>) -> Option<f64> {
    let created = DateTime::parse_from_rfc3339(item.get("createdAt")?.as_str()?).ok()?;
    let millis = now.signed_duration_since(created).num_milliseconds();
    Some(millis as f64 / 60_000.0)
}

/// The per-user speed factor in `[0.7, 1.3)`: md5 of the user id, as a 128-bit number, mod
/// 10000, scaled. Deterministic, so a given seeded user is always as fast.
pub fn speed_factor(user_id: &str) -> f64 {
    let digest = Md5::digest(user_id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest);
    let n = u128::from_be_bytes(bytes) % 10_000;
    0.7 + 0.6 * (n as f64 / 10_000.0)
}

/// FNV-1a (64-bit): a stable hash for the Group-A/Group-B split, the same in every process.
pub fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use serde_json::json;

    fn item(now: DateTime<Utc>, minutes: i64) -> Value {
        let at = now - Duration::minutes(minutes);
        json!({ "createdAt": at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string() })
    }

    #[test]
    fn young_and_undated_items_never_qualify() {
        let now = Utc::now();
        let items = [item(now, 0), json!({}), json!({"createdAt": "junk"})];
        assert_eq!(pick_by_age(&items, 12.0, 1.0, now, 0.5), None);
        assert_eq!(pick_by_age(&[], 12.0, 1.0, now, 0.5), None);
    }

    #[test]
    fn items_near_the_target_are_preferred() {
        let now = Utc::now();
        let items = [item(now, 2), item(now, 12), item(now, 0)];
        let mut counts = [0u32; 3];
        for k in 0..1000 {
            if let Some(i) = pick_by_age(&items, 12.0, 1.0, now, f64::from(k) / 1000.0) {
                counts[i] += 1;
            }
        }
        assert_eq!(counts[2], 0);
        assert_eq!(counts[0] + counts[1], 1000);
        // Weights exp(-0.25) ≈ 0.78 and 1.0.
        assert!(counts[1] > counts[0]);
    }

    #[test]
    fn speed_factor_is_in_range_and_stable() {
        for id in ["a", "b", "9d1c7e4e-0000-4000-8000-000000000000", ""] {
            let f = speed_factor(id);
            assert!((0.7..1.3).contains(&f), "{f}");
            assert_eq!(f, speed_factor(id));
        }
        // md5("") = d41d8cd98f00b204e9800998ecf8427e; that number mod 10000.
        let n = 0xd41d8cd98f00b204e9800998ecf8427e_u128 % 10_000;
        assert_eq!(speed_factor(""), 0.7 + 0.6 * (n as f64 / 10_000.0));
    }

    #[test]
    fn fnv1a_known_values() {
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
