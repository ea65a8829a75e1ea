//! What the policies, claims and quotes services share: the list endpoint (the caller's
//! organization's records, filtered, newest first, one page) and the read by id.

use axum::response::Response;
use http::StatusCode;

use crate::AppState;
use crate::envelope::{self, ApiError};
use crate::query::ListQuery;
use crate::routes::caller::Caller;
use crate::routes::path_id;
use crate::store::Stored;
use crate::store::list_filter::ListFilter;

/// One page of the caller's organization's records that pass `F` (only the caller's own with
/// `own`), newest first; 500 with `fetch_failed` for a query the database would refuse.
pub fn list_page<F: ListFilter>(
    state: &AppState,
    caller: &Caller,
    raw_query: Option<&str>,
    own: bool,
    fetch_failed: &'static str,
) -> Result<Response, ApiError> {
    let fail = || ApiError::internal(fetch_failed);
    let q = ListQuery::parse(raw_query);
    let page = q.page().map_err(|_| fail())?;
    let owner = own.then_some(caller.user_id);
    let filter = F::from_query(&q, owner).map_err(|_| fail())?;
    let mut out = envelope::start_list(page.take.min(64) * 450);
    let total = state.shared().store.write_page::<F::Record>(
        &caller.org_id,
        &mut out,
        |x| filter.matches(x),
        page.skip,
        page.take,
    );
    Ok(envelope::finish_list(out, &page.pagination(total)))
}

/// `GET /:id` of any organization's record, or 404 with `not_found`.
pub fn get_by_id<T: Stored>(
    state: &AppState,
    raw_id: &str,
    not_found: &'static str,
) -> Result<Response, ApiError> {
    let id = path_id(raw_id, not_found)?;
    state
        .shared()
        .store
        .read::<T, _>(&id, |e| envelope::raw_data(StatusCode::OK, e.json(), None))
        .ok_or(ApiError::not_found(not_found))
}
