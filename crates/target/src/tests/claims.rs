//! Claims (4.5): creation against real policies, the state machine, history.

use serde_json::{Value, json};

use super::policies::total;
use super::{T, assert_history_key_order, assert_key_order, is_uuid_v4};
use crate::store::enums::ClaimStatus;

fn claim_body(policy_id: &Value, amount: Value) -> Value {
    json!({"policyId": policy_id, "incidentDate": "2026-01-03T10:00:00.000000",
        "claimAmount": amount, "description": "Vehicle collision at intersection"})
}

async fn new_claim(t: &T, token: &str) -> Value {
    let p = t.active_policy(token).await;
    t.create("/api/v1/claims", token, claim_body(&p["id"], json!(12000)))
        .await
}

#[tokio::test]
async fn create_shape_and_policy_checks() {
    let t = T::new();
    let a = t.token(0).await;
    let p = t.active_policy(&a).await;
    let r = t
        .post("/api/v1/claims", &a, claim_body(&p["id"], json!(12000)))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_key_order(
        &r.text,
        &[
            "id",
            "userId",
            "organizationId",
            "policyId",
            "claimNumber",
            "status",
            "incidentDate",
            "description",
            "claimAmount",
            "approvedAmount",
            "denialReason",
            "createdAt",
            "updatedAt",
        ],
    );
    let c = r.data();
    assert!(is_uuid_v4(&c["id"]));
    assert_eq!(c["status"], "SUBMITTED");
    assert_eq!(c["claimAmount"], "12000");
    assert_eq!(c["approvedAmount"], Value::Null);
    assert_eq!(c["denialReason"], Value::Null);
    assert_eq!(c["incidentDate"], "2026-01-03T10:00:00.000Z");
    assert!(c["claimNumber"].as_str().unwrap().starts_with("CLM-"));

    // Missing, unknown or non-ACTIVE policy: 400.
    let pending = t
        .post(
            "/api/v1/policies",
            &a,
            json!({"type": "AUTO", "startDate": "2026-01-01",
            "endDate": "2027-01-01", "premium": 1, "coverageAmount": 1}),
        )
        .await
        .data();
    for policy in [
        json!(uuid::Uuid::new_v4().to_string()),
        json!("policy-1"),
        pending["id"].clone(),
    ] {
        let r = t
            .post("/api/v1/claims", &a, claim_body(&policy, json!(5)))
            .await;
        assert_eq!(r.error(400), "Policy not found or not active", "{policy}");
    }
    // Another organization's policy: 403.
    let b = t.token(1).await;
    let r = t
        .post("/api/v1/claims", &b, claim_body(&p["id"], json!(5)))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
}

#[tokio::test]
async fn validation_order_and_the_readme_body() {
    let t = T::new();
    let a = t.token(0).await;
    let p = t.active_policy(&a).await;
    // The README's original body has `amount`, not `claimAmount`.
    let readme = json!({"claimNumber": "CLM-1", "policyId": "policy-1", "type": "auto",
        "status": "submitted", "amount": 1000, "description": "x", "incidentDate": "2025-06-01"});
    let r = t.post("/api/v1/claims", &a, readme).await;
    assert_eq!(r.error(400), "Validation failed");
    assert_eq!(r.json()["errors"][0]["path"], "claimAmount");
    for (b, field) in [
        (json!({}), "policyId"),
        (json!({"policyId": ""}), "policyId"),
        (
            json!({"policyId": p["id"], "incidentDate": "x"}),
            "incidentDate",
        ),
        (
            json!({"policyId": p["id"], "incidentDate": "2026-01-01"}),
            "description",
        ),
        (
            json!({"policyId": p["id"], "incidentDate": "2026-01-01", "description": "d", "claimAmount": "1,5"}),
            "claimAmount",
        ),
    ] {
        let r = t.post("/api/v1/claims", &a, b).await;
        assert_eq!(r.error(400), "Validation failed");
        assert_eq!(r.json()["errors"][0]["path"], field, "{}", r.text);
    }
}

