//! Establishing one connection: DNS, TCP, TLS with ALPN, and the hyper handshake.
//!
//! The hyper connection future (which does the actual socket I/O) runs in its own tokio task;
//! the session keeps only the `SendRequest` handle. The task is aborted when the [`Conn`] is
//! dropped, so a session that is closed, times out or replaces its connection never leaves a
//! socket or task behind, whatever state the connection was in.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::task::AbortHandle;

use super::error::ClientError;
use super::origin::{Host, Origin, Scheme};

/// The request body type: every request body is a complete `Bytes`.
pub(crate) type ReqBody = Full<Bytes>;

/// The protocol-specific request handle.
pub(crate) enum Sender {
    H1(http1::SendRequest<ReqBody>),
    H2(http2::SendRequest<ReqBody>),
}

/// A live connection owned by one session.
pub(crate) struct Conn {
    /// The origin it is connected to (requests to other origins need another connection).
    pub(crate) origin: Arc<Origin>,
    pub(crate) sender: Sender,
    /// Whether a request has completed on it: only a reused connection can hit the
    /// keep-alive race that justifies a transparent retry.
    pub(crate) reused: bool,
    task: AbortHandle,
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Closes the socket now, even if a timed-out request left it mid-message.
        self.task.abort();
    }
}

impl Conn {
    /// Waits until the connection can take a request; `Err` means it is closed.
    pub(crate) async fn ready(&mut self) -> Result<(), hyper::Error> {
        match &mut self.sender {
            Sender::H1(s) => s.ready().await,
            Sender::H2(s) => s.ready().await,
        }
    }

    /// The HTTP version of the connection.
    pub(crate) fn is_h2(&self) -> bool {
        matches!(self.sender, Sender::H2(_))
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
    match (&origin.scheme, &origin.server_name) {
        (Scheme::Https, Some(name)) => {
            let stream = tls
                .connect(name.clone(), tcp)
                .await
                .map_err(ClientError::Tls)?;
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            let io = TokioIo::new(stream);
            if h2 {
                handshake_h2(origin, io).await
            } else {
                handshake_h1(origin, io).await
            }
        }
        (Scheme::Https, None) => Err(ClientError::InvalidTarget("https without a tls name")),
        (Scheme::Http, _) => handshake_h1(origin, TokioIo::new(tcp)).await,
    }
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

async fn handshake_h1<T>(origin: &Arc<Origin>, io: TokioIo<T>) -> Result<Conn, ClientError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, conn) = http1::Builder::new()
        .handshake(io)
        .await
        .map_err(ClientError::Handshake)?;
    let task = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "http/1.1 connection ended with an error");
        }
    });
    Ok(Conn {
        origin: origin.clone(),
        sender: Sender::H1(sender),
        reused: false,
        task: task.abort_handle(),
    })
}

async fn handshake_h2<T>(origin: &Arc<Origin>, io: TokioIo<T>) -> Result<Conn, ClientError>
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
    Ok(Conn {
        origin: origin.clone(),
        sender: Sender::H2(sender),
        reused: false,
        task: task.abort_handle(),
    })
}
