//! List query strings, read the way the services read `req.query`.
//!
//! `page` (default 1) and `limit` (default 50) go through `parseInt`; `skip = (page-1)*limit`.
//! Filters are exact matches; empty values are ignored (`if (status) where.status = ...`).
//! Anything Prisma would throw on (an unknown enum value, `page=abc`, a negative skip, a
//! non-number for a numeric bound, a non-date for a date bound) is a [`QueryError`], which the
//! routes answer with 500 "Failed to fetch ..." as the real services do.

use serde::Serialize;
use uuid::Uuid;

use crate::money::{js_parse_float, js_parse_int};
use crate::time::parse_iso8601;

/// Query parameters kept per request (the rest are ignored).
const MAX_PARAMS: usize = 64;

/// A query the database would refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryError;

/// The parsed query string of a list request.
#[derive(Debug, Default)]
pub struct ListQuery {
    pairs: Vec<(String, String)>,
}

/// The `pagination` object of a list response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pagination {
    /// Page number (1-based).
    pub page: i64,
    /// Page size.
    pub limit: i64,
    /// Matching records in all.
    pub total: i64,
    /// `ceil(total / limit)`; `null` when `limit` is 0 (JavaScript's `Infinity`/`NaN`).
    pub pages: Option<i64>,
}

/// Which records of a list to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Page number.
    pub page: i64,
    /// Page size.
    pub limit: i64,
    /// Records skipped.
    pub skip: usize,
    /// Records returned at most.
    pub take: usize,
}

impl PageRequest {
    /// The pagination object for `total` matching records.
    pub fn pagination(&self, total: usize) -> Pagination {
        let total = i64::try_from(total).unwrap_or(i64::MAX);
        let pages = (self.limit > 0).then(|| (total + self.limit - 1) / self.limit);
        Pagination {
            page: self.page,
            limit: self.limit,
            total,
            pages,
        }
    }
}

impl ListQuery {
    /// Parses a raw query string (`None` = no query).
    pub fn parse(raw: Option<&str>) -> ListQuery {
        let pairs = raw
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .take(MAX_PARAMS)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        ListQuery { pairs }
    }

    /// The first value of `key` (empty values count as given, for page/limit).
    fn raw(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.raw(key).filter(|v| !v.is_empty())
    }

    /// `page` and `limit`.
    pub fn page(&self) -> Result<PageRequest, QueryError> {
        let page = match self.raw("page") {
            None => 1,
            Some(v) => js_parse_int(v).ok_or(QueryError)?,
        };
        let limit = match self.raw("limit") {
            None => 50,
            Some(v) => js_parse_int(v).ok_or(QueryError)?,
        };
        if limit < 0 {
            return Err(QueryError);
        }
        let skip = page
            .checked_sub(1)
            .and_then(|p| p.checked_mul(limit))
            .ok_or(QueryError)?;
        if skip < 0 {
            return Err(QueryError);
        }
        Ok(PageRequest {
            page,
            limit,
            skip: usize::try_from(skip).unwrap_or(usize::MAX),
            take: usize::try_from(limit).unwrap_or(usize::MAX),
        })
    }

    /// An enum filter; an unknown value is a query error.
    pub fn enum_filter<E>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> Option<E>,
    ) -> Result<Option<E>, QueryError> {
        self.get(key)
            .map(|v| parse(v).ok_or(QueryError))
            .transpose()
    }

    /// A numeric bound through `parseFloat`.
    pub fn float(&self, key: &str) -> Result<Option<f64>, QueryError> {
        self.get(key)
            .map(|v| js_parse_float(v).ok_or(QueryError))
            .transpose()
    }

    /// A date bound (`new Date(v)`), in milliseconds.
    pub fn date(&self, key: &str) -> Result<Option<i64>, QueryError> {
        self.get(key)
            .map(|v| parse_iso8601(v).ok_or(QueryError))
            .transpose()
    }

    /// An exact id filter: `Some(None)` when the value is not a UUID (nothing can match).
    pub fn id(&self, key: &str) -> Option<Option<Uuid>> {
        self.get(key).map(|v| Uuid::parse_str(v).ok())
    }

    /// The `search` term, lower-cased (matches are case-insensitive).
    pub fn search(&self) -> Option<String> {
        self.get("search").map(str::to_lowercase)
    }
}

/// Range checks shared by the filters.
pub fn within<T: PartialOrd>(value: T, min: Option<T>, max: Option<T>) -> bool {
    min.is_none_or(|m| value >= m) && max.is_none_or(|m| value <= m)
}

/// Exact id filter check.
pub fn id_matches(value: Uuid, filter: Option<Option<Uuid>>) -> bool {
    match filter {
        None => true,
        Some(wanted) => wanted == Some(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_parse_int() {
        let q = ListQuery::parse(None).page().unwrap();
        assert_eq!((q.page, q.limit, q.skip, q.take), (1, 50, 0, 50));
        let q = ListQuery::parse(Some("page=2&limit=20x")).page().unwrap();
        assert_eq!((q.page, q.limit, q.skip, q.take), (2, 20, 20, 20));
    }

    #[test]
    fn database_errors() {
        for bad in [
            "page=abc", "page=", "limit=x", "page=0", "limit=-1", "page=-5",
        ] {
            assert_eq!(ListQuery::parse(Some(bad)).page(), Err(QueryError), "{bad}");
        }
        // page=0 with limit=0 skips nothing: Prisma accepts it.
        assert!(ListQuery::parse(Some("page=0&limit=0")).page().is_ok());
    }

    #[test]
    fn pages_is_null_for_limit_zero() {
        let q = ListQuery::parse(Some("limit=0")).page().unwrap();
        assert_eq!(q.pagination(3).pages, None);
        let q = ListQuery::parse(Some("limit=20")).page().unwrap();
        assert_eq!(q.pagination(41).pages, Some(3));
        assert_eq!(q.pagination(0).pages, Some(0));
    }

    #[test]
    fn filters() {
        let q = ListQuery::parse(Some(
            "status=ACTIVE&type=&minPremium=10.5&from=2026-01-01&userId=nope&search=PoL",
        ));
        assert_eq!(q.get("status"), Some("ACTIVE"));
        assert_eq!(q.get("type"), None);
        assert_eq!(q.float("minPremium"), Ok(Some(10.5)));
        assert_eq!(q.date("from"), Ok(Some(1_767_225_600_000)));
        assert_eq!(q.id("userId"), Some(None));
        assert_eq!(q.search().as_deref(), Some("pol"));
        assert_eq!(
            q.enum_filter("status", |s| (s == "ACTIVE").then_some(1)),
            Ok(Some(1))
        );
        assert_eq!(
            q.enum_filter("search", |s| (s == "ACTIVE").then_some(1)),
            Err(QueryError)
        );
        assert!(within(5, Some(1), Some(5)));
        assert!(!within(6, Some(1), Some(5)));
        assert!(id_matches(Uuid::nil(), None));
        assert!(!id_matches(Uuid::nil(), Some(None)));
    }
}
