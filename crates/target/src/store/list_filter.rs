//! What the list filters of policies, claims and quotes share: the [`ListFilter`] trait the
//! list endpoints are generic over, and the [`CommonFilter`] every one of them holds.
//!
//! The three services read `status`, `userId` and `search` the same way (only the status
//! enum and the searched fields differ); each kind adds its own ranges and exact matches
//! beside them in its module.

use uuid::Uuid;

use super::Stored;
use crate::query::{ListQuery, QueryError, id_matches};

/// A list endpoint's query filter over one kind of record.
pub trait ListFilter: Sized {
    /// The records it filters.
    type Record: Stored;
    /// Reads the filter from the query string; `owner` (the caller, for `/my/...`) replaces
    /// any `userId` of the query.
    fn from_query(q: &ListQuery, owner: Option<Uuid>) -> Result<Self, QueryError>;
    /// True when `record` passes every filter.
    fn matches(&self, record: &Self::Record) -> bool;
}

/// `status` (an exact match on the kind's status enum `S`), `userId` and `search`.
#[derive(Debug)]
pub struct CommonFilter<S> {
    status: Option<S>,
    user_id: Option<Option<Uuid>>,
    search: Option<String>,
}

impl<S: Copy + PartialEq> CommonFilter<S> {
    /// Reads the filters from the query, `status` through `parse_status`; `owner` as in
    /// [`ListFilter::from_query`].
    pub fn from_query(
        q: &ListQuery,
        parse_status: impl Fn(&str) -> Option<S>,
        owner: Option<Uuid>,
    ) -> Result<CommonFilter<S>, QueryError> {
        Ok(CommonFilter {
            status: q.enum_filter("status", parse_status)?,
            user_id: match owner {
                Some(user) => Some(Some(user)),
                None => q.id("userId"),
            },
            search: q.search(),
        })
    }

    /// True when a record of this status and owner passes `status` and `userId`.
    pub fn admits(&self, status: S, user_id: Uuid) -> bool {
        self.status.is_none_or(|s| s == status) && id_matches(user_id, self.user_id)
    }

    /// True when there is no `search`, or it is in one of `texts` (case-insensitive). The
    /// filters check it last: it is the only check that allocates.
    pub fn found_in(&self, texts: &[&str]) -> bool {
        self.search
            .as_deref()
            .is_none_or(|s| texts.iter().any(|t| t.to_lowercase().contains(s)))
    }
}
