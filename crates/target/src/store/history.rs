//! Status history rows, rendered once when written (they never change afterwards).

use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use super::table::{Entry, Record};
use crate::time::iso;

/// `metadata` of a policy or quote history row.
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeFlags {
    /// The premium changed in the same update.
    pub premium_changed: bool,
    /// The coverage amount changed in the same update.
    pub coverage_changed: bool,
    /// The end date changed in the same update.
    pub end_date_changed: bool,
}

/// `metadata` of a claim history row.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClaimMeta<'a> {
    /// The approved amount given with the change (as sent), or `null`.
    pub approved_amount: Option<Value>,
    /// The status before the change.
    pub previous_status: &'a str,
}

/// The `metadata` object of a row (field order as written by the services).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Metadata<'a> {
    /// Policies and quotes.
    Flags(ChangeFlags),
    /// Claims.
    Claim(ClaimMeta<'a>),
}

/// Which record a row belongs to: the key is `policyId`, `quoteId` or `claimId`.
#[derive(Debug, Clone, Copy)]
pub enum Subject {
    /// A policy.
    Policy(Uuid),
    /// A quote.
    Quote(Uuid),
    /// A claim.
    Claim(Uuid),
}

/// A status change.
#[derive(Debug, Clone)]
pub struct StatusChange<'a> {
    /// The record changed.
    pub subject: Subject,
    /// Its organization.
    pub organization_id: Uuid,
    /// Status before (`null` when none).
    pub old_status: Option<&'a str>,
    /// Status after.
    pub new_status: &'a str,
    /// The user who changed it (from the token).
    pub changed_by: Uuid,
    /// When, in ms.
    pub changed_at: i64,
    /// The reason given, if any.
    pub reason: Option<&'a str>,
    /// The row's `metadata` object.
    pub metadata: Metadata<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Row<'a> {
    id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    policy_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quote_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claim_id: Option<Uuid>,
    organization_id: Uuid,
    old_status: Option<&'a str>,
    new_status: &'a str,
    changed_by: Uuid,
    changed_at: String,
    reason: Option<&'a str>,
    metadata: &'a Metadata<'a>,
}

impl StatusChange<'_> {
    /// The row as JSON: `{id, <subject>Id, organizationId, oldStatus, newStatus, changedBy,
    /// changedAt, reason, metadata}`.
    pub fn render(&self, row_id: Uuid) -> String {
        let (policy_id, quote_id, claim_id) = match self.subject {
            Subject::Policy(id) => (Some(id), None, None),
            Subject::Quote(id) => (None, Some(id), None),
            Subject::Claim(id) => (None, None, Some(id)),
        };
        let row = Row {
            id: row_id,
            policy_id,
            quote_id,
            claim_id,
            organization_id: self.organization_id,
            old_status: self.old_status,
            new_status: self.new_status,
            changed_by: self.changed_by,
            changed_at: iso(self.changed_at),
            reason: self.reason,
            metadata: &self.metadata,
        };
        serde_json::to_string(&row).unwrap_or_default()
    }

    /// Renders the row under a new id (v4) and appends it to `entry`'s history.
    pub fn append_to<T: Record>(&self, entry: &mut Entry<T>) {
        entry.push_history(self.render(Uuid::new_v4()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_shape_and_order() {
        let id = Uuid::nil();
        let change = StatusChange {
            subject: Subject::Claim(id),
            organization_id: id,
            old_status: Some("SUBMITTED"),
            new_status: "DENIED",
            changed_by: id,
            changed_at: 0,
            reason: Some("Duplicate claim submission detected"),
            metadata: Metadata::Claim(ClaimMeta {
                approved_amount: None,
                previous_status: "SUBMITTED",
            }),
        };
        let z = "00000000-0000-0000-0000-000000000000";
        assert_eq!(
            change.render(id),
            format!(
                r#"{{"id":"{z}","claimId":"{z}","organizationId":"{z}","oldStatus":"SUBMITTED","newStatus":"DENIED","changedBy":"{z}","changedAt":"1970-01-01T00:00:00.000Z","reason":"Duplicate claim submission detected","metadata":{{"approvedAmount":null,"previousStatus":"SUBMITTED"}}}}"#
            )
        );
        let flags = StatusChange {
            subject: Subject::Policy(id),
            metadata: Metadata::Flags(ChangeFlags {
                premium_changed: true,
                ..ChangeFlags::default()
            }),
            ..change
        };
        assert!(flags.render(id).contains(
            r#""metadata":{"premiumChanged":true,"coverageChanged":false,"endDateChanged":false}"#
        ));
        assert!(flags.render(id).contains(r#","policyId":"#));
    }
}
