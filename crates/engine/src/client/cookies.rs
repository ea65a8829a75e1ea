//! The per-user cookie jar: RFC 6265 matching by `cookie_store`, plus bounds.
//!
//! A session can live for weeks, and the server decides what it stores: so the jar caps the
//! number of cookies (updates of known cookies always pass), the size of one `Set-Cookie`, and
//! how many `Set-Cookie` headers of one response are looked at. Cookies a server expired stay
//! in `cookie_store`'s maps until we purge them, which we do when the cap is reached.

use cookie_store::{Cookie, CookieStore};
use http::{HeaderMap, HeaderValue, header};
use url::Url;

/// Longest `Set-Cookie` value we store (browsers keep ~4 KiB per cookie).
const MAX_SET_COOKIE_LEN: usize = 8 * 1024;
/// Most `Set-Cookie` headers looked at per response.
const MAX_SET_COOKIES_PER_RESPONSE: usize = 64;

/// One user's cookies.
#[derive(Debug)]
pub(crate) struct Jar {
    store: CookieStore,
    max: usize,
}

impl Jar {
    pub(crate) fn new(max: usize) -> Jar {
        Jar {
            store: CookieStore::default(),
            max,
        }
    }

    /// Cheap check that lets the common cookie-less request skip building a URL.
    pub(crate) fn is_empty(&self) -> bool {
        self.store.iter_any().next().is_none()
    }

    /// The `Cookie` header for a request to `url`, if any cookie matches.
    pub(crate) fn header_for(&self, url: &Url) -> Option<HeaderValue> {
        let mut value = String::new();
        for (name, val) in self.store.get_request_values(url) {
            if !value.is_empty() {
                value.push_str("; ");
            }
            value.push_str(name);
            value.push('=');
            value.push_str(val);
        }
        if value.is_empty() {
            return None;
        }
        // A value that is not a valid header (cannot come from a valid Set-Cookie) is dropped.
        HeaderValue::from_str(&value).ok()
    }

    /// Whether a response carries cookies to store (checked before building a URL).
    pub(crate) fn has_set_cookie(headers: &HeaderMap) -> bool {
        headers.contains_key(header::SET_COOKIE)
    }

    /// Stores the `Set-Cookie` headers of a response to `url`; invalid or oversized ones are
    /// ignored, as a browser would.
    pub(crate) fn store_from(&mut self, headers: &HeaderMap, url: &Url) {
        for value in headers
            .get_all(header::SET_COOKIE)
            .iter()
            .take(MAX_SET_COOKIES_PER_RESPONSE)
        {
            if value.len() > MAX_SET_COOKIE_LEN {
                continue;
            }
            let Ok(text) = value.to_str() else { continue };
            let Ok(cookie) = Cookie::parse(text, url) else {
                continue;
            };
            let cookie = cookie.into_owned();
            if !self.has_room_for(&cookie) {
                tracing::debug!(name = cookie.name(), "cookie jar full, cookie dropped");
                continue;
            }
            // Rejections (domain mismatch, expired new cookie) are normal: ignore them.
            let _ = self.store.insert(cookie, url);
        }
    }

    /// Whether `cookie` may be stored: always if it replaces a known cookie, otherwise only
    /// below the cap (after purging expired entries).
    fn has_room_for(&mut self, cookie: &Cookie<'static>) -> bool {
        if self.store.iter_any().count() < self.max {
            return true;
        }
        let (domain, path) = (String::from(&cookie.domain), String::from(&cookie.path));
        if self.store.contains_any(&domain, &path, cookie.name()) {
            return true;
        }
        let expired: Vec<(String, String, String)> = self
            .store
            .iter_any()
            .filter(|c| c.is_expired())
            .map(|c| {
                (
                    String::from(&c.domain),
                    String::from(&c.path),
                    c.name().to_owned(),
                )
            })
            .collect();
        for (d, p, n) in &expired {
            self.store.remove(d, p, n);
        }
        self.store.iter_any().count() < self.max
    }

    /// Number of stored cookies (including expired ones not yet purged).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.store.iter_any().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_cookies(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::SET_COOKIE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn stores_and_sends_matching_cookies() {
        let url = Url::parse("http://h/app/login").unwrap();
        let mut jar = Jar::new(10);
        assert!(jar.is_empty());
        jar.store_from(&set_cookies(&["a=1; Path=/", "b=2; Path=/other"]), &url);
        assert!(!jar.is_empty());
        let header = jar.header_for(&Url::parse("http://h/x").unwrap()).unwrap();
        assert_eq!(header, "a=1");
        assert!(
            jar.header_for(&Url::parse("http://elsewhere/x").unwrap())
                .is_none()
        );
    }

    #[test]
    fn cap_admits_updates_and_purges_expired() {
        let url = Url::parse("http://h/").unwrap();
        let mut jar = Jar::new(2);
        jar.store_from(&set_cookies(&["a=1", "b=2", "c=3"]), &url);
        assert_eq!(jar.len(), 2);
        // An update of a known cookie passes the cap.
        jar.store_from(&set_cookies(&["a=9"]), &url);
        let header = jar.header_for(&url).unwrap();
        assert!(header.to_str().unwrap().contains("a=9"));
        // Expire one: the next new cookie takes its place.
        jar.store_from(&set_cookies(&["b=; Max-Age=0"]), &url);
        jar.store_from(&set_cookies(&["d=4"]), &url);
        let header = jar.header_for(&url).unwrap();
        let header = header.to_str().unwrap();
        assert!(header.contains("d=4") && !header.contains("b="), "{header}");
        assert_eq!(jar.len(), 2);
    }

    #[test]
    fn oversized_and_invalid_cookies_are_ignored() {
        let url = Url::parse("http://h/").unwrap();
        let mut jar = Jar::new(10);
        let big = format!("big={}", "x".repeat(MAX_SET_COOKIE_LEN));
        jar.store_from(&set_cookies(&[&big, "=novalue-name", "ok=1"]), &url);
        assert_eq!(jar.header_for(&url).unwrap(), "ok=1");
    }
}
