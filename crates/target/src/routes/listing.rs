//! What the policies, claims and quotes services share: the list endpoint (the caller's
//! organization's records, filtered, newest first, one page) and the read by id.

use axum::response::Response;
use http::StatusCode;
use uuid::Uuid;

use crate::AppState;
use crate::envelope::{self, ApiError};
use crate::query::{ListQuery, QueryError};
use crate::routes::caller::Caller;
use crate::routes::path_id;
use crate::store::Stored;
use crate::store::claims::ClaimFilter;
use crate::store::policies::PolicyFilter;
use crate::store::quotes::QuoteFilter;
use crate::store::{Claim, Policy, Quote};

/// A list endpoint's query filter over one kind of record.
pub trait ListFilter: Sized {
    /// The records it filters.
    type Record: Stored;
    /// The 500 message of the service when the query is unusable.
    const FETCH_FAILED: &'static str;
    /// Reads the filter from the query string.
    fn from_query(q: &ListQuery) -> Result<Self, QueryError>;
    /// Narrows it to one user's records (`/my/...`).
    fn of_user(self, user: Uuid) -> Self;
    /// Whether a record passes.
    fn keeps(&self, record: &Self::Record) -> bool;
}

macro_rules! list_filter {
    ($filter:ty, $record:ty, $failed:literal) => {
        impl ListFilter for $filter {
            type Record = $record;
            const FETCH_FAILED: &'static str = $failed;
            fn from_query(q: &ListQuery) -> Result<Self, QueryError> {
                <$filter>::from_query(q)
            }
            fn of_user(self, user: Uuid) -> Self {
                <$filter>::of_user(self, user)
            }
            fn keeps(&self, record: &$record) -> bool {
                self.matches(record)
            }
        }
    };
}

list_filter!(PolicyFilter, Policy, "Failed to fetch policies");
list_filter!(ClaimFilter, Claim, "Failed to fetch claims");
list_filter!(QuoteFilter, Quote, "Failed to fetch quotes");

/// One page of the caller's organization's records that pass `F` (only the caller's own with
/// `own`), newest first.
pub fn list_page<F: ListFilter>(
    state: &AppState,
    caller: &Caller,
    raw_query: Option<&str>,
    own: bool,
) -> Result<Response, ApiError> {
    let fail = || ApiError::internal(F::FETCH_FAILED);
    let q = ListQuery::parse(raw_query);
    let page = q.page().map_err(|_| fail())?;
    let mut filter = F::from_query(&q).map_err(|_| fail())?;
    if own {
        filter = filter.of_user(caller.user_id);
    }
    let mut out = envelope::start_list(page.take.min(64) * 450);
    let total = state.shared().store.write_page::<F::Record>(
        &caller.org_id,
        &mut out,
        |x| filter.keeps(x),
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
