//! Auth (4.2, 4.3): login, register, organizations, verify, me, and the 401s of the
//! services.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use super::{T, assert_key_order, is_iso_millis, is_uuid_v4};
use crate::TargetConfig;
use crate::jwt::Claims;

async fn login(t: &T, email: &str, password: &str) -> super::Resp {
    t.req(
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

async fn register(t: &T, body: Value) -> super::Resp {
    t.req("POST", "/api/v1/auth/register", None, Some(body))
        .await
}

fn payload(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn login_returns_the_user_row_and_a_contract_token() {
    let t = T::new();
    let seeded = &t.users_of(0)[0];
    let r = login(&t, &seeded.email, "password123").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let data = r.data();
    let user = &data["user"];
    assert_key_order(
        &r.text,
        &[
            "id",
            "email",
            "firstName",
            "lastName",
            "role",
            "orgRole",
            "organizationId",
            "dateOfBirth",
            "phone",
            "street",
            "city",
            "state",
            "zipCode",
            "country",
            "createdAt",
            "updatedAt",
            "token",
        ],
    );
    assert!(user.get("password").is_none());
    assert_eq!(user["email"], seeded.email.as_str());
    assert_eq!(user["role"], "ADMIN");
    assert_eq!(user["orgRole"], "OWNER");
    assert!(is_uuid_v4(&user["id"]));
    assert!(is_iso_millis(&user["createdAt"]));
    let token = data["token"].as_str().unwrap();
    assert!(token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
    let p = payload(token);
    assert_eq!(p["userId"], user["id"]);
    assert_eq!(p["email"], user["email"]);
    assert_eq!(p["role"], "ADMIN");
    assert_eq!(p["organizationId"], user["organizationId"]);
    assert_eq!(p["orgRole"], "OWNER");
    assert_eq!(
        p["exp"].as_i64().unwrap() - p["iat"].as_i64().unwrap(),
        7 * 24 * 3600
    );
}

#[tokio::test]
async fn expiry_and_secret_are_configurable() {
    let t = T::with(TargetConfig {
        jwt_secret: "your-secret-key-here".into(),
        jwt_expiry: Duration::from_secs(3600),
        ..TargetConfig::default()
    });
    let token = t.token(0).await;
    let p = payload(&token);
    assert_eq!(
        p["exp"].as_i64().unwrap() - p["iat"].as_i64().unwrap(),
        3600
    );
    // A token of another secret fails.
    let other = T::new().token(0).await;
    let r = t.get("/api/v1/policies", &other).await;
    assert_eq!(r.error(401), "Authentication failed");
}

#[tokio::test]
async fn bad_credentials_are_401_invalid_credentials() {
    let t = T::new();
    let seeded = &t.users_of(0)[0];
    for (email, password) in [
        (seeded.email.as_str(), "password124"),
        ("nobody@example.com", "password123"),
        (&seeded.email.to_uppercase(), "password123"),
    ] {
        let r = login(&t, email, password).await;
        assert_eq!(r.error(401), "Invalid credentials");
    }
    let r = t
        .req("POST", "/api/v1/auth/login", None, Some(json!({})))
        .await;
    assert_eq!(r.error(401), "Invalid credentials");
}

#[tokio::test]
async fn the_services_401s() {
    let t = T::new();
    for path in ["/api/v1/policies", "/api/v1/claims", "/api/v1/quotes"] {
        let r = t.req("GET", path, None, None).await;
        assert_eq!(r.error(401), "No token provided", "{path}");
        let r = t
            .send(
                "GET",
                path,
                &[("authorization", Some("Bearer".into()))],
                None,
            )
            .await;
        assert_eq!(r.error(401), "No token provided", "{path}");
        let r = t.get(path, "not.a.token").await;
        assert_eq!(r.error(401), "Authentication failed", "{path}");
    }
    // Expired: signed with the right secret, `exp` in the past.
    let real = t.token(0).await;
    let p = payload(&real);
    let expired = t.state.sign_token(&Claims {
        user_id: p["userId"].as_str().unwrap().into(),
        email: p["email"].as_str().unwrap().into(),
        role: "ADMIN".into(),
        organization_id: p["organizationId"].as_str().unwrap().into(),
        org_role: Some("OWNER".into()),
        iat: 1_000,
        exp: Some(2_000),
    });
    let r = t.get("/api/v1/quotes", &expired).await;
    assert_eq!(r.error(401), "Authentication failed");
    // Tampered: another payload under the real signature.
    let mut parts: Vec<&str> = real.split('.').collect();
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"userId":"x","email":"x","role":"ADMIN","organizationId":"x","iat":1}"#);
    parts[1] = &forged;
    let r = t.get("/api/v1/claims", &parts.join(".")).await;
    assert_eq!(r.error(401), "Authentication failed");
}

#[tokio::test]
async fn register_creates_a_user_that_can_log_in() {
    let t = T::new();
    let org = t.state.seed().organizations[2].id.to_string();
    let body = json!({"email": "new@example.com", "password": "s3cret!", "firstName": "New",
        "lastName": "Agent", "organizationId": org, "role": "AGENT"});
    let r = register(&t, body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let data = r.data();
    assert_eq!(data["user"]["role"], "AGENT");
    assert_eq!(data["user"]["orgRole"], "MEMBER");
    assert_eq!(data["user"]["organizationId"], org.as_str());
    assert!(data["token"].is_string());
    assert_eq!(login(&t, "new@example.com", "s3cret!").await.status, 200);
    let r = register(&t, body).await;
    assert_eq!(r.error(400), "User already exists");
    let r = register(
        &t,
        json!({"email": "b@example.com", "password": "x", "firstName": "B",
            "lastName": "C", "organizationId": uuid::Uuid::new_v4().to_string()}),
    )
    .await;
    assert_eq!(r.error(400), "Organization not found");
    // The README's register (organizationName, no organizationId) fails like the real API.
    let r = register(
        &t,
        json!({"email": "c@example.com", "password": "x", "firstName": "Test",
            "lastName": "User", "organizationName": "Test Org 1"}),
    )
    .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn organizations_can_be_created_once_per_slug() {
    let t = T::new();
    let body = json!({"name": "Zeta Cover", "slug": "zeta-cover"});
    let r = t
        .req(
            "POST",
            "/api/v1/auth/organizations",
            None,
            Some(body.clone()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let org = r.data();
    assert_eq!(org["plan"], "free");
    assert!(org.get("_count").is_none());
    assert!(is_uuid_v4(&org["id"]));
    let r = t
        .req("POST", "/api/v1/auth/organizations", None, Some(body))
        .await;
    assert_eq!(r.error(400), "Organization slug already exists");
}

#[tokio::test]
async fn verify_and_me() {
    let t = T::new();
    let token = t.token(1).await;
    let r = t
        .req(
            "POST",
            "/api/v1/auth/verify",
            None,
            Some(json!({"token": token})),
        )
        .await;
    assert_eq!(r.status, 200);
    let p = r.data();
    assert!(p["userId"].is_string() && p["iat"].is_i64() && p["exp"].is_i64());
    for bad in [json!({"token": "x.y.z"}), json!({})] {
        let r = t.req("POST", "/api/v1/auth/verify", None, Some(bad)).await;
        assert_eq!(r.error(401), "Invalid token");
    }
    let me = t.get("/api/v1/auth/me", &token).await.data();
    assert_eq!(me["id"], p["userId"]);
    assert_eq!(me["orgRole"], p["orgRole"]);
    let r = t.req("GET", "/api/v1/auth/me", None, None).await;
    assert_eq!(r.error(401), "No token provided");
    let r = t.get("/api/v1/auth/me", "x.y.z").await;
    assert_eq!(r.error(401), "Invalid token");
    // A valid token of a deleted user: 404.
    let id = me["id"].as_str().unwrap();
    let r = t
        .req("DELETE", &format!("/api/v1/users/{id}"), None, None)
        .await;
    assert_eq!(r.status, 200);
    let r = t.get("/api/v1/auth/me", &token).await;
    assert_eq!(r.error(404), "User not found");
    // ...whose token still works on the services (they only verify the token).
    assert_eq!(t.get("/api/v1/policies", &token).await.status, 200);
}
