//! The routes the policies, claims and quotes services serve the same way, generic over the
//! kind of record ([`Served`]): the list (the caller's organization's records, filtered,
//! newest first, one page), the caller's own list (`/my/...`), the read by id, the history
//! and the delete; plus the two endings of their own routes: [`created`] (store a new record,
//! 201) and [`update`] (change one under its table's lock, 200 with it as it is then).
//!
//! Reads, history and deletes by id do not check the caller's organization (the contract's
//! quirk, see [`crate::store`]); the caller is still required (401 without a token).

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use http::StatusCode;
use uuid::Uuid;

use crate::AppState;
use crate::envelope::{self, ApiError};
use crate::query::ListQuery;
use crate::routes::caller::Caller;
use crate::routes::path_id;
use crate::store::list_filter::ListFilter;
use crate::store::{Entry, Stored};

/// A kind of record served by one of the services: its list filter and the messages its
/// service answers with.
pub trait Served: Stored {
    /// The filter of its list endpoints.
    type Filter: ListFilter<Record = Self>;
    /// 404 for an unknown or malformed id ("Policy not found").
    const NOT_FOUND: &'static str;
    /// 500 for a list query the database would refuse ("Failed to fetch policies").
    const FETCH_FAILED: &'static str;
    /// 200 of a delete ("Policy deleted successfully").
    const DELETED: &'static str;
}

/// `GET /api/v1/<kind>`: the caller's organization's records, filtered, newest first.
pub async fn list<T: Served>(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    list_page::<T>(&state, &caller, q.as_deref(), None)
}

/// `GET /api/v1/<kind>/my/<kind>`: the same, of the caller's own records only.
pub async fn mine<T: Served>(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    list_page::<T>(&state, &caller, q.as_deref(), Some(caller.user_id))
}

/// One page of the caller's organization's records that pass the query's filters (`owner`'s
/// only, when given), newest first; 500 for a query the database would refuse.
fn list_page<T: Served>(
    state: &AppState,
    caller: &Caller,
    raw_query: Option<&str>,
    owner: Option<Uuid>,
) -> Result<Response, ApiError> {
    let fail = || ApiError::internal(T::FETCH_FAILED);
    let q = ListQuery::parse(raw_query);
    let page = q.page().map_err(|_| fail())?;
    let filter = T::Filter::from_query(&q, owner).map_err(|_| fail())?;
    let mut out = envelope::start_list(page.take.min(64) * 450);
    let total = state.shared().store.write_page::<T>(
        &caller.org_id,
        &mut out,
        |x| filter.matches(x),
        page.skip,
        page.take,
    );
    Ok(envelope::finish_list(out, &page.pagination(total)))
}

/// `GET /api/v1/<kind>/:id` (any organization's).
pub async fn get_one<T: Served>(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, T::NOT_FOUND)?;
    current::<T>(&state, &id)
}

/// `GET /api/v1/<kind>/:id/history`: status changes, newest first.
pub async fn history<T: Served>(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, T::NOT_FOUND)?;
    state
        .shared()
        .store
        .read::<T, _>(&id, |e| {
            envelope::raw_list(&history_json(e.history()), None)
        })
        .ok_or(ApiError::not_found(T::NOT_FOUND))
}

/// History rows as a JSON array.
fn history_json<'a>(rows: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let mut out = vec![b'['];
    for (i, row) in rows.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(row.as_bytes());
    }
    out.push(b']');
    out
}

/// `DELETE /api/v1/<kind>/:id`.
pub async fn delete<T: Served>(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = path_id(&id, T::NOT_FOUND)?;
    if state.shared().store.remove::<T>(&id) {
        Ok(envelope::message(StatusCode::OK, T::DELETED))
    } else {
        Err(ApiError::not_found(T::NOT_FOUND))
    }
}

/// Changes the record `id` with `change` under its table's lock, then answers 200 with the
/// record as it is now; 404 when there is none, or `change`'s error.
pub fn update<T: Served>(
    state: &AppState,
    id: &Uuid,
    change: impl FnOnce(&mut Entry<T>) -> Result<(), ApiError>,
) -> Result<Response, ApiError> {
    state
        .shared()
        .store
        .modify::<T, _, ApiError>(id, change)
        .ok_or(ApiError::not_found(T::NOT_FOUND))??;
    current::<T>(state, id)
}

/// 200 with the record `id` as it is now, or 404.
fn current<T: Served>(state: &AppState, id: &Uuid) -> Result<Response, ApiError> {
    state
        .shared()
        .store
        .read::<T, _>(id, |e| envelope::raw_data(StatusCode::OK, e.json(), None))
        .ok_or(ApiError::not_found(T::NOT_FOUND))
}

/// Stores a new record in `org`'s bucket and answers 201 with it (and `message`).
pub fn created<T: Stored>(
    state: &AppState,
    org: Uuid,
    record: T,
    message: Option<&str>,
) -> Response {
    let json = record.render();
    state.shared().store.insert(org, record);
    envelope::raw_data(StatusCode::CREATED, &json, message)
}
