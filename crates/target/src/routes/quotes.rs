//! The quotes-service's routes (all Bearer): premium calculation, quotes, and conversion into
//! a policy.
//!
//! The list, `/my/quotes`, read, history and delete routes are [`super::records`]'s, with
//! the messages of `impl Served for Quote`.

use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;
use http::StatusCode;
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::AppState;
use crate::envelope::{self, ApiError};
use crate::money::{Money, js_display, js_number};
use crate::rng::record_number;
use crate::routes::caller::Caller;
use crate::routes::path_id;
use crate::routes::policies::new_policy;
use crate::routes::records::{self, Served};
use crate::store::enums::{PolicyStatus, PolicyType, QuoteStatus};
use crate::store::history::{ChangeFlags, Metadata, StatusChange, Subject};
use crate::store::quotes::{QuoteFilter, premium};
use crate::store::{Quote, Record};
use crate::time::{iso, now_ms};
use crate::validate::{self as v, parse_body};

const NOT_FOUND: &str = "Quote not found";

impl Served for Quote {
    type Filter = QuoteFilter;
    const NOT_FOUND: &'static str = NOT_FOUND;
    const FETCH_FAILED: &'static str = "Failed to fetch quotes";
    const DELETED: &'static str = "Quote deleted successfully";
}
const DAY_MS: i64 = 86_400_000;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Estimate {
    #[serde(rename = "type")]
    kind: PolicyType,
    coverage_amount: Value,
    estimated_premium: Value,
    calculated_at: String,
}

/// `POST /api/v1/quotes/calculate` `{type, coverageAmount}`: the premium, as JSON numbers.
pub async fn calculate(_caller: Caller, body: Bytes) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let kind = v::enum_field(&body, "type", PolicyType::parse, "Invalid policy type")?;
    let coverage = v::float_field(&body, "coverageAmount", "Coverage amount must be a number")?;
    let estimate = Estimate {
        kind,
        coverage_amount: js_number(coverage),
        estimated_premium: js_number(premium(kind, coverage)),
        calculated_at: iso(now_ms()),
    };
    Ok(envelope::data(
        StatusCode::OK,
        &estimate,
        Some("Premium calculated successfully"),
    ))
}

/// `POST /api/v1/quotes` `{type, coverageAmount, expiresAt?}`: 201 with an ACTIVE quote
/// whose premium the server computed.
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = parse_body(&body)?;
    let kind = v::enum_field(&body, "type", PolicyType::parse, "Invalid policy type")?;
    let coverage = v::money_field(&body, "coverageAmount", "Coverage amount must be a number")?;
    let coverage_f = v::float_field(&body, "coverageAmount", "Coverage amount must be a number")?;
    let expires = v::optional_iso(&body, "expiresAt", "Expiration date must be a valid date")?;
    let premium_f = premium(kind, coverage_f);
    let premium_m =
        Money::from_f64(premium_f).ok_or(ApiError::internal("Failed to create quote"))?;
    let now = now_ms();
    let quote = Quote {
        id: Uuid::new_v4(),
        user_id: caller.user_id,
        organization_id: caller.org_id,
        quote_number: record_number("QUO", now),
        kind,
        status: QuoteStatus::Active,
        coverage_amount: coverage,
        premium: premium_m,
        expires_at: expires.unwrap_or(now + 30 * DAY_MS),
        created_at: now,
        updated_at: now,
    };
    let message = format!(
        "Quote created with calculated premium: ${}",
        js_display(premium_f)
    );
    Ok(records::created(
        &state,
        caller.org_id,
        quote,
        Some(&message),
    ))
}

/// `PUT /api/v1/quotes/:id/status` `{status, statusChangeReason?}`: the only route that writes
/// quote history rows.
pub async fn update_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = path_id(&id, NOT_FOUND)?;
    let body = parse_body(&body)?;
    let to = v::enum_field(&body, "status", QuoteStatus::parse, "Invalid quote status")?;
    let reason = v::optional_text(&body, "statusChangeReason", "Reason must be a string")?
        .map(|r| crate::store::claims::bounded_text(&r));
    let now = now_ms();
    records::update::<Quote>(&state, &id, |e| {
        let q = &mut e.rec;
        let old = q.status;
        q.status = to;
        q.updated_at = now;
        if old != to {
            StatusChange {
                subject: Subject::Quote(q.id),
                organization_id: q.organization_id,
                old_status: Some(old.as_str()),
                new_status: to.as_str(),
                changed_by: caller.user_id,
                changed_at: now,
                reason: reason.as_deref(),
                metadata: Metadata::Flags(ChangeFlags::default()),
            }
            .append_to(e);
        }
        Ok(())
    })
}

/// `POST /api/v1/quotes/:id/convert`: an ACTIVE, unexpired quote becomes CONVERTED and a new
/// ACTIVE policy of the caller's (one year from now): 201 `{quote, policy}`.
///
/// The quote's state changes under its table's lock, so two agents converting the same
/// quote at once get one 201 and one 400 (the original could create two policies).
pub async fn convert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, NOT_FOUND)?;
    let now = now_ms();
    let store = &state.shared().store;
    let quote = store
        .modify::<Quote, _, ApiError>(&id, |e| {
            let q = &mut e.rec;
            if q.status != QuoteStatus::Active {
                return Err(ApiError::bad_request(
                    "Only ACTIVE quotes can be converted to policies",
                ));
            }
            if q.expires_at < now {
                return Err(ApiError::bad_request("Quote has expired"));
            }
            q.status = QuoteStatus::Converted;
            q.updated_at = now;
            Ok(q.clone())
        })
        .ok_or(ApiError::not_found(NOT_FOUND))??;
    let policy = new_policy(
        &caller,
        quote.kind,
        PolicyStatus::Active,
        now,
        now + 365 * DAY_MS,
        quote.premium,
        quote.coverage_amount,
        now,
    );
    let policy_json = policy.render();
    store.insert(caller.org_id, policy);
    let data = format!(
        "{{\"quote\":{},\"policy\":{}}}",
        quote.render(),
        policy_json
    );
    Ok(envelope::raw_data(
        StatusCode::CREATED,
        &data,
        Some("Quote successfully converted to policy"),
    ))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Expired {
    expired_count: usize,
}

/// `POST /api/v1/quotes/expire-old`: the caller's organization's ACTIVE quotes past
/// `expiresAt` become EXPIRED.
pub async fn expire_old(State(state): State<AppState>, caller: Caller) -> Response {
    let now = now_ms();
    let n = state
        .shared()
        .store
        .modify_each::<Quote>(&caller.org_id, |e| {
            let q = &mut e.rec;
            if q.status == QuoteStatus::Active && q.expires_at < now {
                q.status = QuoteStatus::Expired;
                q.updated_at = now;
                true
            } else {
                false
            }
        });
    envelope::data(
        StatusCode::OK,
        &Expired { expired_count: n },
        Some(&format!("Expired {n} quotes")),
    )
}
