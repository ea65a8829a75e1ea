//! HTTP/1.1 response parsing (RFC 9112): the head, the body framing, the chunked coding.
//!
//! Everything here is synchronous and works on the connection's read buffer (`BytesMut`), so it
//! can be tested byte by byte without sockets, and nothing large lives in the user's future:
//! the `httparse` header array is on the stack of [`parse_head`] only.
//!
//! Zero-copy: a parsed head is split off the read buffer and frozen, and header values are
//! slices of it (a reference count, not an allocation per header).
//!
//! Every limit here bounds what a hostile or broken server can make us buffer: the head
//! ([`MAX_HEAD`], [`MAX_HEADERS`]), a chunk-size line ([`MAX_CHUNK_LINE`]) and the trailers
//! ([`MAX_TRAILERS`]). Errors carry a short fixed text; nothing panics on any input.

use std::mem::MaybeUninit;

use bytes::{Buf, BytesMut};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{StatusCode, Version};

/// Most header fields in a response head (hyper's default, too).
pub(crate) const MAX_HEADERS: usize = 100;
/// Largest response head (status line and header fields), interim 1xx heads each.
pub(crate) const MAX_HEAD: usize = 64 * 1024;
/// Longest chunk-size line (size and extensions), without its CRLF.
pub(crate) const MAX_CHUNK_LINE: usize = 4 * 1024;
/// Largest trailer section.
pub(crate) const MAX_TRAILERS: usize = 16 * 1024;

/// The server's response is not valid HTTP/1.1; the text says what is wrong (fixed strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Invalid(pub(crate) &'static str);

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body (HEAD, 204, 304, or `Content-Length: 0`).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the server closes the connection.
    Close,
}

/// A parsed final response head.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    pub(crate) headers: HeaderMap,
    pub(crate) framing: Framing,
    /// Whether the connection may serve another request after this response (as far as the
    /// response tells; the request's own `Connection: close` is the caller's business).
    pub(crate) keep_alive: bool,
}

/// Header fields whose offsets [`parse_head`] keeps on the stack; more go to the heap.
const FEW_FIELDS: usize = 24;

/// Where a header field lies in the buffer (offsets from its start).
#[derive(Clone, Copy, Default)]
struct Field {
    name: (usize, usize),
    value: (usize, usize),
}

/// Parses the response head at the front of `buf`, skipping interim (1xx) responses.
///
/// `Ok(None)`: the head is incomplete, read more (interim heads already parsed are consumed).
/// `Ok(Some(head))`: the head was split off `buf`, which now starts with the body.
pub(crate) fn parse_head(buf: &mut BytesMut, head_request: bool) -> Result<Option<Head>, Invalid> {
    loop {
        // Uninitialised header slots: zeroing 100 of them (3 KiB) per response showed in
        // profiles of a busy generator.
        let mut storage = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut []);
        let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut response,
            buf,
            &mut storage,
        ) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Err(Invalid("response head too large"));
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(Invalid(parse_error(e))),
        };
        if len > MAX_HEAD {
            return Err(Invalid("response head too large"));
        }
        let code = response.code.unwrap_or(0);
        let status = StatusCode::from_u16(code).map_err(|_| Invalid("invalid status code"))?;
        let version = match response.version {
            Some(0) => Version::HTTP_10,
            Some(1) => Version::HTTP_11,
            _ => return Err(Invalid("invalid http version")),
        };
        if status.is_informational() {
            if code == 101 {
                return Err(Invalid("unexpected protocol switch"));
            }
            // 100 Continue, 103 Early Hints...: the final response follows.
            buf.advance(len);
            continue;
        }
        // Offsets, so the values can become slices of the frozen head below. Most heads have
        // a few fields: those offsets stay on the stack.
        let base = buf.as_ptr() as usize;
        let count = response.headers.len();
        let mut few = [Field::default(); FEW_FIELDS];
        let mut many = Vec::new();
        let fields: &mut [Field] = if count <= FEW_FIELDS {
            &mut few[..count]
        } else {
            many.resize(count, Field::default());
            &mut many
        };
        for (field, h) in fields.iter_mut().zip(response.headers.iter()) {
            let name = h.name.as_ptr() as usize - base;
            let value = h.value.as_ptr() as usize - base;
            field.name = (name, name + h.name.len());
            field.value = (value, value + h.value.len());
        }
        let head = buf.split_to(len).freeze();
        let mut headers = HeaderMap::with_capacity(count);
        for field in fields.iter() {
            let name = HeaderName::from_bytes(&head[field.name.0..field.name.1])
                .map_err(|_| Invalid("invalid header name"))?;
            let value = HeaderValue::from_maybe_shared(head.slice(field.value.0..field.value.1))
                .map_err(|_| Invalid("invalid header value"))?;
            headers.append(name, value);
        }
        let (framing, keep_alive) = framing(&headers, status, version, head_request)?;
        return Ok(Some(Head {
            status,
            version,
            headers,
            framing,
            keep_alive,
        }));
    }
}

