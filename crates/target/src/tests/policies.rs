//! Policies (4.4): creation, validation, lists (pagination, order, filters, scoping), reads
//! and updates by id, history.

use serde_json::{Value, json};

use super::{T, assert_history_key_order, assert_key_order, is_iso_millis, is_uuid_v4};

fn body(kind: &str, premium: Value) -> Value {
    json!({"type": kind, "startDate": "2026-01-01", "endDate": "2027-01-01",
        "premium": premium, "coverageAmount": 250000})
}

#[tokio::test]
async fn create_returns_the_contract_shape() {
    let t = T::new();
    let token = t.token(0).await;
    let r = t
        .post("/api/v1/policies", &token, body("HOME", json!("1250.50")))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_key_order(
        &r.text,
        &[
            "id",
            "userId",
            "organizationId",
            "policyNumber",
            "type",
            "status",
            "startDate",
            "endDate",
            "premium",
            "coverageAmount",
            "createdAt",
            "updatedAt",
        ],
    );
    let p = r.data();
    assert!(is_uuid_v4(&p["id"]));
    assert_eq!(p["status"], "PENDING");
    assert_eq!(p["type"], "HOME");
    assert_eq!(p["premium"], "1250.5");
    assert_eq!(p["coverageAmount"], "250000");
    assert_eq!(p["startDate"], "2026-01-01T00:00:00.000Z");
    assert!(is_iso_millis(&p["createdAt"]));
    let number = p["policyNumber"].as_str().unwrap();
    let parts: Vec<&str> = number.split('-').collect();
    assert_eq!(parts.len(), 3, "{number}");
    assert_eq!(parts[0], "POL");
    assert!(parts[1].len() == 13 && parts[1].bytes().all(|b| b.is_ascii_digit()));
    assert!(
        parts[2].len() == 9
            && parts[2]
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    );
    // userId and organizationId come from the token.
    let me = t.get("/api/v1/auth/me", &token).await.data();
    assert_eq!(p["userId"], me["id"]);
    assert_eq!(p["organizationId"], me["organizationId"]);
}

#[tokio::test]
async fn validation_names_the_first_failing_field() {
    let t = T::new();
    let token = t.token(0).await;
    let cases = [
        // The README's original body: lower-case type fails first.
        (
            json!({"policyNumber": "POL-12345", "type": "auto", "status": "active", "premium": 100.5,
            "coverageAmount": 10000, "startDate": "2025-01-01", "endDate": "2026-01-01",
            "customerId": "customer-1"}),
            "type",
            Some(json!("auto")),
        ),
        (json!({"type": "AUTO"}), "startDate", None),
        (
            json!({"type": "AUTO", "startDate": "soon"}),
            "startDate",
            Some(json!("soon")),
        ),
        (
            json!({"type": "AUTO", "startDate": "2026-01-01", "endDate": 5}),
            "endDate",
            Some(json!(5)),
        ),
        (
            json!({"type": "AUTO", "startDate": "2026-01-01", "endDate": "2027-01-01", "premium": "12a"}),
            "premium",
            Some(json!("12a")),
        ),
        (
            json!({"type": "AUTO", "startDate": "2026-01-01", "endDate": "2027-01-01", "premium": 1}),
            "coverageAmount",
            None,
        ),
        (
            json!({"type": "AUTO", "startDate": "2026-01-01", "endDate": "2027-01-01", "premium": 1,
            "coverageAmount": 1, "status": "active"}),
            "status",
            Some(json!("active")),
        ),
    ];
    for (b, field, value) in cases {
        let r = t.post("/api/v1/policies", &token, b).await;
        assert_eq!(r.error(400), "Validation failed");
        let errors = r.json()["errors"].clone();
        assert_eq!(errors.as_array().unwrap().len(), 1, "{}", r.text);
        let e = &errors[0];
        assert_eq!(e["type"], "field");
        assert_eq!(e["path"], field, "{}", r.text);
        assert_eq!(e["location"], "body");
        assert!(e["msg"].is_string());
        assert_eq!(e.get("value").cloned(), value, "{}", r.text);
    }
    // The README body with upper-case enums is accepted (policyNumber is server-generated).
    let ok = json!({"policyNumber": "POL-12345", "type": "AUTO", "status": "ACTIVE", "premium": 100.5,
        "coverageAmount": 10000, "startDate": "2025-01-01", "endDate": "2026-01-01", "customerId": "c-1"});
    let r = t.post("/api/v1/policies", &token, ok).await;
    assert_eq!(r.status, 201);
    assert_ne!(r.data()["policyNumber"], "POL-12345");
}

