//! Our own HTTP/1.1 client connection, driven directly by the user's task.
//!
//! # Why not hyper's
//! hyper's HTTP/1.1 client splits a connection into a `SendRequest` handle and a connection
//! future in its own task, joined by a channel: every request wakes two tasks and hops over
//! the channel, and every idle keep-alive connection holds a task, the channel's blocks and
//! two 8 KiB buffers. A simulated user sends one request at a time on its one connection, so
//! none of that machinery is needed: here the user's task writes the request and reads the
//! response itself, and the I/O driver wakes exactly that task when the response arrives.
//!
//! # Memory
//! - Write: one per-connection `Vec` holds the request head (and a small body), written with
//!   one `write` (or one `writev` beside a large body). It is dropped when a big body grew it.
//! - Read: the buffer is allocated when a response is read (4 KiB, growing for large heads up
//!   to `h1_parse::MAX_HEAD` and for large bodies up to 64 KiB), and released when the
//!   response is complete: an idle connection holds no read buffer. The head and a body that
//!   arrived with it are split off that buffer without copies (header values and the kept body
//!   are slices of it); a large `Content-Length` body is read straight into its final buffer.
//!
//! # Keep-alive
//! After a complete response the connection is idle and reusable unless either side said
//! `Connection: close`, an HTTP/1.0 response did not ask for keep-alive, the body was
//! delimited by the server closing, or the server sent bytes past the response. Any error or
//! abandoned request (a timeout drops the future) leaves it busy: it is never reused. Before
//! reusing an idle connection, [`H1Conn::peer_closed`] polls it once without waiting, which
//! catches a server that closed it while idle (when the FIN has reached us); the session's
//! retry rule covers the rest of the race.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, StatusCode, Version};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

use super::body::{Collector, ReadBody};
use super::error::ClientError;
use super::h1_parse::{self, ChunkedDecoder, Framing, Step};

/// First size of the read buffer.
const READ_START: usize = 4 * 1024;
/// Largest growth step of the read buffer for bodies.
const READ_MAX: usize = 64 * 1024;
/// Below this much free space the read buffer grows before a read.
const MIN_SPARE: usize = 1024;
/// Bodies up to this size are copied behind the head (one `write`); larger ones go beside it
/// (one `writev`) without a copy.
const INLINE_BODY: usize = 4 * 1024;
/// A write buffer grown beyond this is dropped after the request (it is rebuilt small).
const WRITE_KEEP: usize = 8 * 1024;

/// One request, as the session built it. `host`, `content_length` and `cookie` are the
/// fields the session adds; they go on the wire exactly where hyper put them (a replaced
/// `Content-Length` in place, new fields after the caller's, in this order).
pub(crate) struct Request<'a> {
    pub(crate) method: &'a Method,
    /// Origin-form target (`/path?query`).
    pub(crate) path: &'a str,
    /// The caller's header fields (a `Transfer-Encoding` among them is not sent: the body is
    /// always framed by `Content-Length`).
    pub(crate) headers: &'a HeaderMap,
    /// `Host`, when the caller did not set one.
    pub(crate) host: Option<&'a HeaderValue>,
    /// `Content-Length`, replacing the caller's.
    pub(crate) content_length: Option<usize>,
    /// `Cookie`, when the caller did not set one.
    pub(crate) cookie: Option<HeaderValue>,
    pub(crate) body: &'a Bytes,
}

/// A final response head; its body is read with [`H1Conn::read_body`].
#[derive(Debug)]
pub(crate) struct ResponseHead {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
}

/// How far a failed request got, for the keep-alive race retry rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Not a byte of the request was sent: safe to send again, whatever the method.
    NotSent,
    /// Sent (maybe partly), no response byte received.
    Sent,
    /// Part of a response was received.
    Answered,
}

/// Why [`H1Conn::send`] failed, and how far it got.
#[derive(Debug)]
pub(crate) struct SendError {
    pub(crate) error: ClientError,
    pub(crate) progress: Progress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Ready for a request.
    Idle,
    /// A request is in flight, or was abandoned mid-way: the connection's state is unknown.
    Busy,
    /// The last response ended the connection's usefulness.
    Closed,
}

/// An HTTP/1.1 connection over any byte stream (TCP, TLS). See the module docs.
pub(crate) struct H1Conn<S> {
    io: S,
    write_buf: Vec<u8>,
    read_buf: BytesMut,
    state: State,
    /// Framing of the response whose body is next to read.
    framing: Framing,
    /// Whether the current exchange allows reuse (request and response agree).
    keep_alive: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> H1Conn<S> {
    /// A connection over an established stream.
    pub(crate) fn new(io: S) -> H1Conn<S> {
        H1Conn {
            io,
            write_buf: Vec::new(),
            read_buf: BytesMut::new(),
            state: State::Idle,
            framing: Framing::Empty,
            keep_alive: false,
        }
    }

    /// Whether the connection can take a request (the last response completed and allowed it).
    pub(crate) fn is_idle(&self) -> bool {
        self.state == State::Idle
    }

    /// Whether the server closed (or reset, or wrote to) the idle connection, as far as is known
    /// without waiting: one read poll that does not register interest with a real waker.
    pub(crate) fn peer_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        let mut buf = ReadBuf::new(&mut byte);
        let mut cx = Context::from_waker(Waker::noop());
        // Pending: nothing to read, still open. Ready: EOF, an error, or bytes nobody asked
        // for (the connection is out of step): not reusable either way.
        !matches!(
            Pin::new(&mut self.io).poll_read(&mut cx, &mut buf),
            Poll::Pending
        )
    }

