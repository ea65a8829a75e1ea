//! [`ApiError`]: every refusal the web app answers, with its status and a JSON message.
//!
//! The API answers `{"error": "..."}`; the Locust aliases answer Locust's own shape
//! (`{"success": false, "message": "..."}`, see [`ApiError::into_locust_response`]). Nothing
//! about the running swarm changes when an error is returned: handlers validate everything
//! before they call the controller.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cicada_control::ControlError;

/// A refused or failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Malformed or out-of-range input.
    #[error("{0}")]
    BadRequest(String),
    /// The body is larger than the limit.
    #[error("request body too large (at most {limit} bytes)")]
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// Missing or wrong credentials. `basic` asks the browser for a user and password.
    #[error("authentication required")]
    Unauthorized {
        /// Whether to send a basic-auth challenge.
        basic: bool,
    },
    /// `--web-read-only` refuses changes.
    #[error("this cicada is read-only (--web-read-only): changes are refused")]
    ReadOnly,
    /// A change requested from another site (CSRF protection).
    #[error("cross-site request refused")]
    CrossSite,
    /// No such route.
    #[error("not found: {0}")]
    NotFound(String),
    /// The route exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The controller refused the change.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The server is shutting down.
    #[error("shutting down")]
    Unavailable,
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooLarge { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::ReadOnly | ApiError::CrossSite => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Control(ControlError::Engine(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Control(ControlError::NoShape) => StatusCode::NOT_FOUND,
            ApiError::Control(_) => StatusCode::BAD_REQUEST,
            ApiError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn with_status(self, body: serde_json::Value) -> Response {
        let status = self.status();
        let mut response = (status, Json(body)).into_response();
        if let ApiError::Unauthorized { basic: true } = self {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"cicada\", charset=\"UTF-8\""),
            );
        }
        response
    }

    /// Locust's error shape, for the Locust-compatible routes.
    pub fn into_locust_response(self) -> Response {
        let body = serde_json::json!({"success": false, "message": self.to_string()});
        self.with_status(body)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status().is_server_error() {
            tracing::warn!(error = %self, "web request failed");
        }
        let body = serde_json::json!({"error": self.to_string()});
        self.with_status(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(
            ApiError::BadRequest("x".into()).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ApiError::Control(ControlError::BadSpawnRate(0.0)).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            ApiError::Control(ControlError::Engine("x".into())).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let r = ApiError::Unauthorized { basic: true }.into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.headers().contains_key(header::WWW_AUTHENTICATE));
        let r = ApiError::Unauthorized { basic: false }.into_response();
        assert!(!r.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
