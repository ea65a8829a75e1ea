//! Parser tests: heads, framing, the chunked coding, split input at every offset, and
//! property tests that nothing panics on any input.

use bytes::BytesMut;
use http::{StatusCode, Version};
use proptest::prelude::*;

use super::*;

/// What a complete response decodes to, for comparisons.
#[derive(Debug, PartialEq, Eq)]
struct Decoded {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    framing: Framing,
    keep_alive: bool,
    body: Vec<u8>,
    /// Bytes left after the response.
    rest: Vec<u8>,
}

/// Feeds `pieces` one by one, as reads would, through the head parser and the body framing.
/// `Err("incomplete")` when the input ends before the response does (except a
/// close-delimited body, which the end completes).
fn decode(pieces: &[&[u8]], head_request: bool) -> Result<Decoded, Invalid> {
    let mut buf = BytesMut::new();
    let mut pieces = pieces.iter();
    let head = loop {
        if let Some(head) = parse_head(&mut buf, head_request)? {
            break head;
        }
        buf.extend_from_slice(pieces.next().ok_or(Invalid("incomplete"))?);
    };
    let mut body = Vec::new();
    match head.framing {
        Framing::Empty => {}
        Framing::Length(n) => {
            while (body.len() as u64) < n {
                let take = (n - body.len() as u64).min(buf.len() as u64) as usize;
                body.extend_from_slice(&buf.split_to(take));
                if (body.len() as u64) < n {
                    buf.extend_from_slice(pieces.next().ok_or(Invalid("incomplete"))?);
                }
            }
        }
        Framing::Chunked => {
            let mut decoder = ChunkedDecoder::new();
            loop {
                match decoder.decode(&mut buf)? {
                    Step::Data(n) => body.extend_from_slice(&buf.split_to(n)),
                    Step::Done => break,
                    Step::Need => {
                        buf.extend_from_slice(pieces.next().ok_or(Invalid("incomplete"))?)
                    }
                }
            }
        }
        Framing::Close => {
            body.extend_from_slice(&buf.split());
            for p in pieces.by_ref() {
                body.extend_from_slice(p);
            }
        }
    }
    let mut rest = buf.to_vec();
    for p in pieces {
        rest.extend_from_slice(p);
    }
    Ok(Decoded {
        status: head.status.as_u16(),
        headers: head
            .headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect(),
        framing: head.framing,
        keep_alive: head.keep_alive,
        body,
        rest,
    })
}

fn whole(input: &[u8]) -> Result<Decoded, Invalid> {
    decode(&[input], false)
}

/// Every way of cutting `input` in two, and byte by byte, gives the same result as in one piece.
fn assert_split_invariant(input: &[u8], head_request: bool) {
    let expected = decode(&[input], head_request);
    for cut in 0..=input.len() {
        let (a, b) = input.split_at(cut);
        assert_eq!(decode(&[a, b], head_request), expected, "cut at {cut}");
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(decode(&bytes, head_request), expected, "byte by byte");
}

const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n\
    5;name=value;flag\r\nhello\r\n6 \r\n world\r\n000\r\nExpires: never\r\nX-T: 1\r\n\r\n";

#[test]
fn a_simple_response_parses_with_zero_copy_values() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Id: abc\r\nX-Id: def\r\n\r\nhello";
    let mut buf = BytesMut::from(&input[..]);
    let head = parse_head(&mut buf, false).unwrap().unwrap();
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.version, Version::HTTP_11);
    assert_eq!(head.framing, Framing::Length(5));
    assert!(head.keep_alive);
    let ids: Vec<_> = head.headers.get_all("x-id").iter().collect();
    assert_eq!(ids, ["abc", "def"]);
    assert_eq!(&buf[..], b"hello");
    assert_split_invariant(input, false);
}

#[test]
fn interim_responses_are_skipped_and_101_is_refused() {
    let input = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
        HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    let d = whole(input).unwrap();
    assert_eq!((d.status, &d.body[..]), (201, &b"ok"[..]));
    assert_eq!(d.headers.len(), 1);
    assert_split_invariant(input, false);
    let upgrade = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
    assert_eq!(whole(upgrade), Err(Invalid("unexpected protocol switch")));
}

#[test]
fn bodiless_responses_ignore_their_length() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
    let d = decode(&[input], true).unwrap();
    assert_eq!((d.framing, d.keep_alive), (Framing::Empty, true));
    assert_split_invariant(input, true);
    for status in ["204 No Content", "304 Not Modified"] {
        let input = format!("HTTP/1.1 {status}\r\nContent-Length: 10\r\nETag: \"x\"\r\n\r\n");
        let d = whole(input.as_bytes()).unwrap();
        assert_eq!(
            (d.framing, d.keep_alive),
            (Framing::Empty, true),
            "{status}"
        );
        assert!(d.body.is_empty());
    }
    let d = whole(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").unwrap();
    assert_eq!(d.framing, Framing::Empty);
}