    /// Sends `req` and reads the response head. The body must be read next with
    /// [`H1Conn::read_body`]; until then (or after any error) the connection is busy.
    pub(crate) async fn send(&mut self, req: &Request<'_>) -> Result<ResponseHead, SendError> {
        self.state = State::Busy;
        let inline = self.encode(req);
        let body: &[u8] = if inline { &[] } else { req.body };
        if let Err((e, sent_any)) = self.write_request(body).await {
            let progress = if sent_any {
                Progress::Sent
            } else {
                Progress::NotSent
            };
            return Err(SendError {
                error: ClientError::from_io(e),
                progress,
            });
        }
        if self.write_buf.capacity() > WRITE_KEEP {
            self.write_buf = Vec::new();
        }
        let head = self.read_head(*req.method == Method::HEAD).await?;
        self.framing = head.framing;
        self.keep_alive =
            head.keep_alive && !h1_parse::has_token(req.headers, &header::CONNECTION, "close");
        Ok(ResponseHead {
            status: head.status,
            version: head.version,
            headers: head.headers,
        })
    }

    /// Reads the body of the response [`H1Conn::send`] returned to its end, keeping at most
    /// `cap` bytes. Afterwards the connection is idle if it may be reused ([`H1Conn::is_idle`]).
    pub(crate) async fn read_body(&mut self, cap: usize) -> Result<ReadBody, ClientError> {
        if self.state != State::Busy {
            return Err(ClientError::ConnectionClosed);
        }
        let body = match self.framing {
            Framing::Empty => Collector::new(cap, 0).finish(),
            Framing::Length(n) => self.read_sized(n, cap).await?,
            Framing::Chunked => self.read_chunked(cap).await?,
            Framing::Close => self.read_to_close(cap).await?,
        };
        // Bytes beyond the response: the server is out of step, do not reuse.
        let clean = self.read_buf.is_empty();
        // Idle connections hold no read buffer (what was read lives on in the response).
        self.read_buf = BytesMut::new();
        self.state = if self.keep_alive && clean {
            State::Idle
        } else {
            State::Closed
        };
        Ok(body)
    }