/// A short text for an `httparse` error.
fn parse_error(e: httparse::Error) -> &'static str {
    match e {
        httparse::Error::HeaderName => "invalid header name",
        httparse::Error::HeaderValue => "invalid header value",
        httparse::Error::NewLine => "invalid line ending",
        httparse::Error::Status => "invalid status line",
        httparse::Error::Token => "invalid token",
        httparse::Error::TooManyHeaders => "too many headers",
        httparse::Error::Version => "invalid http version",
    }
}

/// Body framing and keep-alive of a final response (RFC 9112 section 6.3).
fn framing(
    headers: &HeaderMap,
    status: StatusCode,
    version: Version,
    head_request: bool,
) -> Result<(Framing, bool), Invalid> {
    let close = has_token(headers, &header::CONNECTION, "close");
    let mut keep_alive = match version {
        Version::HTTP_11 => !close,
        _ => !close && has_token(headers, &header::CONNECTION, "keep-alive"),
    };
    if head_request || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED {
        return Ok((Framing::Empty, keep_alive));
    }
    let framing = if headers.contains_key(header::TRANSFER_ENCODING) {
        if version != Version::HTTP_11 {
            return Err(Invalid("transfer-encoding in an http/1.0 response"));
        }
        if headers.contains_key(header::CONTENT_LENGTH) {
            // Both: the transfer coding wins, and the connection must not be reused.
            keep_alive = false;
        }
        if last_coding_is_chunked(headers) {
            Framing::Chunked
        } else {
            Framing::Close
        }
    } else if headers.contains_key(header::CONTENT_LENGTH) {
        match content_length(headers)? {
            0 => Framing::Empty,
            n => Framing::Length(n),
        }
    } else {
        Framing::Close
    };
    if framing == Framing::Close {
        keep_alive = false;
    }
    Ok((framing, keep_alive))
}

/// Whether any `name` field lists `token` (case-insensitive, comma-separated).
pub(crate) fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// Whether the last transfer coding is `chunked`.
fn last_coding_is_chunked(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::TRANSFER_ENCODING)
        .iter()
        .next_back()
        .and_then(|v| v.as_bytes().rsplit(|&b| b == b',').next())
        .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}

/// The body length: every `Content-Length` value (fields and list items) must be the same
/// decimal number.
fn content_length(headers: &HeaderMap) -> Result<u64, Invalid> {
    let mut length = None;
    for value in headers.get_all(header::CONTENT_LENGTH) {
        for item in value.as_bytes().split(|&b| b == b',') {
            let n = parse_decimal(item.trim_ascii()).ok_or(Invalid("invalid content-length"))?;
            if length.is_some_and(|l| l != n) {
                return Err(Invalid("conflicting content-length"));
            }
            length = Some(n);
        }
    }
    length.ok_or(Invalid("invalid content-length"))
}

/// `1*DIGIT` as a `u64`; `None` if empty, not all digits, or too large.
fn parse_decimal(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    s.iter().try_fold(0u64, |n, &b| {
        let digit = char::from(b).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// What [`ChunkedDecoder::decode`] found at the front of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The first `n` bytes of the buffer are body data: the caller takes them off.
    Data(usize),
    /// The buffer ends inside framing: read more and call again.
    Need,
    /// The body (trailers included) is complete and consumed.
    Done,
}

/// Where a chunked body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data, this many bytes left.
    Data(u64),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer fields so far (bytes).
    Trailers(usize),
    Done,
}

/// Decoder of the chunked transfer coding (RFC 9112 section 7.1), strict: hex sizes without
/// overflow, CRLF line endings, bounded extension and trailer sizes. Extensions and trailer
/// fields are checked and dropped.
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    state: Chunk,
}

