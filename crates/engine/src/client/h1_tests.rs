//! Connection tests: exact request bytes, responses fed in arbitrary pieces (a scripted
//! in-memory stream, polled to completion without a runtime), keep-alive decisions, and a
//! few exchanges with a tiny TCP server on 127.0.0.1:0.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use proptest::prelude::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use super::*;

/// A stream that returns the scripted reads (then EOF) and records what is written. It is
/// never `Pending`, so an exchange completes within one poll.
#[derive(Default)]
struct Scripted {
    reads: VecDeque<Vec<u8>>,
    written: Vec<u8>,
    /// At most this many bytes per write call (0: no limit).
    write_limit: usize,
}

impl Scripted {
    fn new(pieces: &[&[u8]]) -> Scripted {
        Scripted {
            // An empty read would be the end of the stream.
            reads: pieces
                .iter()
                .filter(|p| !p.is_empty())
                .map(|p| p.to_vec())
                .collect(),
            ..Scripted::default()
        }
    }
}

impl AsyncRead for Scripted {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(mut piece) = this.reads.pop_front() {
            let n = piece.len().min(buf.remaining());
            buf.put_slice(&piece[..n]);
            if n < piece.len() {
                this.reads.push_front(piece.split_off(n));
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Scripted {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let n = match this.write_limit {
            0 => buf.len(),
            limit => buf.len().min(limit),
        };
        this.written.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn get<'a>(headers: &'a HeaderMap, body: &'a Bytes) -> Request<'a> {
    Request {
        method: &Method::GET,
        path: "/a?b=1",
        headers,
        host: None,
        content_length: None,
        cookie: None,
        body,
    }
}

/// One GET exchange over `pieces`: the head's status and the body (or the error).
fn exchange(
    conn: &mut H1Conn<Scripted>,
    method: &Method,
    cap: usize,
) -> Result<(StatusCode, ReadBody), ClientError> {
    let (headers, body) = (HeaderMap::new(), Bytes::new());
    let request = Request {
        method,
        ..get(&headers, &body)
    };
    let head = conn
        .send(&request)
        .now_or_never()
        .expect("scripted I/O never waits")
        .map_err(|e| e.error)?;
    let body = conn.read_body(cap).now_or_never().expect("never waits")?;
    Ok((head.status, body))
}

#[test]
fn requests_carry_the_same_fields_in_the_same_order_as_before() {
    let mut headers = HeaderMap::new();
    headers.insert("traceparent", HeaderValue::from_static("00-abc-def-01"));
    headers.insert("content-length", HeaderValue::from_static("999"));
    headers.append("x-multi", HeaderValue::from_static("1"));
    headers.append("x-multi", HeaderValue::from_static("2"));
    headers.insert("transfer-encoding", HeaderValue::from_static("chunked"));
    headers.insert("baggage", HeaderValue::from_static("task=login"));
    let body = Bytes::from_static(b"abc");
    let host = HeaderValue::from_static("example.test:8080");
    let request = Request {
        method: &Method::POST,
        path: "/login?x=1",
        headers: &headers,
        host: Some(&host),
        content_length: Some(3),
        cookie: Some(HeaderValue::from_static("sid=1")),
        body: &body,
    };
    let mut conn = H1Conn::new(Scripted::new(&[b"HTTP/1.1 204 No Content\r\n\r\n"]));
    conn.send(&request).now_or_never().unwrap().unwrap();
    let expected = "POST /login?x=1 HTTP/1.1\r\ntraceparent: 00-abc-def-01\r\ncontent-length: 3\r\n\
        x-multi: 1\r\nx-multi: 2\r\nbaggage: task=login\r\nhost: example.test:8080\r\n\
        cookie: sid=1\r\n\r\nabc";
    assert_eq!(String::from_utf8_lossy(&conn.io.written), expected);

    // A body of its own length appended; a large body written beside the head, even through
    // short writes.
    let headers = HeaderMap::new();
    let big = Bytes::from(vec![b'z'; 3 * INLINE_BODY]);
    let request = Request {
        method: &Method::PUT,
        content_length: Some(big.len()),
        ..get(&headers, &big)
    };
    let mut conn = H1Conn::new(Scripted::new(&[b"HTTP/1.1 204 No Content\r\n\r\n"]));
    conn.io.write_limit = 1000;
    conn.send(&request).now_or_never().unwrap().unwrap();
    let head = format!(
        "PUT /a?b=1 HTTP/1.1\r\ncontent-length: {}\r\n\r\n",
        big.len()
    );
    assert_eq!(&conn.io.written[..head.len()], head.as_bytes());
    assert_eq!(&conn.io.written[head.len()..], &big[..]);
}

#[test]
fn decimal_formats_any_length() {
    for n in [0usize, 7, 10, 1234, usize::MAX] {
        let (digits, len) = decimal(n);
        assert_eq!(&digits[..len], n.to_string().as_bytes());
    }
}

#[test]
fn keep_alive_follows_both_sides() {
    let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let mut conn = H1Conn::new(Scripted::new(&[ok, ok]));
    for _ in 0..2 {
        let (status, body) = exchange(&mut conn, &Method::GET, 100).unwrap();
        assert_eq!((status, &body.kept[..]), (StatusCode::OK, &b"ok"[..]));
        assert!(conn.is_idle());
        // Idle connections hold no read buffer.
        assert_eq!(conn.read_buf.capacity(), 0);
    }

    // The request asked to close.
    let mut headers = HeaderMap::new();
    headers.insert("connection", HeaderValue::from_static("close"));
    let body = Bytes::new();
    let mut conn = H1Conn::new(Scripted::new(&[ok]));
    conn.send(&get(&headers, &body))
        .now_or_never()
        .unwrap()
        .unwrap();
    conn.read_body(10).now_or_never().unwrap().unwrap();
    assert!(!conn.is_idle());

    for response in [
        &b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"[..],
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\n\r\nok",
        // Pipelined garbage after the response: out of step.
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n",
    ] {
        let mut conn = H1Conn::new(Scripted::new(&[response]));
        let (_, body) = exchange(&mut conn, &Method::GET, 100).unwrap();
        assert_eq!(&body.kept[..], b"ok");
        assert!(!conn.is_idle(), "{}", String::from_utf8_lossy(response));
    }
}

#[test]
fn head_and_not_modified_have_no_body() {
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n";
    let ok = b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";
    let mut conn = H1Conn::new(Scripted::new(&[head, ok]));
    let (status, body) = exchange(&mut conn, &Method::HEAD, 100).unwrap();
    assert_eq!((status, body.len), (StatusCode::OK, 0));
    assert!(conn.is_idle());
    let (status, body) = exchange(&mut conn, &Method::GET, 100).unwrap();
    assert_eq!((status, body.len), (StatusCode::NOT_MODIFIED, 0));
    assert!(conn.is_idle());
}

#[test]
fn errors_say_how_far_the_request_got() {
    let (headers, body) = (HeaderMap::new(), Bytes::new());
    let mut conn = H1Conn::new(Scripted::new(&[]));
    let e = conn
        .send(&get(&headers, &body))
        .now_or_never()
        .unwrap()
        .unwrap_err();
    assert!(matches!(e.error, ClientError::ConnectionClosed));
    assert_eq!(e.progress, Progress::Sent);
    assert!(!conn.is_idle());

    let mut conn = H1Conn::new(Scripted::new(&[b"HTTP/1.1 200"]));
    let e = conn
        .send(&get(&headers, &body))
        .now_or_never()
        .unwrap()
        .unwrap_err();
    assert!(matches!(e.error, ClientError::ConnectionClosed));
    assert_eq!(e.progress, Progress::Answered);

    let mut conn = H1Conn::new(Scripted::new(&[b"SSH-2.0-OpenSSH\r\n\r\n"]));
    let e = conn
        .send(&get(&headers, &body))
        .now_or_never()
        .unwrap()
        .unwrap_err();
    assert_eq!(e.error.reason(), "invalid http response");
    assert_eq!(e.progress, Progress::Answered);

    // Cut mid-body, and a broken chunk.
    for response in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
    ] {
        let mut conn = H1Conn::new(Scripted::new(&[response]));
        let e = exchange(&mut conn, &Method::GET, 100).unwrap_err();
        assert!(matches!(e, ClientError::ConnectionClosed), "{e:?}");
        assert!(!conn.is_idle());
    }
    let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    let e = exchange(&mut H1Conn::new(Scripted::new(&[bad])), &Method::GET, 100).unwrap_err();
    assert_eq!(e.to_string(), "invalid http response: invalid chunk size");
}

#[test]
fn large_bodies_are_counted_and_capped() {
    let len = 200_000usize;
    let mut sized = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").into_bytes();
    sized.extend(std::iter::repeat_n(b'x', len));
    let pieces: Vec<&[u8]> = sized.chunks(7000).collect();
    for cap in [0, 1000, len, 16 * 1024 * 1024] {
        let mut conn = H1Conn::new(Scripted::new(&pieces));
        let (_, body) = exchange(&mut conn, &Method::GET, cap).unwrap();
        assert_eq!(body.len, len as u64);
        assert_eq!(body.kept.len(), cap.min(len));
        assert!(body.kept.iter().all(|&b| b == b'x'));
        assert!(conn.is_idle());
        assert_eq!(conn.read_buf.capacity(), 0);
    }
}

/// A response cut into pieces decodes like the whole, through the connection.
fn via_conn(pieces: &[&[u8]], cap: usize) -> Result<(StatusCode, Bytes, u64, bool), String> {
    let mut conn = H1Conn::new(Scripted::new(pieces));
    let (status, body) = exchange(&mut conn, &Method::GET, cap).map_err(|e| e.to_string())?;
    Ok((status, body.kept, body.len, conn.is_idle()))
}

#[test]
fn every_split_offset_gives_the_same_response() {
    let responses: [&[u8]; 3] = [
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n6\r\n world\r\n\
            0\r\nX-T: 1\r\n\r\n",
        b"HTTP/1.1 404 Not Found\r\nServer: x\r\n\r\nclose-delimited",
    ];
    for response in responses {
        let expected = via_conn(&[response], 8).unwrap();
        for cut in 0..=response.len() {
            let (a, b) = response.split_at(cut);
            assert_eq!(via_conn(&[a, b], 8).as_ref(), Ok(&expected), "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = response.chunks(1).collect();
        assert_eq!(via_conn(&bytes, 8), Ok(expected));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_pieces_never_panic_and_valid_ones_decode(
        noise in proptest::collection::vec(any::<u8>(), 0..400),
        sizes in proptest::collection::vec(1usize..64, 1..20),
        cap in 0usize..64,
    ) {
        let mut pieces = Vec::new();
        let mut rest = &noise[..];
        for size in sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, tail) = rest.split_at((*size).min(rest.len()));
            pieces.push(piece);
            rest = tail;
        }
        let _ = via_conn(&pieces, cap);

        let mut valid = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        valid.extend_from_slice(format!("{:x}\r\n", noise.len().max(1)).as_bytes());
        valid.extend_from_slice(if noise.is_empty() { b"-" } else { &noise });
        valid.extend_from_slice(b"\r\n0\r\n\r\n");
        let pieces: Vec<&[u8]> = valid.chunks(sizes[0]).collect();
        let (_, kept, len, idle) = via_conn(&pieces, cap).unwrap();
        prop_assert_eq!(len as usize, noise.len().max(1));
        prop_assert_eq!(kept.len(), cap.min(noise.len().max(1)));
        prop_assert!(idle);
    }
}

/// A server answering each request on a connection with the next of `responses` (then
/// closing), reporting each request head it read.
async fn tiny_server(
    responses: Vec<&'static [u8]>,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut heads = Vec::new();
        for response in responses {
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                    return heads;
                }
                head.push(byte[0]);
            }
            heads.push(String::from_utf8_lossy(&head).into_owned());
            socket.write_all(response).await.unwrap();
        }
        heads
    });
    (addr, task)
}

#[tokio::test]
async fn over_tcp_keep_alive_then_the_server_closes() {
    let ok: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    let (addr, server) = tiny_server(vec![ok, ok]).await;
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut conn = H1Conn::new(stream);
    let (headers, body) = (HeaderMap::new(), Bytes::new());
    for _ in 0..2 {
        assert!(!conn.peer_closed());
        let head = conn.send(&get(&headers, &body)).await.unwrap();
        assert_eq!(head.status, StatusCode::OK);
        let read = conn.read_body(1024).await.unwrap();
        assert_eq!(&read.kept[..], b"hello");
        assert!(conn.is_idle());
    }
    let heads = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(heads, vec!["GET /a?b=1 HTTP/1.1\r\n\r\n"; 2]);
    // The server task ended and dropped its socket: the idle check sees the FIN.
    let closed = async {
        while !conn.peer_closed() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), closed)
        .await
        .unwrap();
    let e = conn.send(&get(&headers, &body)).await.unwrap_err();
    assert!(
        matches!(e.error, ClientError::ConnectionClosed),
        "{:?}",
        e.error
    );
}