    /// Writes the request line and header fields (and an inline body) into `write_buf`;
    /// returns whether the body went in too.
    fn encode(&mut self, req: &Request<'_>) -> bool {
        let inline = req.body.len() <= INLINE_BODY;
        let buf = &mut self.write_buf;
        buf.clear();
        let fields: usize = req
            .headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 4)
            .sum();
        let extra = if inline { req.body.len() } else { 0 };
        buf.reserve(req.method.as_str().len() + req.path.len() + fields + 128 + extra);
        for part in [req.method.as_str().as_bytes(), b" ", req.path.as_bytes()] {
            buf.extend_from_slice(part);
        }
        buf.extend_from_slice(b" HTTP/1.1\r\n");
        let mut length = req.content_length.map(decimal);
        for (name, value) in req.headers {
            if name == header::TRANSFER_ENCODING {
                continue;
            }
            if name == header::CONTENT_LENGTH && req.content_length.is_some() {
                // Replaced in place (once), like `HeaderMap::insert` did for hyper.
                if let Some((digits, n)) = length.take() {
                    field(buf, b"content-length", &digits[..n]);
                }
                continue;
            }
            field(buf, name.as_str().as_bytes(), value.as_bytes());
        }
        if let Some(host) = req.host {
            field(buf, b"host", host.as_bytes());
        }
        if let Some((digits, n)) = length {
            field(buf, b"content-length", &digits[..n]);
        }
        if let Some(cookie) = &req.cookie {
            field(buf, b"cookie", cookie.as_bytes());
        }
        buf.extend_from_slice(b"\r\n");
        if inline {
            buf.extend_from_slice(req.body);
        }
        inline
    }

    /// Writes `write_buf` and then `body` (vectored). On error, also says whether any byte
    /// was sent.
    async fn write_request(&mut self, body: &[u8]) -> Result<(), (io::Error, bool)> {
        let head = &self.write_buf[..];
        let total = head.len() + body.len();
        let mut done = 0usize;
        while done < total {
            let written = if done >= head.len() {
                self.io.write(&body[done - head.len()..]).await
            } else if body.is_empty() {
                self.io.write(&head[done..]).await
            } else {
                let slices = [IoSlice::new(&head[done..]), IoSlice::new(body)];
                self.io.write_vectored(&slices).await
            };
            match written {
                Ok(0) => return Err((io::ErrorKind::WriteZero.into(), done > 0)),
                Ok(n) => done += n,
                Err(e) => return Err((e, done > 0)),
            }
        }
        // TLS streams may hold encrypted records back until flushed; TCP's flush is a no-op.
        self.io.flush().await.map_err(|e| (e, true))
    }

    /// Reads until a final response head is parsed (interim 1xx heads are skipped).
    async fn read_head(&mut self, head_request: bool) -> Result<h1_parse::Head, SendError> {
        let mut answered = false;
        loop {
            if !self.read_buf.is_empty() {
                answered = true;
                match h1_parse::parse_head(&mut self.read_buf, head_request) {
                    Ok(Some(head)) => return Ok(head),
                    Ok(None) => {}
                    Err(invalid) => {
                        return Err(SendError {
                            error: ClientError::InvalidResponse(invalid.0),
                            progress: Progress::Answered,
                        });
                    }
                }
            }
            let progress = if answered {
                Progress::Answered
            } else {
                Progress::Sent
            };
            match self.fill(READ_START).await {
                Ok(0) => {
                    return Err(SendError {
                        error: ClientError::ConnectionClosed,
                        progress,
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(SendError {
                        error: ClientError::from_io(e),
                        progress,
                    });
                }
            }
        }
    }

    /// Reads more into the read buffer (growing it by about `want`, within bounds, when it is
    /// nearly full). `Ok(0)` is the end of the stream.
    async fn fill(&mut self, want: usize) -> io::Result<usize> {
        if self.read_buf.capacity() - self.read_buf.len() < MIN_SPARE {
            self.read_buf.reserve(want.clamp(READ_START, READ_MAX));
        }
        self.io.read_buf(&mut self.read_buf).await
    }

    /// A `Content-Length` body.
    async fn read_sized(&mut self, length: u64, cap: usize) -> Result<ReadBody, ClientError> {
        let mut body = Collector::new(cap, length);
        let mut remaining = length;
        loop {
            let buffered = to_usize(remaining).min(self.read_buf.len());
            body.take_from(&mut self.read_buf, buffered);
            remaining -= buffered as u64;
            if remaining == 0 {
                return Ok(body.finish());
            }
            // The read buffer is empty: read the kept part straight into its final buffer.
            let n = if let Some((dst, want)) = body.direct(remaining) {
                let n = (&mut self.io)
                    .take(want as u64)
                    .read_buf(dst)
                    .await
                    .map_err(ClientError::from_io)?;
                body.add_direct(n);
                remaining -= n as u64;
                n
            } else {
                self.fill(to_usize(remaining))
                    .await
                    .map_err(ClientError::from_io)?
            };
            if n == 0 {
                return Err(ClientError::ConnectionClosed);
            }
        }
    }

    /// A chunked body.
    async fn read_chunked(&mut self, cap: usize) -> Result<ReadBody, ClientError> {
        let mut body = Collector::new(cap, 0);
        let mut decoder = ChunkedDecoder::new();
        loop {
            match decoder.decode(&mut self.read_buf) {
                Ok(Step::Data(n)) => body.take_from(&mut self.read_buf, n),
                Ok(Step::Done) => return Ok(body.finish()),
                Ok(Step::Need) => {
                    let want = to_usize(decoder.remaining());
                    if self.fill(want).await.map_err(ClientError::from_io)? == 0 {
                        return Err(ClientError::ConnectionClosed);
                    }
                }
                Err(invalid) => return Err(ClientError::InvalidResponse(invalid.0)),
            }
        }
    }

    /// A body delimited by the end of the connection (never reusable after).
    async fn read_to_close(&mut self, cap: usize) -> Result<ReadBody, ClientError> {
        self.keep_alive = false;
        let mut body = Collector::new(cap, 0);
        loop {
            let buffered = self.read_buf.len();
            body.take_from(&mut self.read_buf, buffered);
            match self.fill(READ_MAX).await {
                Ok(0) => return Ok(body.finish()),
                Ok(_) => {}
                // A TLS peer that closes without close_notify: for a close-delimited body
                // that is still its end.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(body.finish()),
                Err(e) => return Err(ClientError::from_io(e)),
            }
        }
    }
}

/// `name: value\r\n`.
fn field(buf: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    for part in [name, b": ", value, b"\r\n"] {
        buf.extend_from_slice(part);
    }
}

/// The decimal digits of `n` (and how many), without going through `fmt`.
fn decimal(mut n: usize) -> ([u8; 20], usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let len = digits.len() - start;
    digits.copy_within(start.., 0);
    (digits, len)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

#[cfg(test)]
#[path = "h1_tests.rs"]
mod tests;
