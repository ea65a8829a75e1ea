//! Quotes (4.6): premium calculation, creation, lists, conversion, status and history.

use serde_json::{Value, json};

use super::policies::total;
use super::{T, assert_key_order, is_iso_millis};

async fn quote(t: &T, token: &str, kind: &str, coverage: Value, expires: Option<&str>) -> Value {
    let mut body = json!({"type": kind, "coverageAmount": coverage});
    if let Some(e) = expires {
        body["expiresAt"] = json!(e);
    }
    t.create("/api/v1/quotes", token, body).await
}

#[tokio::test]
async fn calculate_returns_numbers_with_the_formulas() {
    let t = T::new();
    let a = t.token(0).await;
    for (kind, coverage, premium) in [
        ("AUTO", json!(100000), json!(800)),
        ("HOME", json!(300000), json!(1200)),
        ("LIFE", json!(250000), json!(250)),
        ("HEALTH", json!(2500), json!(7666.67)),
        ("BUSINESS", json!("5000000"), json!(50000)),
    ] {
        let r = t
            .post(
                "/api/v1/quotes/calculate",
                &a,
                json!({"type": kind, "coverageAmount": coverage}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let v = r.json();
        assert_eq!(v["message"], "Premium calculated successfully");
        assert_eq!(v["data"]["type"], kind);
        assert!(v["data"]["coverageAmount"].is_number());
        assert_eq!(v["data"]["estimatedPremium"], premium, "{kind}");
        assert!(is_iso_millis(&v["data"]["calculatedAt"]));
    }
    // No `.0` on integral numbers (JavaScript's output).
    let r = t
        .post(
            "/api/v1/quotes/calculate",
            &a,
            json!({"type": "AUTO", "coverageAmount": 25000}),
        )
        .await;
    assert!(
        r.text
            .contains(r#""coverageAmount":25000,"estimatedPremium":575,"#),
        "{}",
        r.text
    );
    let r = t
        .post(
            "/api/v1/quotes/calculate",
            &a,
            json!({"type": "BOAT", "coverageAmount": 1}),
        )
        .await;
    assert_eq!(r.error(400), "Validation failed");
    let r = t
        .post("/api/v1/quotes/calculate", &a, json!({"type": "AUTO"}))
        .await;
    assert_eq!(r.json()["errors"][0]["path"], "coverageAmount");
    let r = t
        .req(
            "POST",
            "/api/v1/quotes/calculate",
            None,
            Some(json!({"type": "AUTO", "coverageAmount": 1})),
        )
        .await;
    assert_eq!(r.error(401), "No token provided");
}

#[tokio::test]
async fn create_computes_the_premium_server_side() {
    let t = T::new();
    let a = t.token(0).await;
    let r = t
        .post(
            "/api/v1/quotes",
            &a,
            json!({"type": "HEALTH", "coverageAmount": 10000,
            "expiresAt": "2026-03-01T12:00:00.123456"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_key_order(
        &r.text,
        &[
            "id",
            "userId",
            "organizationId",
            "quoteNumber",
            "type",
            "status",
            "coverageAmount",
            "premium",
            "expiresAt",
            "createdAt",
            "updatedAt",
            "message",
        ],
    );
    let v = r.json();
    assert_eq!(
        v["message"],
        "Quote created with calculated premium: $6666.67"
    );
    let q = &v["data"];
    assert_eq!(q["status"], "ACTIVE");
    assert_eq!(q["premium"], "6666.67");
    assert_eq!(q["coverageAmount"], "10000");
    assert_eq!(q["expiresAt"], "2026-03-01T12:00:00.123Z");
    assert!(q["quoteNumber"].as_str().unwrap().starts_with("QUO-"));
    // expiresAt defaults to 30 days from now.
    let q = quote(&t, &a, "AUTO", json!(25000), None).await;
    let created = crate::time::parse_iso8601(q["createdAt"].as_str().unwrap()).unwrap();
    let expires = crate::time::parse_iso8601(q["expiresAt"].as_str().unwrap()).unwrap();
    assert_eq!(expires - created, 30 * 86_400_000);
    assert_eq!(q["premium"], "575");
    let r = t
        .post(
            "/api/v1/quotes",
            &a,
            json!({"type": "AUTO", "coverageAmount": 1, "expiresAt": "later"}),
        )
        .await;
    assert_eq!(r.json()["errors"][0]["path"], "expiresAt");
}

#[tokio::test]
async fn convert_makes_an_active_policy_once() {
    let t = T::new();
    let a = t.token(0).await;
    let b = t.token(1).await;
    let q = quote(&t, &a, "LIFE", json!(1000000), None).await;
    let id = q["id"].as_str().unwrap();
    // Converted by an agent of another organization: the policy is theirs (the caller's token).
    let r = t
        .req(
            "POST",
            &format!("/api/v1/quotes/{id}/convert"),
            Some(&b),
            None,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let v = r.json();
    assert_eq!(v["message"], "Quote successfully converted to policy");
    assert_eq!(v["data"]["quote"]["status"], "CONVERTED");
    assert_eq!(v["data"]["quote"]["id"], id);
    let p = &v["data"]["policy"];
    assert_eq!(p["status"], "ACTIVE");
    assert_eq!(p["type"], "LIFE");
    assert_eq!(p["premium"], "1000");
    assert_eq!(p["coverageAmount"], "1000000");
    let start = crate::time::parse_iso8601(p["startDate"].as_str().unwrap()).unwrap();
    let end = crate::time::parse_iso8601(p["endDate"].as_str().unwrap()).unwrap();
    assert_eq!(end - start, 365 * 86_400_000);
    let me_b = t.get("/api/v1/auth/me", &b).await.data();
    assert_eq!(p["organizationId"], me_b["organizationId"]);
    let fetched = t
        .get(
            &format!("/api/v1/policies/{}", p["id"].as_str().unwrap()),
            &a,
        )
        .await;
    assert_eq!(fetched.data()["id"], p["id"]);
    // Again: 400. Conversion writes no history row.
    let r = t
        .req(
            "POST",
            &format!("/api/v1/quotes/{id}/convert"),
            Some(&a),
            None,
        )
        .await;
    assert_eq!(
        r.error(400),
        "Only ACTIVE quotes can be converted to policies"
    );
    let h = t
        .get(&format!("/api/v1/quotes/{id}/history"), &a)
        .await
        .data();
    assert_eq!(h, json!([]));
    // Expired and missing quotes.
    let old = quote(&t, &a, "AUTO", json!(25000), Some("2020-01-01")).await;
    let r = t
        .req(
            "POST",
            &format!("/api/v1/quotes/{}/convert", old["id"].as_str().unwrap()),
            Some(&a),
            None,
        )
        .await;
    assert_eq!(r.error(400), "Quote has expired");
    let r = t
        .req(
            "POST",
            &format!("/api/v1/quotes/{}/convert", uuid::Uuid::new_v4()),
            Some(&a),
            None,
        )
        .await;
    assert_eq!(r.error(404), "Quote not found");
}

#[tokio::test]
async fn lists_filters_status_updates_and_expiry() {
    let t = T::new();
    let a = t.token(0).await;
    let q1 = quote(&t, &a, "AUTO", json!(50000), None).await;
    let _q2 = quote(&t, &a, "HOME", json!(400000), None).await;
    let q3 = quote(&t, &a, "HOME", json!(750000), Some("2020-01-01")).await;
    assert_eq!(
        total(&t, &a, "quotes", "status=ACTIVE&limit=50".into()).await,
        3
    );
    assert_eq!(
        total(
            &t,
            &a,
            "quotes",
            "status=ACTIVE&type=HOME&page=1&limit=20".into()
        )
        .await,
        2
    );
    assert_eq!(
        total(
            &t,
            &a,
            "quotes",
            "minCoverage=100000&maxCoverage=500000".into()
        )
        .await,
        1
    );
    assert_eq!(total(&t, &a, "quotes", "minPremium=3000".into()).await, 1);
    assert_eq!(
        total(&t, &a, "quotes", "expiresBefore=2021-01-01".into()).await,
        1
    );
    assert_eq!(total(&t, &a, "quotes", "page=2&limit=20".into()).await, 3);
    let r = t.get("/api/v1/quotes?status=OPEN", &a).await;
    assert_eq!(r.error(500), "Failed to fetch quotes");
    assert_eq!(
        total(&t, &t.token(1).await, "quotes", String::new()).await,
        0
    );

    let r = t.post("/api/v1/quotes/expire-old", &a, json!({})).await;
    assert_eq!(r.data()["expiredCount"], 1);
    let v = t
        .get(
            &format!("/api/v1/quotes/{}", q3["id"].as_str().unwrap()),
            &a,
        )
        .await
        .data();
    assert_eq!(v["status"], "EXPIRED");

    let path = format!("/api/v1/quotes/{}/status", q1["id"].as_str().unwrap());
    let r = t
        .put(
            &path,
            &a,
            json!({"status": "EXPIRED", "statusChangeReason": "Customer declined"}),
        )
        .await;
    assert_eq!(r.data()["status"], "EXPIRED");
    let r = t.put(&path, &a, json!({"status": "GONE"})).await;
    assert_eq!(r.error(400), "Validation failed");
    let h = t
        .get(
            &format!("/api/v1/quotes/{}/history", q1["id"].as_str().unwrap()),
            &a,
        )
        .await;
    assert_key_order(
        &h.text,
        &["id", "quoteId", "organizationId", "oldStatus", "newStatus"],
    );
    let rows = h.data();
    assert_eq!(rows[0]["oldStatus"], "ACTIVE");
    assert_eq!(rows[0]["newStatus"], "EXPIRED");
    assert_eq!(rows[0]["reason"], "Customer declined");
    assert_eq!(
        total(&t, &a, "quotes/my/quotes", "status=EXPIRED".into()).await,
        2
    );
    let one = format!("/api/v1/quotes/{}", q1["id"].as_str().unwrap());
    assert_eq!(t.req("DELETE", &one, Some(&a), None).await.status, 200);
    assert_eq!(t.get(&one, &a).await.error(404), "Quote not found");
}
