//! JSON Web Tokens, HS256 only, as the user-service issues them with `jsonwebtoken`.
//!
//! Tokens carry `userId`, `email`, `role`, `organizationId`, `orgRole`, `iat` and `exp`, in
//! that order, under the header `{"alg":"HS256","typ":"JWT"}`. Verification is what
//! `jwt.verify(token, secret)` does: the signature (constant-time, via `ring`), the algorithm,
//! and `exp` (expired when `now >= exp`). It is on every authenticated request, so it is
//! kept allocation-light: one base64 decode and one small JSON parse.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use serde::{Deserialize, Serialize};

/// `base64url({"alg":"HS256","typ":"JWT"})`, the header of every token issued.
const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// Tokens longer than this are refused before any work (a real one is ~300 bytes).
const MAX_TOKEN_LEN: usize = 4096;

/// The payload of a token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Claims {
    /// The user's id.
    pub user_id: String,
    /// The user's e-mail.
    pub email: String,
    /// UserRole (upper case).
    pub role: String,
    /// The user's organization id.
    pub organization_id: String,
    /// OrgRole (upper case).
    #[serde(default)]
    pub org_role: Option<String>,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch); absent = never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts, or the parts are not JSON.
    #[error("jwt malformed")]
    Malformed,
    /// The header names another algorithm.
    #[error("invalid algorithm")]
    Algorithm,
    /// The signature does not match.
    #[error("invalid signature")]
    Signature,
    /// `exp` has passed.
    #[error("jwt expired")]
    Expired,
}

/// The HS256 key: signs and verifies.
pub struct JwtKey {
    key: hmac::Key,
}

impl std::fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKey(..)")
    }
}

#[derive(Deserialize)]
struct Header<'a> {
    #[serde(borrow)]
    alg: std::borrow::Cow<'a, str>,
}

impl JwtKey {
    /// A key from the shared secret.
    pub fn new(secret: &str) -> JwtKey {
        JwtKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()),
        }
    }

    /// Signs `claims` into a compact token.
    pub fn sign(&self, claims: &Claims) -> String {
        // Serialising a struct of strings and integers cannot fail.
        let payload = serde_json::to_vec(claims).unwrap_or_default();
        let mut token = String::with_capacity(HEADER_B64.len() + payload.len() * 4 / 3 + 48);
        token.push_str(HEADER_B64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let tag = hmac::sign(&self.key, token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut token);
        token
    }

    /// Checks a token at `now` (seconds since the epoch) and returns its claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, JwtError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwtError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        if header != HEADER_B64 {
            let bytes = URL_SAFE_NO_PAD
                .decode(header)
                .map_err(|_| JwtError::Malformed)?;
            let parsed: Header<'_> =
                serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
            if parsed.alg != "HS256" {
                return Err(JwtError::Algorithm);
            }
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| JwtError::Signature)?;
        let signed_len = header.len() + 1 + payload.len();
        hmac::verify(&self.key, &token.as_bytes()[..signed_len], &signature)
            .map_err(|_| JwtError::Signature)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| JwtError::Malformed)?;
        let claims: Claims = serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
        match claims.exp {
            Some(exp) if now >= exp => Err(JwtError::Expired),
            _ => Ok(claims),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(iat: i64, exp: Option<i64>) -> Claims {
        Claims {
            user_id: "u1".into(),
            email: "a@b.c".into(),
            role: "AGENT".into(),
            organization_id: "o1".into(),
            org_role: Some("MEMBER".into()),
            iat,
            exp,
        }
    }

    #[test]
    fn header_constant_is_the_standard_header() {
        assert_eq!(
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            HEADER_B64
        );
    }

    #[test]
    fn round_trip_and_payload_order() {
        let key = JwtKey::new("secret");
        let token = key.sign(&claims(100, Some(200)));
        assert_eq!(key.verify(&token, 150), Ok(claims(100, Some(200))));
        let payload = token.split('.').nth(1).unwrap();
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"userId":"u1","email":"a@b.c","role":"AGENT","organizationId":"o1","orgRole":"MEMBER","iat":100,"exp":200}"#
        );
    }

    #[test]
    fn matches_a_token_from_another_implementation() {
        // Signed by nginx's bench config's author with jsonwebtoken-compatible tooling:
        // HS256, secret "bench-secret"; its payload is not ours, so only the signature and
        // the expiry are checked here, through a payload-agnostic path.
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJiZW5jaC11c2VyIiwiaWF0IjoxNzAwMDAwMDAwLCJleHAiOjQxMDI0NDQ4MDB9.pl0XrQTz2_fcqapzpCvgSM7XBkD6Wr2nom5exr2LOj4";
        let key = JwtKey::new("bench-secret");
        // The signature is valid; the payload lacks our claims, so it is malformed for us.
        assert_eq!(key.verify(token, 0), Err(JwtError::Malformed));
        assert_eq!(
            JwtKey::new("other").verify(token, 0),
            Err(JwtError::Signature)
        );
    }

    #[test]
    fn refuses_expired_tampered_and_garbage() {
        let key = JwtKey::new("secret");
        let token = key.sign(&claims(100, Some(200)));
        assert_eq!(key.verify(&token, 200), Err(JwtError::Expired));
        assert_eq!(
            JwtKey::new("other").verify(&token, 150),
            Err(JwtError::Signature)
        );
        let mut tampered = token.clone();
        tampered.insert(HEADER_B64.len() + 3, 'x');
        assert!(key.verify(&tampered, 150).is_err());
        for bad in ["", "a.b", "a.b.c.d", "...", "x.y.z", &"a".repeat(5000)] {
            assert!(key.verify(bad, 150).is_err(), "{bad}");
        }
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#),
            token.split('.').nth(1).unwrap()
        );
        assert_eq!(key.verify(&none_alg, 150), Err(JwtError::Algorithm));
        assert_eq!(
            key.verify(&key.sign(&claims(1, None)), i64::MAX)
                .map(|c| c.exp),
            Ok(None)
        );
    }
}
