//! Quotes: the record, its JSON, the premium formulas, and the list filters of
//! `GET /api/v1/quotes`.

use serde::Serialize;
use uuid::Uuid;

use super::enums::{PolicyType, QuoteStatus};
use super::list_filter::{CommonFilter, ListFilter};
use super::table::Record;
use crate::money::{Money, round_cents};
use crate::query::{ListQuery, QueryError, within};
use crate::time::iso;

/// A quote.
#[derive(Debug, Clone)]
pub struct Quote {
    /// Id (UUID v4).
    pub id: Uuid,
    /// Requester (from the token).
    pub user_id: Uuid,
    /// Organization (from the token).
    pub organization_id: Uuid,
    /// `QUO-<ms>-<9 base36>`.
    pub quote_number: String,
    /// Type.
    pub kind: PolicyType,
    /// Status.
    pub status: QuoteStatus,
    /// Coverage amount.
    pub coverage_amount: Money,
    /// Premium (computed by the server).
    pub premium: Money,
    /// Expiry, ms.
    pub expires_at: i64,
    /// Created, ms.
    pub created_at: i64,
    /// Updated, ms.
    pub updated_at: i64,
}

/// The premium for a coverage amount, rounded to cents:
/// AUTO 500 + 0.3%; HOME 0.4%; LIFE 0.1%; HEALTH 8000 − (coverage/15000)·2000;
/// BUSINESS 1.0%.
pub fn premium(kind: PolicyType, coverage: f64) -> f64 {
    let raw = match kind {
        PolicyType::Auto => 500.0 + coverage * 0.003,
        PolicyType::Home => coverage * 0.004,
        PolicyType::Life => coverage * 0.001,
        PolicyType::Health => 8000.0 - (coverage / 15000.0) * 2000.0,
        PolicyType::Business => coverage * 0.01,
    };
    round_cents(raw)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct View<'a> {
    id: Uuid,
    user_id: Uuid,
    organization_id: Uuid,
    quote_number: &'a str,
    #[serde(rename = "type")]
    kind: PolicyType,
    status: QuoteStatus,
    coverage_amount: String,
    premium: String,
    expires_at: String,
    created_at: String,
    updated_at: String,
}

impl Record for Quote {
    fn id(&self) -> Uuid {
        self.id
    }

    fn render(&self) -> String {
        let view = View {
            id: self.id,
            user_id: self.user_id,
            organization_id: self.organization_id,
            quote_number: &self.quote_number,
            kind: self.kind,
            status: self.status,
            coverage_amount: self.coverage_amount.to_string(),
            premium: self.premium.to_string(),
            expires_at: iso(self.expires_at),
            created_at: iso(self.created_at),
            updated_at: iso(self.updated_at),
        };
        serde_json::to_string(&view).unwrap_or_default()
    }
}

/// The filters of `GET /api/v1/quotes`.
#[derive(Debug)]
pub struct QuoteFilter {
    common: CommonFilter<QuoteStatus>,
    kind: Option<PolicyType>,
    expires_after: Option<i64>,
    expires_before: Option<i64>,
    min_coverage: Option<f64>,
    max_coverage: Option<f64>,
    min_premium: Option<f64>,
    max_premium: Option<f64>,
}

impl ListFilter for QuoteFilter {
    type Record = Quote;

    fn from_query(q: &ListQuery, owner: Option<Uuid>) -> Result<QuoteFilter, QueryError> {
        Ok(QuoteFilter {
            common: CommonFilter::from_query(q, QuoteStatus::parse, owner)?,
            kind: q.enum_filter("type", PolicyType::parse)?,
            expires_after: q.date("expiresAfter")?,
            expires_before: q.date("expiresBefore")?,
            min_coverage: q.float("minCoverage")?,
            max_coverage: q.float("maxCoverage")?,
            min_premium: q.float("minPremium")?,
            max_premium: q.float("maxPremium")?,
        })
    }

    /// `search` looks in the quote number.
    fn matches(&self, q: &Quote) -> bool {
        self.common.admits(q.status, q.user_id)
            && self.kind.is_none_or(|k| k == q.kind)
            && within(q.expires_at, self.expires_after, self.expires_before)
            && within(
                q.coverage_amount.to_f64(),
                self.min_coverage,
                self.max_coverage,
            )
            && within(q.premium.to_f64(), self.min_premium, self.max_premium)
            && self.common.found_in(&[&q.quote_number])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn premium_formulas() {
        assert_eq!(premium(PolicyType::Auto, 100_000.0), 800.0);
        assert_eq!(premium(PolicyType::Home, 300_000.0), 1200.0);
        assert_eq!(premium(PolicyType::Life, 250_000.0), 250.0);
        assert_eq!(premium(PolicyType::Health, 15_000.0), 6000.0);
        assert_eq!(premium(PolicyType::Health, 2_500.0), 7666.67);
        assert_eq!(premium(PolicyType::Business, 5_000_000.0), 50_000.0);
        assert_eq!(premium(PolicyType::Auto, 12_345.67), 537.04);
    }
}
