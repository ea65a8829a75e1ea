//! Establishing one connection: DNS, TCP, TLS with ALPN, and the HTTP/2 handshake.
//!
//! HTTP/1.1 (plain `http://`, or TLS without ALPN `h2`) runs on our own [`H1Conn`], driven by
//! the user's task: no task, no channel. HTTP/2 runs on hyper: its connection future (which
//! does the socket I/O and multiplexing) runs in its own tokio task, the session keeps only the
//! `SendRequest` handle. That task is aborted when the [`Conn`] is dropped, so a session that
//! is closed, times out or replaces its connection never leaves a socket or task behind,
//! whatever state the connection was in.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http2;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::task::AbortHandle;
use tokio_rustls::client::TlsStream;

use super::error::ClientError;
use super::h1::H1Conn;
use super::origin::{Host, Origin, Scheme};

/// The request body type of HTTP/2 requests: every request body is a complete `Bytes`.
pub(crate) type ReqBody = Full<Bytes>;

/// The byte stream under an HTTP/1.1 connection. TLS is boxed: its state is large, and most
/// load tests use plain HTTP.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// The protocol of a connection.
pub(crate) enum Proto {
    H1(H1Conn<Stream>),
    H2(H2Conn),
}

/// An HTTP/2 connection: hyper's handle, and the task running the connection.
pub(crate) struct H2Conn {
    pub(crate) sender: http2::SendRequest<ReqBody>,
    task: AbortHandle,
}

impl Drop for H2Conn {
    fn drop(&mut self) {
        // Closes the socket now, even if a timed-out request left it mid-message.
        self.task.abort();
    }
}

/// A live connection owned by one session.
pub(crate) struct Conn {
    /// The origin it is connected to (requests to other origins need another connection).
    pub(crate) origin: Arc<Origin>,
    pub(crate) proto: Proto,
    /// Whether a request has completed on it: only a reused connection can hit the
    /// keep-alive race that justifies a transparent retry.
    pub(crate) reused: bool,
}

impl Conn {
    /// Whether the connection may serve another request after the response just read
    /// (HTTP/2 connections always may; hyper reports a closed one on the next request).
    pub(crate) fn keeps_alive(&self) -> bool {
        match &self.proto {
            Proto::H1(h1) => h1.is_idle(),
            Proto::H2(_) => true,
        }
    }
}

/// Opens a connection to `origin`. The caller bounds it with the connect timeout.
pub(crate) async fn connect(
    origin: &Arc<Origin>,
    tls: &tokio_rustls::TlsConnector,
) -> Result<Conn, ClientError> {
    let tcp = tcp_connect(origin).await?;
    // Requests are written in one go and latency matters more than packet count.
    let _ = tcp.set_nodelay(true);
    let proto = match (&origin.scheme, &origin.server_name) {
        (Scheme::Https, Some(name)) => {
            let stream = tls
                .connect(name.clone(), tcp)
                .await
                .map_err(ClientError::Tls)?;
            if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                Proto::H2(handshake_h2(TokioIo::new(stream)).await?)
            } else {
                Proto::H1(H1Conn::new(Stream::Tls(Box::new(stream))))
            }
        }
        (Scheme::Https, None) => {
            return Err(ClientError::InvalidTarget("https without a tls name"));
        }
        (Scheme::Http, _) => Proto::H1(H1Conn::new(Stream::Plain(tcp))),
    };
    Ok(Conn {
        origin: origin.clone(),
        proto,
        reused: false,
    })
}

/// TCP connect; a host name is resolved first (system resolver, on tokio's blocking pool) and
/// its addresses are tried in order.
async fn tcp_connect(origin: &Origin) -> Result<TcpStream, ClientError> {
    match &origin.host {
        Host::Ip(ip) => TcpStream::connect(SocketAddr::new(*ip, origin.port))
            .await
            .map_err(ClientError::Connect),
        Host::Domain(name) => {
            let addrs = tokio::net::lookup_host((&**name, origin.port))
                .await
                .map_err(ClientError::Dns)?;
            let mut last = None;
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(s) => return Ok(s),
                    Err(e) => last = Some(e),
                }
            }
            Err(match last {
                Some(e) => ClientError::Connect(e),
                None => ClientError::Dns(io::Error::new(
                    io::ErrorKind::NotFound,
                    "name resolved to no address",
                )),
            })
        }
    }
}

async fn handshake_h2<T>(io: TokioIo<T>) -> Result<H2Conn, ClientError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = http2::Builder::new(TokioExecutor::new())
        .handshake(io)
        .await
        .map_err(ClientError::Handshake)?;
    let task = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "http/2 connection ended with an error");
        }
    });
    Ok(H2Conn {
        sender,
        task: task.abort_handle(),
    })
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
