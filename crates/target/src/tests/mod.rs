//! The contract suite: `dynaclaimz.md` section 4 checked through the router, without sockets
//! (`tower::ServiceExt::oneshot`), plus a few checks over a real socket on 127.0.0.1:0
//! ([`socket`]).

mod auth;
mod claims;
mod directory;
mod gateway;
mod ops;
mod otel;
mod policies;
mod quotes;
mod socket;

use axum::Router;
use axum::body::{Body, to_bytes};
use http::{HeaderMap, Request};
use serde_json::Value;
use tower::ServiceExt;

use crate::access_log::{AccessLog, Captured};
use crate::seed::SeedUser;
use crate::{AppState, TargetConfig, app};

/// A stand-in under test, with its access log captured.
pub struct T {
    pub state: AppState,
    pub app: Router,
    pub log: Captured,
}

/// A response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// `data` of a success envelope.
    pub fn data(&self) -> Value {
        let v = self.json();
        assert_eq!(v["success"], true, "{}", self.text);
        v["data"].clone()
    }

    /// `message` of an error envelope, with its status checked.
    pub fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{}", self.text);
        let v = self.json();
        assert_eq!(v["success"], false, "{}", self.text);
        v["message"].as_str().unwrap_or_default().to_string()
    }
}

impl T {
    pub fn new() -> T {
        T::with(TargetConfig::default())
    }

    pub fn with(config: TargetConfig) -> T {
        T::traced(config, None)
    }

    /// A stand-in exporting server spans into `spans`.
    pub fn traced(config: TargetConfig, spans: Option<cicada_telemetry::otel::SpanQueue>) -> T {
        config.validate().unwrap();
        let (log, captured) = AccessLog::capture(1000);
        let state = AppState::with_parts(&config, log, spans);
        T {
            app: app(state.clone()),
            state,
            log: captured,
        }
    }

    /// Sends a request; `body` is sent as JSON.
    pub async fn req(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        self.send(
            method,
            path,
            &[("authorization", token.map(|t| format!("Bearer {t}")))],
            body,
        )
        .await
    }

    /// Sends a request with extra headers (`None` values are skipped).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, Option<String>)],
        body: Option<Value>,
    ) -> Resp {
        let mut b = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            if let Some(v) = v {
                b = b.header(*k, v);
            }
        }
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let resp = self
            .app
            .clone()
            .oneshot(b.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = to_bytes(resp.into_body(), 16 << 20).await.unwrap();
        Resp {
            status,
            headers,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.req("GET", path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.req("POST", path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.req("PUT", path, Some(token), Some(body)).await
    }

    /// POSTs `body` to `path` and returns `data` of its 201.
    pub async fn create(&self, path: &str, token: &str, body: Value) -> Value {
        let r = self.post(path, token, body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.data()
    }

    /// The seeded users of the `i`-th organization.
    pub fn users_of(&self, i: usize) -> Vec<SeedUser> {
        self.state
            .seed()
            .users
            .iter()
            .filter(|u| u.org_index == i)
            .cloned()
            .collect()
    }

    /// A token of the first user of the `i`-th organization.
    pub async fn token(&self, i: usize) -> String {
        let user = &self.users_of(i)[0];
        let r = self
            .req(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(serde_json::json!({"email": user.email, "password": "password123"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.data()["token"].as_str().unwrap().to_string()
    }

    /// Creates an ACTIVE policy and returns it.
    pub async fn active_policy(&self, token: &str) -> Value {
        self.create(
            "/api/v1/policies",
            token,
            serde_json::json!({
                "type": "AUTO", "status": "ACTIVE", "startDate": "2026-01-01",
                "endDate": "2027-01-01", "premium": 1200, "coverageAmount": "50000"
            }),
        )
        .await
    }
}

/// True when `s` is an ISO-8601 UTC timestamp with milliseconds and `Z`.
pub fn is_iso_millis(s: &Value) -> bool {
    let Some(s) = s.as_str() else { return false };
    s.len() == 24
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && crate::time::parse_iso8601(s).is_some()
}

/// True when `s` is a v4 UUID string.
pub fn is_uuid_v4(s: &Value) -> bool {
    s.as_str()
        .and_then(|s| uuid::Uuid::parse_str(s).ok())
        .is_some_and(|u| u.get_version_num() == 4)
}

/// Asserts that the first occurrences of `"key":` in `text` come in this order (field order
/// as the services write it; `serde_json::Value` would sort keys).
pub fn assert_key_order(text: &str, keys: &[&str]) {
    let mut last = 0;
    for k in keys {
        let needle = format!("\"{k}\":");
        let pos = text[last..]
            .find(&needle)
            .unwrap_or_else(|| panic!("{k} missing or out of order in {text}"));
        last += pos + needle.len();
    }
}

/// Asserts the field order of the status history rows in `text` (a history response), whose
/// second key names the record: `policyId`, `claimId` or `quoteId`.
pub fn assert_history_key_order(text: &str, subject_key: &str) {
    assert_key_order(
        text,
        &[
            "id",
            subject_key,
            "organizationId",
            "oldStatus",
            "newStatus",
            "changedBy",
            "changedAt",
            "reason",
            "metadata",
        ],
    );
}
