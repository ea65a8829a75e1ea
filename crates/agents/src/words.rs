//! The original generator's fixed vocabularies: coverage amounts, reasons, descriptions.

/// Policy/quote types.
pub const TYPES: [&str; 5] = ["AUTO", "HOME", "LIFE", "HEALTH", "BUSINESS"];

/// Coverage amounts per type (the index matches [`TYPES`]).
pub const COVERAGE: [&[u64]; 5] = [
    &[25_000, 50_000, 100_000, 250_000, 500_000],
    &[200_000, 300_000, 400_000, 500_000, 750_000, 1_000_000],
    &[100_000, 250_000, 500_000, 1_000_000, 2_000_000, 3_000_000],
    &[1_000, 2_500, 5_000, 10_000, 15_000],
    &[500_000, 1_000_000, 2_000_000, 3_000_000, 5_000_000],
];

/// Reasons for cancelling a policy.
pub const CANCEL_REASONS: [&str; 4] = [
    "Customer request",
    "Non-payment of premium",
    "Policy no longer needed",
    "Switching to different provider",
];

/// Reasons for reactivating a policy.
pub const REACTIVATE_REASONS: [&str; 2] = [
    "Reactivation after payment received",
    "Reinstatement approved",
];

/// Claim descriptions.
pub const CLAIM_DESCRIPTIONS: [&str; 5] = [
    "Vehicle collision at intersection",
    "Home water damage from burst pipe",
    "Windshield damage from road debris",
    "Roof damage from storm",
    "Theft of personal property",
];

/// Denial reasons with their weights (they add up to 1.0).
pub const DENIAL_REASONS: [(&str, f64); 12] = [
    ("Insufficient documentation provided", 0.20),
    ("Missing required evidence or photos", 0.15),
    ("Policy coverage limits exceeded", 0.15),
    ("Lack of supporting receipts or repair estimates", 0.10),
    ("Incident not covered under policy terms", 0.12),
    ("Pre-existing damage identified in assessment", 0.08),
    ("Claim filed outside policy reporting window", 0.07),
    ("Unable to verify incident details provided", 0.03),
    ("Duplicate claim submission detected", 0.04),
    ("Policy was not active at time of incident", 0.03),
    ("Fraudulent claim indicators identified", 0.02),
    ("Third-party liability determined at fault", 0.01),
];

/// The denial probability for a claim amount.
pub fn denial_probability(amount: f64) -> f64 {
    if amount < 5_000.0 {
        0.10
    } else if amount < 20_000.0 {
        0.15
    } else if amount < 50_000.0 {
        0.25
    } else {
        0.35
    }
}

/// Draws a denial reason; `unit` is uniform in `[0, 1)`.
pub fn denial_reason(unit: f64) -> &'static str {
    let total: f64 = DENIAL_REASONS.iter().map(|(_, w)| w).sum();
    let mut left = unit.clamp(0.0, 1.0) * total;
    for (reason, weight) in DENIAL_REASONS {
        if left < weight {
            return reason;
        }
        left -= weight;
    }
    DENIAL_REASONS[DENIAL_REASONS.len() - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denial_rules() {
        assert_eq!(denial_probability(4_999.0), 0.10);
        assert_eq!(denial_probability(5_000.0), 0.15);
        assert_eq!(denial_probability(49_999.99), 0.25);
        assert_eq!(denial_probability(50_000.0), 0.35);
        assert_eq!(denial_reason(0.0), "Insufficient documentation provided");
        assert_eq!(denial_reason(0.2), "Missing required evidence or photos");
        assert_eq!(
            denial_reason(0.9999),
            "Third-party liability determined at fault"
        );
        assert_eq!(
            denial_reason(1.0),
            "Third-party liability determined at fault"
        );
    }
}