/// Drives a fresh claim to `status` through allowed transitions.
async fn claim_in(t: &T, token: &str, status: ClaimStatus) -> String {
    let c = new_claim(t, token).await;
    let id = c["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/claims/{id}/status");
    let steps: &[Value] = match status {
        ClaimStatus::Submitted => &[],
        ClaimStatus::UnderReview => &[json!({"status": "UNDER_REVIEW"})],
        ClaimStatus::Approved => &[
            json!({"status": "UNDER_REVIEW"}),
            json!({"status": "APPROVED", "approvedAmount": 100}),
        ],
        ClaimStatus::Denied => &[json!({"status": "DENIED", "denialReason": "r"})],
        ClaimStatus::Paid => &[
            json!({"status": "UNDER_REVIEW"}),
            json!({"status": "APPROVED", "approvedAmount": 100}),
            json!({"status": "PAID"}),
        ],
    };
    for step in steps {
        let r = t.put(&path, token, step.clone()).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    id
}

#[tokio::test]
async fn every_transition_is_allowed_or_refused_as_the_state_machine_says() {
    let t = T::new();
    let a = t.token(0).await;
    for from in ClaimStatus::ALL {
        for to in ClaimStatus::ALL {
            let id = claim_in(&t, &a, *from).await;
            let body = json!({"status": to.as_str(), "approvedAmount": "4321.5", "denialReason": "Duplicate claim submission detected"});
            let r = t
                .put(&format!("/api/v1/claims/{id}/status"), &a, body)
                .await;
            if from.can_become(*to) {
                assert_eq!(r.status, 200, "{from} -> {to}: {}", r.text);
                assert_eq!(r.data()["status"], to.as_str());
            } else {
                assert_eq!(
                    r.error(400),
                    format!("Invalid status transition from {from} to {to}"),
                );
            }
        }
    }
}

#[tokio::test]
async fn decisions_need_their_fields_and_write_history() {
    let t = T::new();
    let a = t.token(0).await;
    let id = claim_in(&t, &a, ClaimStatus::UnderReview).await;
    let path = format!("/api/v1/claims/{id}/status");
    let r = t.put(&path, &a, json!({"status": "APPROVED"})).await;
    assert_eq!(
        r.error(400),
        "Approved amount is required when approving a claim"
    );
    let r = t.put(&path, &a, json!({"status": "DENIED"})).await;
    assert_eq!(
        r.error(400),
        "Denial reason is required when denying a claim"
    );
    let r = t.put(&path, &a, json!({"status": "approved"})).await;
    assert_eq!(r.error(400), "Validation failed");
    assert_eq!(r.json()["errors"][0]["path"], "status");
    let r = t
        .put(
            &path,
            &a,
            json!({"status": "APPROVED", "approvedAmount": "abc"}),
        )
        .await;
    assert_eq!(r.json()["errors"][0]["path"], "approvedAmount");
    let r = t
        .put(
            &path,
            &a,
            json!({"status": "APPROVED", "approvedAmount": 10912.35}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.data()["approvedAmount"], "10912.35");
    let h = t.get(&format!("/api/v1/claims/{id}/history"), &a).await;
    assert_history_key_order(&h.text, "claimId");
    let rows = h.data();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["newStatus"], "APPROVED");
    assert_eq!(rows[0]["reason"], Value::Null);
    assert_eq!(
        rows[0]["metadata"],
        json!({"approvedAmount": 10912.35, "previousStatus": "UNDER_REVIEW"})
    );
    assert_eq!(rows[1]["oldStatus"], "SUBMITTED");
    assert_eq!(
        rows[1]["metadata"],
        json!({"approvedAmount": null, "previousStatus": "SUBMITTED"})
    );

    let denied = claim_in(&t, &a, ClaimStatus::Submitted).await;
    let r = t
        .put(
            &format!("/api/v1/claims/{denied}/status"),
            &a,
            json!({"status": "DENIED", "denialReason": "Policy coverage limits exceeded"}),
        )
        .await;
    assert_eq!(r.data()["denialReason"], "Policy coverage limits exceeded");
    let rows = t
        .get(&format!("/api/v1/claims/{denied}/history"), &a)
        .await
        .data();
    assert_eq!(rows[0]["reason"], "Policy coverage limits exceeded");

    let missing = format!("/api/v1/claims/{}/status", uuid::Uuid::new_v4());
    assert_eq!(
        t.put(&missing, &a, json!({"status": "PAID"}))
            .await
            .error(404),
        "Claim not found"
    );
}

#[tokio::test]
async fn approve_and_deny_endpoints() {
    let t = T::new();
    let a = t.token(0).await;
    let submitted = claim_in(&t, &a, ClaimStatus::Submitted).await;
    let r = t
        .post(
            &format!("/api/v1/claims/{submitted}/approve"),
            &a,
            json!({"approvedAmount": 5}),
        )
        .await;
    assert_eq!(
        r.error(400),
        "Invalid status transition from SUBMITTED to APPROVED"
    );
    let r = t
        .post(&format!("/api/v1/claims/{submitted}/deny"), &a, json!({}))
        .await;
    assert_eq!(r.error(400), "Validation failed");
    let r = t
        .post(
            &format!("/api/v1/claims/{submitted}/deny"),
            &a,
            json!({"reason": "Fraudulent claim indicators identified"}),
        )
        .await;
    assert_eq!(r.data()["status"], "DENIED");
    let review = claim_in(&t, &a, ClaimStatus::UnderReview).await;
    let r = t
        .post(
            &format!("/api/v1/claims/{review}/approve"),
            &a,
            json!({"approvedAmount": "800"}),
        )
        .await;
    assert_eq!(r.data()["approvedAmount"], "800");
}

#[tokio::test]
async fn lists_filters_scoping_and_reads_by_id() {
    let t = T::new();
    let a = t.token(0).await;
    let b = t.token(1).await;
    let first = new_claim(&t, &a).await;
    let _ = claim_in(&t, &a, ClaimStatus::UnderReview).await;
    let _ = new_claim(&t, &b).await;
    assert_eq!(total(&t, &a, "claims", String::new()).await, 2);
    assert_eq!(
        total(&t, &a, "claims", "status=UNDER_REVIEW&limit=50".into()).await,
        1
    );
    assert_eq!(
        total(&t, &a, "claims", "status=SUBMITTED&page=1&limit=20".into()).await,
        1
    );
    let pid = first["policyId"].as_str().unwrap();
    assert_eq!(total(&t, &a, "claims", format!("policyId={pid}")).await, 1);
    assert_eq!(total(&t, &a, "claims", "search=collision".into()).await, 2);
    assert_eq!(
        total(
            &t,
            &a,
            "claims",
            "minClaimAmount=12000&maxClaimAmount=12000".into()
        )
        .await,
        2
    );
    assert_eq!(
        total(&t, &a, "claims", "incidentDateFrom=2026-01-04".into()).await,
        0
    );
    assert_eq!(total(&t, &b, "claims", String::new()).await, 1);
    let r = t.get("/api/v1/claims?status=OPEN", &a).await;
    assert_eq!(r.error(500), "Failed to fetch claims");
    let v = t.get("/api/v1/claims", &a).await.json();
    assert_eq!(v["data"][1]["id"], first["id"]);
    // Reads by id cross organizations.
    let path = format!("/api/v1/claims/{}", first["id"].as_str().unwrap());
    assert_eq!(t.get(&path, &b).await.data()["id"], first["id"]);
    assert_eq!(
        t.get("/api/v1/claims/x", &a).await.error(404),
        "Claim not found"
    );
    assert_eq!(total(&t, &a, "claims/my/claims", String::new()).await, 2);
    assert_eq!(t.req("DELETE", &path, Some(&a), None).await.status, 200);
    assert_eq!(t.get(&path, &a).await.error(404), "Claim not found");
}
