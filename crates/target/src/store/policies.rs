//! Policies: the record, its JSON, and the list filters of `GET /api/v1/policies`.

use serde::Serialize;
use uuid::Uuid;

use super::enums::{PolicyStatus, PolicyType};
use super::list_filter::{CommonFilter, ListFilter};
use super::table::Record;
use crate::money::Money;
use crate::query::{ListQuery, QueryError, within};
use crate::time::iso;

/// A policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Id (UUID v4).
    pub id: Uuid,
    /// Owner (from the creator's token).
    pub user_id: Uuid,
    /// Organization (from the creator's token).
    pub organization_id: Uuid,
    /// `POL-<ms>-<9 base36>`.
    pub policy_number: String,
    /// Type.
    pub kind: PolicyType,
    /// Status.
    pub status: PolicyStatus,
    /// Start, ms.
    pub start_date: i64,
    /// End, ms.
    pub end_date: i64,
    /// Premium.
    pub premium: Money,
    /// Coverage amount.
    pub coverage_amount: Money,
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
    policy_number: &'a str,
    #[serde(rename = "type")]
    kind: PolicyType,
    status: PolicyStatus,
    start_date: String,
    end_date: String,
    premium: String,
    coverage_amount: String,
    created_at: String,
    updated_at: String,
}

impl Record for Policy {
    fn id(&self) -> Uuid {
        self.id
    }

    fn render(&self) -> String {
        let view = View {
            id: self.id,
            user_id: self.user_id,
            organization_id: self.organization_id,
            policy_number: &self.policy_number,
            kind: self.kind,
            status: self.status,
            start_date: iso(self.start_date),
            end_date: iso(self.end_date),
            premium: self.premium.to_string(),
            coverage_amount: self.coverage_amount.to_string(),
            created_at: iso(self.created_at),
            updated_at: iso(self.updated_at),
        };
        serde_json::to_string(&view).unwrap_or_default()
    }
}

/// The filters of `GET /api/v1/policies`.
#[derive(Debug)]
pub struct PolicyFilter {
    common: CommonFilter<PolicyStatus>,
    kind: Option<PolicyType>,
    start_from: Option<i64>,
    start_to: Option<i64>,
    end_from: Option<i64>,
    end_to: Option<i64>,
    min_premium: Option<f64>,
    max_premium: Option<f64>,
}

impl ListFilter for PolicyFilter {
    type Record = Policy;

    fn from_query(q: &ListQuery, owner: Option<Uuid>) -> Result<PolicyFilter, QueryError> {
        Ok(PolicyFilter {
            common: CommonFilter::from_query(q, PolicyStatus::parse, owner)?,
            kind: q.enum_filter("type", PolicyType::parse)?,
            start_from: q.date("startDateFrom")?,
            start_to: q.date("startDateTo")?,
            end_from: q.date("endDateFrom")?,
            end_to: q.date("endDateTo")?,
            min_premium: q.float("minPremium")?,
            max_premium: q.float("maxPremium")?,
        })
    }

    /// `search` looks in the policy number.
    fn matches(&self, p: &Policy) -> bool {
        self.common.admits(p.status, p.user_id)
            && self.kind.is_none_or(|k| k == p.kind)
            && within(p.start_date, self.start_from, self.start_to)
            && within(p.end_date, self.end_from, self.end_to)
            && within(p.premium.to_f64(), self.min_premium, self.max_premium)
            && self.common.found_in(&[&p.policy_number])
    }
}
