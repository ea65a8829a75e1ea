//! Claims: the record, its JSON, and the list filters of `GET /api/v1/claims`.

use serde::Serialize;
use uuid::Uuid;

use super::enums::ClaimStatus;
use super::list_filter::{CommonFilter, ListFilter};
use super::table::Record;
use crate::money::Money;
use crate::query::{ListQuery, QueryError, id_matches, within};
use crate::time::iso;

/// Longest description kept (longer ones are cut; a bound on memory per record).
pub const MAX_TEXT: usize = 2000;

/// A claim.
#[derive(Debug, Clone)]
pub struct Claim {
    /// Id (UUID v4).
    pub id: Uuid,
    /// Filer (from the token).
    pub user_id: Uuid,
    /// Organization (from the token).
    pub organization_id: Uuid,
    /// The policy claimed against.
    pub policy_id: Uuid,
    /// `CLM-<ms>-<9 base36>`.
    pub claim_number: String,
    /// Status.
    pub status: ClaimStatus,
    /// When it happened, ms.
    pub incident_date: i64,
    /// What happened.
    pub description: String,
    /// Amount claimed.
    pub claim_amount: Money,
    /// Amount approved, once approved.
    pub approved_amount: Option<Money>,
    /// Why it was denied, once denied.
    pub denial_reason: Option<String>,
    /// Created, ms.
    pub created_at: i64,
    /// Updated, ms.
    pub updated_at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct View<'a> {
    id: Uuid,
    user_id: Uuid,
    organization_id: Uuid,
    policy_id: Uuid,
    claim_number: &'a str,
    status: ClaimStatus,
    incident_date: String,
    description: &'a str,
    claim_amount: String,
    approved_amount: Option<String>,
    denial_reason: Option<&'a str>,
    created_at: String,
    updated_at: String,
}

impl Record for Claim {
    fn id(&self) -> Uuid {
        self.id
    }

    fn render(&self) -> String {
        let view = View {
            id: self.id,
            user_id: self.user_id,
            organization_id: self.organization_id,
            policy_id: self.policy_id,
            claim_number: &self.claim_number,
            status: self.status,
            incident_date: iso(self.incident_date),
            description: &self.description,
            claim_amount: self.claim_amount.to_string(),
            approved_amount: self.approved_amount.map(|m| m.to_string()),
            denial_reason: self.denial_reason.as_deref(),
            created_at: iso(self.created_at),
            updated_at: iso(self.updated_at),
        };
        serde_json::to_string(&view).unwrap_or_default()
    }
}

/// The filters of `GET /api/v1/claims`.
#[derive(Debug)]
pub struct ClaimFilter {
    common: CommonFilter<ClaimStatus>,
    policy_id: Option<Option<Uuid>>,
    incident_from: Option<i64>,
    incident_to: Option<i64>,
    min_amount: Option<f64>,
    max_amount: Option<f64>,
}

impl ListFilter for ClaimFilter {
    type Record = Claim;

    fn from_query(q: &ListQuery, owner: Option<Uuid>) -> Result<ClaimFilter, QueryError> {
        Ok(ClaimFilter {
            common: CommonFilter::from_query(q, ClaimStatus::parse, owner)?,
            policy_id: q.id("policyId"),
            incident_from: q.date("incidentDateFrom")?,
            incident_to: q.date("incidentDateTo")?,
            min_amount: q.float("minClaimAmount")?,
            max_amount: q.float("maxClaimAmount")?,
        })
    }

    /// `search` looks in the claim number and the description.
    fn matches(&self, c: &Claim) -> bool {
        self.common.admits(c.status, c.user_id)
            && id_matches(c.policy_id, self.policy_id)
            && within(c.incident_date, self.incident_from, self.incident_to)
            && within(c.claim_amount.to_f64(), self.min_amount, self.max_amount)
            && self.common.found_in(&[&c.claim_number, &c.description])
    }
}

/// Cuts text to [`MAX_TEXT`] characters.
pub fn bounded_text(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => s[..i].to_string(),
        None => s.to_string(),
    }
}