#[test]
fn content_length_must_be_one_valid_number() {
    let ok = whole(b"HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc");
    assert_eq!(ok.unwrap().body, b"abc");
    for bad in [
        "3, 4",
        "-3",
        "+3",
        "0x3",
        "3a",
        "",
        " ",
        "99999999999999999999999",
    ] {
        let input = format!("HTTP/1.1 200 OK\r\nContent-Length: {bad}\r\n\r\nabc");
        assert!(whole(input.as_bytes()).is_err(), "{bad:?}");
    }
    let two = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd";
    assert_eq!(whole(two), Err(Invalid("conflicting content-length")));
}

#[test]
fn transfer_encoding_and_version_rules() {
    let both = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n\
        1\r\na\r\n0\r\n\r\n";
    let d = whole(both).unwrap();
    assert_eq!(
        (d.framing, d.keep_alive, &d.body[..]),
        (Framing::Chunked, false, &b"a"[..])
    );

    let gzip = whole(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nzz").unwrap();
    assert_eq!((gzip.framing, gzip.keep_alive), (Framing::Close, false));
    let last = whole(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,CHUNKED\r\n\r\n0\r\n\r\n");
    assert_eq!(last.unwrap().framing, Framing::Chunked);

    let old = b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert!(whole(old).is_err());

    let d = whole(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx").unwrap();
    assert!(!d.keep_alive);
    let d = whole(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx");
    assert!(d.unwrap().keep_alive);
    let d = whole(b"HTTP/1.1 200 OK\r\nConnection: foo, close\r\nContent-Length: 1\r\n\r\nx");
    assert!(!d.unwrap().keep_alive);
}

#[test]
fn close_delimited_bodies_run_to_the_end() {
    let input = b"HTTP/1.1 200 OK\r\nServer: old\r\n\r\neverything until the end";
    let d = whole(input).unwrap();
    assert_eq!((d.framing, d.keep_alive), (Framing::Close, false));
    assert_eq!(d.body, b"everything until the end");
    assert_split_invariant(input, false);
}

#[test]
fn bytes_after_a_response_are_left_in_the_buffer() {
    let input = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokGARBAGE HTTP/1.1 200";
    let d = whole(input).unwrap();
    assert_eq!(
        (&d.body[..], &d.rest[..]),
        (&b"ok"[..], &b"GARBAGE HTTP/1.1 200"[..])
    );
    let mut chunked = CHUNKED.to_vec();
    chunked.extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(whole(&chunked).unwrap().rest, b"HTTP/1.1 200 OK\r\n\r\n");
}

#[test]
fn huge_heads_and_too_many_headers_are_refused() {
    let mut huge = b"HTTP/1.1 200 OK\r\nSet-Cookie: a=".to_vec();
    huge.resize(MAX_HEAD + 1, b'a');
    // Incomplete and already too large: refused without waiting for the rest.
    assert_eq!(
        parse_head(&mut BytesMut::from(&huge[..]), false).unwrap_err(),
        Invalid("response head too large")
    );
    huge.extend_from_slice(b"\r\n\r\n");
    assert_eq!(whole(&huge), Err(Invalid("response head too large")));
    let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(whole(&many), Err(Invalid("too many headers")));
}

#[test]
fn heads_with_the_most_fields_keep_every_one_in_order() {
    // Past the fields kept on the stack, up to the limit.
    for count in [FEW_FIELDS, FEW_FIELDS + 1, MAX_HEADERS] {
        let mut input = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..count - 1 {
            input.extend_from_slice(format!("X-Field: value-{i}\r\n").as_bytes());
        }
        input.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
        let got = whole(&input).unwrap();
        assert_eq!(got.headers.len(), count);
        let values: Vec<_> = got.headers[..count - 1]
            .iter()
            .map(|(_, v)| v.clone())
            .collect();
        let want: Vec<_> = (0..count - 1)
            .map(|i| format!("value-{i}").into_bytes())
            .collect();
        assert_eq!(values, want);
        assert_eq!(got.body, b"ok");
    }
}

#[test]
fn malformed_heads_are_refused() {
    for bad in [
        &b"HTTP/1.1 2000 OK\r\n\r\n"[..],
        b"HTTP/2.0 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\x01b\r\n\r\n",
        b"HTTP/1.1 099 Low\r\n\r\n",
        b"hello world\r\n\r\n",
        b"\0\0\0\0",
    ] {
        assert!(whole(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn chunked_bodies_with_extensions_and_trailers() {
    let d = whole(CHUNKED).unwrap();
    assert_eq!((d.framing, d.keep_alive), (Framing::Chunked, true));
    assert_eq!(d.body, b"hello world");
    assert!(d.rest.is_empty());
    assert_split_invariant(CHUNKED, false);
    let big_digits = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        0000000000000000000000002\r\nab\r\nA\r\n0123456789\r\n0\r\n\r\n";
    assert_eq!(whole(big_digits).unwrap().body, b"ab0123456789");
}

#[test]
fn malformed_chunks_are_refused() {
    let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (body, why) in [
        ("x\r\n", "invalid chunk size"),
        ("\r\n", "invalid chunk size"),
        ("-1\r\n", "invalid chunk size"),
        ("1 2\r\n", "invalid chunk extension"),
        ("1;a\x01\r\n", "invalid chunk extension"),
        ("10000000000000000\r\n", "chunk size too large"),
        ("3\nabc", "invalid line ending"),
        ("3\r\rabc", "invalid line ending"),
        ("3\r\nabcX\r\n", "missing crlf after chunk data"),
        ("3\r\nabc\r\r", "missing crlf after chunk data"),
        ("0\r\nno colon\r\n\r\n", "invalid trailer field"),
        ("0\r\n: empty name\r\n\r\n", "invalid trailer field"),
        ("0\r\nX: a\x7fb\r\n\r\n", "invalid trailer field"),
    ] {
        let input = format!("{head}{body}");
        assert_eq!(whole(input.as_bytes()), Err(Invalid(why)), "{body:?}");
    }
    let long_line = format!("{head}1;{}\r\nx\r\n0\r\n\r\n", "e".repeat(MAX_CHUNK_LINE));
    assert_eq!(
        whole(long_line.as_bytes()),
        Err(Invalid("chunk size line too long"))
    );
    let fits = format!(
        "{head}1;{}\r\nx\r\n0\r\n\r\n",
        "e".repeat(MAX_CHUNK_LINE - 2)
    );
    assert_eq!(whole(fits.as_bytes()).unwrap().body, b"x");
    let trailers = format!("{head}0\r\n{}\r\n", "X-T: vvvvvvvvvvvvvvv\r\n".repeat(1000));
    assert_eq!(
        whole(trailers.as_bytes()),
        Err(Invalid("trailers too large"))
    );
    // The end of the input inside a chunk is not the end of the body.
    let cut = format!("{head}5\r\nhel");
    assert_eq!(whole(cut.as_bytes()), Err(Invalid("incomplete")));
}

/// A valid response from generated parts, and what it must decode to.
fn response_strategy() -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let body = proptest::collection::vec(any::<u8>(), 0..300);
    let chunk_sizes = proptest::collection::vec(1usize..40, 0..8);
    (body, chunk_sizes, 0u8..3, any::<bool>()).prop_map(|(body, sizes, framing, ext)| {
        let mut out = b"HTTP/1.1 200 OK\r\nServer: test\r\n".to_vec();
        match framing {
            0 => {
                out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                out.extend_from_slice(&body);
            }
            1 => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                let mut rest = &body[..];
                let mut sizes = sizes.iter().cycle();
                while !rest.is_empty() {
                    let n = sizes.next().copied().unwrap_or(7).min(rest.len());
                    let (chunk, tail) = rest.split_at(n);
                    let ext = if ext { ";x=\"y\"" } else { "" };
                    out.extend_from_slice(format!("{n:X}{ext}\r\n").as_bytes());
                    out.extend_from_slice(chunk);
                    out.extend_from_slice(b"\r\n");
                    rest = tail;
                }
                out.extend_from_slice(b"0\r\n");
                if ext {
                    out.extend_from_slice(b"X-Trailer: t\r\n");
                }
                out.extend_from_slice(b"\r\n");
            }
            _ => {
                out.extend_from_slice(b"\r\n");
                out.extend_from_slice(&body);
            }
        }
        (out, body)
    })
}

/// Cuts `input` at the (sorted, deduplicated) `cuts`.
fn split_at<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts {
        pieces.push(&input[start..cut]);
        start = cut;
    }
    pieces.push(&input[start..]);
    pieces
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_splits_of_valid_responses_decode_the_same(
        (input, body) in response_strategy(),
        cuts in proptest::collection::vec(any::<usize>(), 0..12),
    ) {
        let d = decode(&split_at(&input, &cuts), false).unwrap();
        prop_assert_eq!(&d.body, &body);
        prop_assert_eq!(d.status, 200);
        prop_assert!(d.rest.is_empty());
    }

    #[test]
    fn random_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
        head_request in any::<bool>(),
    ) {
        let _ = decode(&split_at(&bytes, &cuts), head_request);
        // Straight into the chunked decoder too (the head parser rejects most noise early).
        let mut decoder = ChunkedDecoder::new();
        let mut buf = BytesMut::new();
        for piece in split_at(&bytes, &cuts) {
            buf.extend_from_slice(piece);
            while let Ok(Step::Data(n)) = decoder.decode(&mut buf) {
                let _ = buf.split_to(n);
            }
        }
    }

    #[test]
    fn mutated_valid_responses_never_panic(
        (input, _) in response_strategy(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cuts in proptest::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut input = input;
        for (at, byte) in flips {
            let at = at % input.len();
            input[at] = byte;
        }
        let _ = decode(&split_at(&input, &cuts), false);
    }
}