#[tokio::test]
async fn lists_are_paginated_newest_first_and_scoped_to_the_organization() {
    let t = T::new();
    let a = t.token(0).await;
    let b = t.token(1).await;
    let mut created = Vec::new();
    for i in 0..7 {
        let r = t.post("/api/v1/policies", &a, body("AUTO", json!(i))).await;
        created.push(r.data()["id"].clone());
    }
    t.post("/api/v1/policies", &b, body("LIFE", json!(1))).await;
    let r = t.get("/api/v1/policies?page=2&limit=3", &a).await;
    let v = r.json();
    assert_eq!(
        v["pagination"],
        json!({"page": 2, "limit": 3, "total": 7, "pages": 3})
    );
    let ids: Vec<Value> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![created[3].clone(), created[2].clone(), created[1].clone()]
    );
    // Defaults: page 1, limit 50.
    let v = t.get("/api/v1/policies", &a).await.json();
    assert_eq!(
        v["pagination"],
        json!({"page": 1, "limit": 50, "total": 7, "pages": 1})
    );
    assert_eq!(v["data"][0]["id"], created[6]);
    // Organization B sees only its own.
    let v = t.get("/api/v1/policies", &b).await.json();
    assert_eq!(v["pagination"]["total"], 1);
    // But reads by id do not check the organization.
    let path = format!("/api/v1/policies/{}", created[0].as_str().unwrap());
    assert_eq!(t.get(&path, &b).await.data()["id"], created[0]);
    // Past the end: empty page. limit=0: pages is null.
    let v = t.get("/api/v1/policies?page=9&limit=3", &a).await.json();
    assert_eq!(v["data"], json!([]));
    let v = t.get("/api/v1/policies?limit=0", &a).await.json();
    assert_eq!(v["pagination"]["pages"], Value::Null);
}

/// `pagination.total` of a list query.
pub async fn total(t: &T, token: &str, kind: &str, q: String) -> i64 {
    let r = t.get(&format!("/api/v1/{kind}?{q}"), token).await;
    assert_eq!(r.status, 200, "{q}: {}", r.text);
    r.json()["pagination"]["total"].as_i64().unwrap()
}

#[tokio::test]
async fn filters() {
    let t = T::new();
    let a = t.token(0).await;
    let p1 = t
        .post("/api/v1/policies", &a, body("AUTO", json!(100)))
        .await
        .data();
    let mut active = body("HOME", json!(900));
    active["status"] = json!("ACTIVE");
    let p2 = t.post("/api/v1/policies", &a, active).await.data();
    let total = |q: &'static str| total(&t, &a, "policies", q.to_string());
    assert_eq!(total("status=ACTIVE").await, 1);
    assert_eq!(total("status=PENDING&type=AUTO").await, 1);
    assert_eq!(total("type=LIFE").await, 0);
    assert_eq!(total("minPremium=500").await, 1);
    assert_eq!(total("maxPremium=500").await, 1);
    assert_eq!(total("status=").await, 2);
    let number = p2["policyNumber"].as_str().unwrap().to_lowercase();
    assert_eq!(
        super::policies::total(&t, &a, "policies", format!("search={number}")).await,
        1
    );
    let user = p1["userId"].as_str().unwrap();
    assert_eq!(
        super::policies::total(&t, &a, "policies", format!("userId={user}")).await,
        2
    );
    assert_eq!(total("userId=someone-else").await, 0);
    assert_eq!(
        total("startDateFrom=2025-12-31&startDateTo=2026-01-02").await,
        2
    );
    assert_eq!(total("endDateFrom=2027-01-02").await, 0);
    // What Prisma refuses is a 500.
    for q in [
        "status=active",
        "page=abc",
        "limit=x",
        "page=0",
        "minPremium=abc",
        "endDateTo=soon",
    ] {
        let r = t.get(&format!("/api/v1/policies?{q}"), &a).await;
        assert_eq!(r.error(500), "Failed to fetch policies", "{q}");
    }
    let mine = t.get("/api/v1/policies/my/policies", &a).await.json();
    assert_eq!(mine["pagination"]["total"], 2);
}

