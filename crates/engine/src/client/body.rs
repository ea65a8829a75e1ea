//! Reading a response body: count every byte, keep at most a cap.
//!
//! The body is always read to its end: on HTTP/1.1 that is what frees the connection for the
//! next request, and the byte count is a statistic. What is kept is bounded so a huge download
//! cannot blow up the memory of a process running thousands of users. The common one-frame
//! body is kept without copying.

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;
use hyper::body::{Body, Incoming};

/// A body read to its end.
#[derive(Debug)]
pub(crate) struct ReadBody {
    /// The first `cap` bytes.
    pub(crate) kept: Bytes,
    /// All bytes received.
    pub(crate) len: u64,
}

/// What has been kept so far.
enum Kept {
    Empty,
    /// One frame: kept as hyper gave it, no copy.
    One(Bytes),
    /// Several frames, concatenated.
    Many(BytesMut),
}

/// Reads `body` to its end, keeping at most `cap` bytes.
pub(crate) async fn read_capped(mut body: Incoming, cap: usize) -> Result<ReadBody, hyper::Error> {
    let hint = usize::try_from(body.size_hint().lower()).unwrap_or(usize::MAX);
    let mut kept = Kept::Empty;
    let mut kept_len = 0usize;
    let mut len = 0u64;
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers
        };
        len += data.len() as u64;
        let room = cap - kept_len;
        if room == 0 || data.is_empty() {
            continue;
        }
        let data = if data.len() > room {
            data.slice(..room)
        } else {
            data
        };
        kept_len += data.len();
        kept = match kept {
            Kept::Empty => Kept::One(data),
            Kept::One(first) => {
                // Size the buffer once from the announced length, within the cap.
                let mut buf = BytesMut::with_capacity(hint.clamp(kept_len, cap));
                buf.extend_from_slice(&first);
                buf.extend_from_slice(&data);
                Kept::Many(buf)
            }
            Kept::Many(mut buf) => {
                buf.extend_from_slice(&data);
                Kept::Many(buf)
            }
        };
    }
    let kept = match kept {
        Kept::Empty => Bytes::new(),
        Kept::One(b) => b,
        Kept::Many(b) => b.freeze(),
    };
    Ok(ReadBody { kept, len })
}
