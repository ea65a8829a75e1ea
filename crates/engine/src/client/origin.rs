//! Where requests go: an origin (scheme, host, port) parsed once, and target resolution.
//!
//! The base URL of a session is parsed into an [`Origin`] once, when the session is made;
//! a request target like `/a?b=1` then costs one `PathAndQuery` parse (the copy hyper needs)
//! and no URL parsing. Absolute targets and redirect locations take the slower `url` path.

use std::net::IpAddr;
use std::sync::Arc;

use http::HeaderValue;
use http::uri::{Authority, PathAndQuery};
use rustls_pki_types::ServerName;
use url::Url;

use super::error::ClientError;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Http,
    Https,
}

/// The host to connect to: an address needs no DNS lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Host {
    Ip(IpAddr),
    Domain(Box<str>),
}

/// A scheme/host/port triple with everything a request to it needs, precomputed.
#[derive(Debug)]
pub(crate) struct Origin {
    pub(crate) scheme: Scheme,
    pub(crate) host: Host,
    pub(crate) port: u16,
    /// `host[:port]` (port left out when it is the scheme's default): HTTP/2's `:authority`.
    pub(crate) authority: Authority,
    /// The same as a header value, for HTTP/1.1's `Host`.
    pub(crate) host_header: HeaderValue,
    /// The TLS server name (SNI and certificate check); `None` for `http`.
    pub(crate) server_name: Option<ServerName<'static>>,
    /// `scheme://authority/`: resolves relative references and gives cookies a URL to match.
    pub(crate) url: Url,
}

impl Origin {
    /// The origin of an absolute `http`/`https` URL.
    pub(crate) fn from_url(url: &Url) -> Result<Origin, ClientError> {
        let scheme = match url.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            _ => return Err(ClientError::InvalidTarget("scheme is not http or https")),
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => Host::Domain(d.into()),
            Some(url::Host::Ipv4(ip)) => Host::Ip(ip.into()),
            Some(url::Host::Ipv6(ip)) => Host::Ip(ip.into()),
            _ => return Err(ClientError::InvalidTarget("url has no host")),
        };
        let port = url
            .port_or_known_default()
            .ok_or(ClientError::InvalidTarget("url has no port"))?;
        // `host_str` keeps IPv6 brackets; `port()` is None when the port is the default one.
        let host_str = url
            .host_str()
            .ok_or(ClientError::InvalidTarget("url has no host"))?;
        let authority = match url.port() {
            Some(p) => format!("{host_str}:{p}"),
            None => host_str.to_owned(),
        };
        let authority = Authority::try_from(authority.as_str())
            .map_err(|_| ClientError::InvalidTarget("invalid host"))?;
        let host_header = HeaderValue::from_str(authority.as_str())
            .map_err(|_| ClientError::InvalidTarget("invalid host"))?;
        let server_name = match (scheme, &host) {
            (Scheme::Http, _) => None,
            (Scheme::Https, Host::Ip(ip)) => Some(ServerName::IpAddress((*ip).into())),
            (Scheme::Https, Host::Domain(d)) => Some(
                ServerName::try_from(d.to_string())
                    .map_err(|_| ClientError::InvalidTarget("host is not a valid tls name"))?,
            ),
        };
        let scheme_str = match scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        let url = Url::parse(&format!("{scheme_str}://{authority}/"))
            .map_err(|_| ClientError::InvalidTarget("invalid host"))?;
        Ok(Origin {
            scheme,
            host,
            port,
            authority,
            host_header,
            server_name,
            url,
        })
    }

    /// Whether a connection to `self` can serve a request to `other`.
    pub(crate) fn same(&self, other: &Origin) -> bool {
        self.scheme == other.scheme && self.port == other.port && self.host == other.host
    }

    /// `http::uri::Scheme` for absolute-form URIs (HTTP/2).
    pub(crate) fn uri_scheme(&self) -> http::uri::Scheme {
        match self.scheme {
            Scheme::Http => http::uri::Scheme::HTTP,
            Scheme::Https => http::uri::Scheme::HTTPS,
        }
    }
}

/// A resolved request target: where to connect and what to ask for.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) origin: Arc<Origin>,
    pub(crate) path: PathAndQuery,
}

impl Target {
    /// The full URL (for cookie matching and resolving a `Location`). Allocates: only called
    /// when cookies or redirects are involved.
    pub(crate) fn url(&self) -> Url {
        let mut url = self.origin.url.clone();
        url.set_path(self.path.path());
        url.set_query(self.path.query());
        url
    }

    /// Resolves an absolute URL; `base` is reused when the URL has the same origin (a redirect
    /// back to the base then keeps the session's connection).
    pub(crate) fn from_url(url: &Url, base: Option<&Arc<Origin>>) -> Result<Target, ClientError> {
        let origin = Origin::from_url(url)?;
        let origin = match base {
            Some(b) if b.same(&origin) => b.clone(),
            _ => Arc::new(origin),
        };
        let path = &url[url::Position::BeforePath..url::Position::AfterQuery];
        let path = if path.is_empty() { "/" } else { path };
        let path =
            PathAndQuery::try_from(path).map_err(|_| ClientError::InvalidTarget("invalid path"))?;
        Ok(Target { origin, path })
    }
}