#[tokio::test]
async fn update_writes_history_only_when_the_status_changes() {
    let t = T::new();
    let a = t.token(0).await;
    let p = t.active_policy(&a).await;
    let id = p["id"].as_str().unwrap();
    let path = format!("/api/v1/policies/{id}");
    let r = t
        .put(
            &path,
            &a,
            json!({"status": "CANCELLED", "statusChangeReason": "Customer request"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.data()["status"], "CANCELLED");
    t.put(&path, &a, json!({"premium": "99.99"})).await;
    let r = t
        .put(&path, &a, json!({"status": "ACTIVE", "premium": 120, "statusChangeReason": "Reinstatement approved"}))
        .await;
    assert_eq!(r.data()["premium"], "120");
    let h = t.get(&format!("{path}/history"), &a).await;
    assert_history_key_order(&h.text, "policyId");
    let rows = h.data();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["oldStatus"], "CANCELLED");
    assert_eq!(rows[0]["newStatus"], "ACTIVE");
    assert_eq!(rows[0]["reason"], "Reinstatement approved");
    assert_eq!(
        rows[0]["metadata"],
        json!({"premiumChanged": true, "coverageChanged": false, "endDateChanged": false})
    );
    assert_eq!(rows[1]["newStatus"], "CANCELLED");
    assert_eq!(rows[1]["policyId"], id);
    assert!(is_iso_millis(&rows[1]["changedAt"]));
    // Unvalidated values fail in the database: 500.
    let r = t.put(&path, &a, json!({"status": "cancelled"})).await;
    assert_eq!(r.error(500), "Failed to update policy");
    let missing = format!("/api/v1/policies/{}", uuid::Uuid::new_v4());
    assert_eq!(
        t.put(&missing, &a, json!({"status": "ACTIVE"}))
            .await
            .error(404),
        "Policy not found"
    );
    assert_eq!(
        t.get("/api/v1/policies/not-a-uuid", &a).await.error(404),
        "Policy not found"
    );
}

#[tokio::test]
async fn delete_and_file_claim() {
    let t = T::new();
    let a = t.token(0).await;
    let p = t.active_policy(&a).await;
    let id = p["id"].as_str().unwrap();
    let claim = json!({"incidentDate": "2026-01-05", "description": "Roof damage from storm", "claimAmount": 4000});
    let r = t
        .post(
            &format!("/api/v1/policies/{id}/file-claim"),
            &a,
            claim.clone(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.data()["policyId"], id);
    assert_eq!(r.data()["status"], "SUBMITTED");
    let pending = t
        .post("/api/v1/policies", &a, body("AUTO", json!(1)))
        .await
        .data();
    let r = t
        .post(
            &format!(
                "/api/v1/policies/{}/file-claim",
                pending["id"].as_str().unwrap()
            ),
            &a,
            claim,
        )
        .await;
    assert_eq!(r.status, 400);
    let path = format!("/api/v1/policies/{id}");
    let r = t.req("DELETE", &path, Some(&a), None).await;
    assert_eq!(r.json()["message"], "Policy deleted successfully");
    assert_eq!(t.get(&path, &a).await.error(404), "Policy not found");
    assert_eq!(
        t.req("DELETE", &path, Some(&a), None).await.error(404),
        "Policy not found"
    );
}