impl ChunkedDecoder {
    pub(crate) fn new() -> ChunkedDecoder {
        ChunkedDecoder { state: Chunk::Size }
    }

    /// Bytes of the current chunk still to come (a read size hint).
    pub(crate) fn remaining(&self) -> u64 {
        match self.state {
            Chunk::Data(n) => n,
            _ => 0,
        }
    }

    /// Consumes framing at the front of `buf` up to the next data or the end.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Step, Invalid> {
        loop {
            match self.state {
                Chunk::Size => {
                    let Some(line) = line(buf, MAX_CHUNK_LINE, "chunk size line too long")? else {
                        return Ok(Step::Need);
                    };
                    let size = chunk_size(&buf[..line])?;
                    buf.advance(line + 2);
                    self.state = if size == 0 {
                        Chunk::Trailers(0)
                    } else {
                        Chunk::Data(size)
                    };
                }
                Chunk::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Step::Need);
                    }
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    };
                    return Ok(Step::Data(n));
                }
                Chunk::DataEnd => match &buf[..] {
                    [b'\r', b'\n', ..] => {
                        buf.advance(2);
                        self.state = Chunk::Size;
                    }
                    [] | [b'\r'] => return Ok(Step::Need),
                    _ => return Err(Invalid("missing crlf after chunk data")),
                },
                Chunk::Trailers(so_far) => {
                    let limit = MAX_TRAILERS.saturating_sub(so_far);
                    let Some(line) = line(buf, limit, "trailers too large")? else {
                        return Ok(Step::Need);
                    };
                    if line == 0 {
                        buf.advance(2);
                        self.state = Chunk::Done;
                        return Ok(Step::Done);
                    }
                    check_trailer(&buf[..line])?;
                    buf.advance(line + 2);
                    self.state = Chunk::Trailers(so_far + line + 2);
                }
                Chunk::Done => return Ok(Step::Done),
            }
        }
    }
}

/// The length of the CRLF-terminated line at the front of `buf` (without the CRLF), or `None`
/// if it is not complete yet. A bare LF or CR is an error, as is a line longer than `max`.
fn line(buf: &[u8], max: usize, too_long: &'static str) -> Result<Option<usize>, Invalid> {
    let window = &buf[..buf.len().min(max.saturating_add(2))];
    match window.iter().position(|&b| b == b'\n') {
        Some(lf) => {
            let content = lf.checked_sub(1).ok_or(Invalid("invalid line ending"))?;
            if window[content] != b'\r' || window[..content].contains(&b'\r') {
                return Err(Invalid("invalid line ending"));
            }
            Ok(Some(content))
        }
        None if window.len() > max.saturating_add(1) => Err(Invalid(too_long)),
        None if window[..window.len().saturating_sub(1)].contains(&b'\r') => {
            Err(Invalid("invalid line ending"))
        }
        None => Ok(None),
    }
}

/// `chunk-size [ BWS ";" chunk-ext ]` of a chunk-size line.
fn chunk_size(line: &[u8]) -> Result<u64, Invalid> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 {
        return Err(Invalid("invalid chunk size"));
    }
    let mut size = 0u64;
    for &b in &line[..digits] {
        let digit = char::from(b).to_digit(16).unwrap_or(0);
        size = size
            .checked_mul(16)
            .and_then(|s| s.checked_add(u64::from(digit)))
            .ok_or(Invalid("chunk size too large"))?;
    }
    let rest = &line[digits..];
    let ws = rest
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    match &rest[ws..] {
        [] => Ok(size),
        [b';', ext @ ..]
            if ext
                .iter()
                .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b)) =>
        {
            Ok(size)
        }
        _ => Err(Invalid("invalid chunk extension")),
    }
}

/// A trailer field line: `name: value` with a token name and no control characters.
fn check_trailer(line: &[u8]) -> Result<(), Invalid> {
    let colon = line.iter().position(|&b| b == b':');
    let valid = colon.is_some_and(|c| {
        c > 0
            && HeaderName::from_bytes(&line[..c]).is_ok()
            && line[c + 1..]
                .iter()
                .all(|&b| b == b'\t' || (b >= b' ' && b != 0x7f))
    });
    if valid {
        Ok(())
    } else {
        Err(Invalid("invalid trailer field"))
    }
}

#[cfg(test)]
#[path = "h1_parse_tests.rs"]
mod tests;