/// The session's base: its origin and an optional path prefix.
#[derive(Debug, Clone)]
pub(crate) struct Base {
    pub(crate) origin: Arc<Origin>,
    /// The base URL's path without its trailing `/` ("" for a root base). Like Locust's `host`,
    /// a base `http://h/api` sends target `/a` to `/api/a`.
    prefix: Box<str>,
}

impl Base {
    pub(crate) fn new(url: &Url) -> Result<Base, ClientError> {
        let origin = Arc::new(Origin::from_url(url)?);
        let prefix = url.path().trim_end_matches('/').into();
        Ok(Base { origin, prefix })
    }

    /// Resolves `target`: a path-and-query (`/a?b=1`, appended to the base path) or an
    /// absolute `http(s)://` URL. Other relative references resolve against the base URL.
    pub(crate) fn resolve(&self, target: &str) -> Result<Target, ClientError> {
        if target.starts_with('/') {
            // Fast path: no URL parsing. `PathAndQuery` rejects spaces (and would pass raw
            // UTF-8 on); such targets fall through to `url`, which percent-encodes them.
            let parsed = if !target.is_ascii() {
                None
            } else if self.prefix.is_empty() {
                PathAndQuery::try_from(target).ok()
            } else {
                PathAndQuery::try_from(format!("{}{target}", self.prefix)).ok()
            };
            if let Some(path) = parsed {
                return Ok(Target {
                    origin: self.origin.clone(),
                    path,
                });
            }
            let joined = format!("{}{target}", self.prefix);
            let mut url = self.origin.url.clone();
            let (p, q) = match joined.split_once('?') {
                Some((p, q)) => (p, Some(q)),
                None => (joined.as_str(), None),
            };
            // A fragment is never sent.
            let p = p.split('#').next().unwrap_or("/");
            let q = q.map(|q| q.split('#').next().unwrap_or(""));
            url.set_path(p);
            url.set_query(q);
            return Target::from_url(&url, Some(&self.origin));
        }
        let url = self
            .base_url()
            .join(target)
            .map_err(|_| ClientError::InvalidTarget("unparsable url"))?;
        Target::from_url(&url, Some(&self.origin))
    }

    /// The base as a URL (origin plus prefix and a trailing slash) for relative references.
    fn base_url(&self) -> Url {
        let mut url = self.origin.url.clone();
        url.set_path(&format!("{}/", self.prefix));
        url
    }
}

/// Resolves an absolute target without a usable base (only absolute URLs work).
pub(crate) fn resolve_absolute(target: &str) -> Result<Target, ClientError> {
    let url = Url::parse(target).map_err(|_| ClientError::InvalidTarget("no usable base url"))?;
    Target::from_url(&url, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(s: &str) -> Base {
        Base::new(&Url::parse(s).unwrap()).unwrap()
    }

    #[test]
    fn origin_precomputes_authority_and_host() {
        let o = Origin::from_url(&Url::parse("http://example.com/x").unwrap()).unwrap();
        assert_eq!(o.authority.as_str(), "example.com");
        assert_eq!(o.port, 80);
        assert!(o.server_name.is_none());
        let o = Origin::from_url(&Url::parse("https://127.0.0.1:8443").unwrap()).unwrap();
        assert_eq!(o.host_header, "127.0.0.1:8443");
        assert_eq!(o.host, Host::Ip("127.0.0.1".parse().unwrap()));
        assert!(o.server_name.is_some());
        let o = Origin::from_url(&Url::parse("http://[::1]:81/").unwrap()).unwrap();
        assert_eq!(o.authority.as_str(), "[::1]:81");
        assert!(Origin::from_url(&Url::parse("ftp://x/").unwrap()).is_err());
        assert!(Origin::from_url(&Url::parse("file:///etc").unwrap()).is_err());
    }

    #[test]
    fn targets_resolve_against_the_base() {
        let b = base("http://h:8080");
        let t = b.resolve("/a?b=1").unwrap();
        assert!(Arc::ptr_eq(&t.origin, &b.origin));
        assert_eq!(t.path.as_str(), "/a?b=1");

        let b = base("http://h:8080/api/");
        assert_eq!(b.resolve("/a?b=1").unwrap().path.as_str(), "/api/a?b=1");
        assert_eq!(b.resolve("x").unwrap().path.as_str(), "/api/x");

        let t = b.resolve("https://other.example/z?q").unwrap();
        assert_eq!(t.origin.authority.as_str(), "other.example");
        assert_eq!(t.path.as_str(), "/z?q");
        // Same origin spelled absolutely keeps the shared origin (and so the connection).
        let t = b.resolve("http://h:8080/y").unwrap();
        assert!(Arc::ptr_eq(&t.origin, &b.origin));
    }

    #[test]
    fn odd_targets_are_encoded_or_rejected() {
        let b = base("http://h/");
        let t = b.resolve("/a b?c=d e#frag").unwrap();
        assert_eq!(t.path.as_str(), "/a%20b?c=d%20e");
        assert_eq!(b.resolve("/héllo").unwrap().path.as_str(), "/h%C3%A9llo");
        assert!(b.resolve("ftp://h/x").is_err());
        assert!(b.resolve("http://").is_err());
        assert_eq!(b.resolve("http://h").unwrap().path.as_str(), "/");
        assert!(resolve_absolute("/relative").is_err());
    }

    #[test]
    fn target_url_round_trips() {
        let b = base("http://h:1/");
        let t = b.resolve("/p/q?x=1").unwrap();
        assert_eq!(t.url().as_str(), "http://h:1/p/q?x=1");
    }
}
