//! Errors of the HTTP client.
//!
//! [`ClientError::reason`] is what statistics group failures by, so it is a fixed set of short
//! strings: never a URL (ids, tokens) nor an OS message. `Display` carries the details for logs.

use std::io;
use std::path::PathBuf;

/// Which bound a [`ClientError::Timeout`] hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutPhase {
    /// Establishing a connection (DNS, TCP, TLS, HTTP handshake) took too long.
    Connect,
    /// The request (sending, waiting for the response, reading the body) took too long.
    Request,
}

impl std::fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TimeoutPhase::Connect => "connect",
            TimeoutPhase::Request => "request",
        })
    }
}

/// Why a request produced no response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The host name did not resolve (or resolved to no address).
    #[error("dns lookup failed: {0}")]
    Dns(#[source] io::Error),
    /// TCP connect failed: refused, unreachable, ... (the `io::ErrorKind` tells which).
    #[error("connect failed: {0}")]
    Connect(#[source] io::Error),
    /// The TLS handshake failed (certificate rejected, protocol mismatch, closed mid-handshake).
    #[error("tls handshake failed: {0}")]
    Tls(#[source] io::Error),
    /// The HTTP/2 handshake on a fresh connection failed.
    #[error("http handshake failed: {0}")]
    Handshake(#[source] hyper::Error),
    /// A connect or request bound elapsed; the connection was dropped.
    #[error("{0} timeout")]
    Timeout(TimeoutPhase),
    /// The server closed (or reset) the connection before the response was complete.
    #[error("connection closed before the response was complete")]
    ConnectionClosed,
    /// The server broke the HTTP/2 protocol (unparsable frames, stream error, ...).
    #[error("http protocol error: {0}")]
    Protocol(#[source] hyper::Error),
    /// The HTTP/1.1 response is malformed; the text says how (a fixed string).
    #[error("invalid http response: {0}")]
    InvalidResponse(&'static str),
    /// An I/O error on an established connection other than the server closing or resetting
    /// it (e.g. a TLS record that does not decrypt).
    #[error("connection error: {0}")]
    Io(#[source] io::Error),
    /// The target (or base URL) cannot be requested; the text says what is wrong with it.
    #[error("invalid target: {0}")]
    InvalidTarget(&'static str),
    /// More redirects than `max_redirects`.
    #[error("too many redirects")]
    TooManyRedirects,
}

impl ClientError {
    /// A short, bounded-cardinality reason for statistics ("connection refused",
    /// "request timeout", ...). Never contains a URL or an OS-specific message.
    pub fn reason(&self) -> &'static str {
        match self {
            ClientError::Dns(_) => "dns lookup failed",
            ClientError::Connect(e) => connect_reason(e.kind()),
            ClientError::Tls(e) => {
                if is_certificate_error(e) {
                    "tls certificate invalid"
                } else {
                    "tls handshake failed"
                }
            }
            ClientError::Handshake(_) => "http handshake failed",
            ClientError::Timeout(TimeoutPhase::Connect) => "connect timeout",
            ClientError::Timeout(TimeoutPhase::Request) => "request timeout",
            ClientError::ConnectionClosed => "connection closed",
            ClientError::Protocol(e) => {
                if e.is_parse() {
                    "invalid http response"
                } else {
                    "http protocol error"
                }
            }
            ClientError::InvalidResponse(_) => "invalid http response",
            // hyper reported these as protocol errors: the statistics keep that reason.
            ClientError::Io(_) => "http protocol error",
            ClientError::InvalidTarget(_) => "invalid url",
            ClientError::TooManyRedirects => "too many redirects",
        }
    }

    /// True for errors that happened while establishing a connection (the engine backs off on
    /// those: the target is down or refusing, hammering it helps nobody).
    pub fn is_connect(&self) -> bool {
        matches!(
            self,
            ClientError::Dns(_)
                | ClientError::Connect(_)
                | ClientError::Tls(_)
                | ClientError::Handshake(_)
                | ClientError::Timeout(TimeoutPhase::Connect)
        )
    }

    /// True for connect and request timeouts.
    pub fn is_timeout(&self) -> bool {
        matches!(self, ClientError::Timeout(_))
    }

    /// Classifies an I/O error on an established connection: the server closing or resetting
    /// it is [`ClientError::ConnectionClosed`].
    pub(crate) fn from_io(e: io::Error) -> ClientError {
        if is_closed(e.kind()) {
            ClientError::ConnectionClosed
        } else {
            ClientError::Io(e)
        }
    }

    /// Classifies an error of hyper's send/receive path (not the handshake).
    pub(crate) fn from_hyper(e: hyper::Error) -> ClientError {
        if e.is_incomplete_message() || e.is_canceled() || e.is_closed() {
            return ClientError::ConnectionClosed;
        }
        // Resets and broken pipes reach us as an io::Error somewhere in the source chain.
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            if let Some(io) = s.downcast_ref::<io::Error>()
                && is_closed(io.kind())
            {
                return ClientError::ConnectionClosed;
            }
            source = s.source();
        }
        ClientError::Protocol(e)
    }
}

/// Whether an I/O error means the peer closed or reset the connection.
fn is_closed(kind: io::ErrorKind) -> bool {
    matches!(
        kind,
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
    )
}

/// The statistics reason of a failed TCP connect.
fn connect_reason(kind: io::ErrorKind) -> &'static str {
    match kind {
        io::ErrorKind::ConnectionRefused => "connection refused",
        io::ErrorKind::ConnectionReset => "connection reset",
        io::ErrorKind::HostUnreachable => "host unreachable",
        io::ErrorKind::NetworkUnreachable => "network unreachable",
        // Usually local ephemeral port exhaustion: worth its own row.
        io::ErrorKind::AddrNotAvailable | io::ErrorKind::AddrInUse => "address not available",
        io::ErrorKind::TimedOut => "connect timeout",
        _ => "connect failed",
    }
}

/// Whether a TLS handshake failed because the server's certificate was rejected.
fn is_certificate_error(e: &io::Error) -> bool {
    matches!(
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::InvalidCertificate(_))
    )
}

/// Why a [`crate::client::Client`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientBuildError {
    /// The CA file could not be read.
    #[error("cannot read CA file {}: {source}", path.display())]
    CaFileRead {
        /// The configured path.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The CA file is not valid PEM.
    #[error("invalid PEM in CA file {}: {source}", path.display())]
    CaFilePem {
        /// The configured path.
        path: PathBuf,
        /// The PEM decoding error.
        source: rustls_pki_types::pem::Error,
    },
    /// The CA file holds no certificate (an empty or wrong file is a configuration mistake).
    #[error("no certificate in CA file {}", path.display())]
    CaFileEmpty {
        /// The configured path.
        path: PathBuf,
    },
    /// A certificate of the CA file was rejected as a trust anchor.
    #[error("certificate in CA file {} rejected: {source}", path.display())]
    CaCertificate {
        /// The configured path.
        path: PathBuf,
        /// Why rustls rejected it.
        source: rustls::Error,
    },
    /// rustls rejected the configuration.
    #[error("tls configuration: {0}")]
    Tls(#[from] rustls::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_short_and_fixed() {
        let refused = ClientError::Connect(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(refused.reason(), "connection refused");
        assert!(refused.is_connect());
        assert!(!refused.is_timeout());

        let other = ClientError::Connect(io::Error::other("weird /secret/path"));
        assert_eq!(other.reason(), "connect failed");

        let ct = ClientError::Timeout(TimeoutPhase::Connect);
        assert_eq!(ct.reason(), "connect timeout");
        assert!(ct.is_connect() && ct.is_timeout());

        let rt = ClientError::Timeout(TimeoutPhase::Request);
        assert_eq!(rt.reason(), "request timeout");
        assert!(!rt.is_connect() && rt.is_timeout());

        let cert = ClientError::Tls(io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        ));
        assert_eq!(cert.reason(), "tls certificate invalid");
        let tls = ClientError::Tls(io::Error::from(io::ErrorKind::UnexpectedEof));
        assert_eq!(tls.reason(), "tls handshake failed");

        assert_eq!(ClientError::ConnectionClosed.reason(), "connection closed");
        assert!(!ClientError::ConnectionClosed.is_connect());
        assert_eq!(ClientError::TooManyRedirects.reason(), "too many redirects");
        let invalid = ClientError::InvalidResponse("invalid chunk size");
        assert_eq!(invalid.reason(), "invalid http response");
        assert_eq!(
            invalid.to_string(),
            "invalid http response: invalid chunk size"
        );
        let reset = ClientError::from_io(io::Error::from(io::ErrorKind::ConnectionReset));
        assert!(matches!(reset, ClientError::ConnectionClosed));
        let io = ClientError::from_io(io::Error::from(io::ErrorKind::InvalidData));
        assert_eq!(io.reason(), "http protocol error");
        assert_eq!(ClientError::InvalidTarget("x").reason(), "invalid url");
        assert_eq!(
            ClientError::Dns(io::Error::other("x")).reason(),
            "dns lookup failed"
        );
    }
}
