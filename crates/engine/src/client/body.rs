//! Reading a response body: count every byte, keep at most a cap.
//!
//! The body is always read to its end: on HTTP/1.1 that is what frees the connection for the
//! next request, and the byte count is a statistic. What is kept is bounded so a huge download
//! cannot blow up the memory of a process running thousands of users. The common one-piece
//! body is kept without copying.
//!
//! [`Collector`] holds these rules once; HTTP/2 bodies (hyper's `Incoming`, [`read_capped`]) and
//! our own HTTP/1.1 connection (`h1`) both feed it, so both keep the same `ReadBody` semantics.

use bytes::{Buf, Bytes, BytesMut};
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
    /// One piece: kept as it came (a slice of the read buffer, or hyper's frame), no copy.
    One(Bytes),
    /// Several pieces, concatenated.
    Many(BytesMut),
}

/// Collects body pieces: counts them all, keeps the first `cap` bytes.
pub(crate) struct Collector {
    cap: usize,
    /// The announced length (0 if unknown): sizes the buffer once, within the cap.
    hint: usize,
    kept: Kept,
    kept_len: usize,
    len: u64,
}

impl Collector {
    /// A collector keeping at most `cap` bytes of a body announced as `hint` bytes long.
    pub(crate) fn new(cap: usize, hint: u64) -> Collector {
        Collector {
            cap,
            hint: usize::try_from(hint).unwrap_or(usize::MAX),
            kept: Kept::Empty,
            kept_len: 0,
            len: 0,
        }
    }

    /// Bytes that may still be kept.
    fn room(&self) -> usize {
        self.cap - self.kept_len
    }

    /// Adds one piece of body.
    pub(crate) fn push(&mut self, data: Bytes) {
        self.len += data.len() as u64;
        let room = self.room();
        if room == 0 || data.is_empty() {
            return;
        }
        let data = if data.len() > room {
            data.slice(..room)
        } else {
            data
        };
        self.kept_len += data.len();
        self.kept = match std::mem::replace(&mut self.kept, Kept::Empty) {
            Kept::Empty => Kept::One(data),
            Kept::One(first) => {
                let mut buf = BytesMut::with_capacity(self.hint.clamp(self.kept_len, self.cap));
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

    /// Takes the first `n` bytes of `buf` as body: the kept part is split off without a copy,
    /// the rest is only counted and dropped.
    pub(crate) fn take_from(&mut self, buf: &mut BytesMut, n: usize) {
        let keep = n.min(self.room());
        if keep > 0 {
            self.push(buf.split_to(keep).freeze());
        }
        buf.advance(n - keep);
        self.len += (n - keep) as u64;
    }

    /// A buffer to read up to `remaining` more kept bytes into directly (not through the
    /// connection's read buffer), with how many may be read into it; `None` once the cap is
    /// reached (the rest is only counted).
    pub(crate) fn direct(&mut self, remaining: u64) -> Option<(&mut BytesMut, usize)> {
        let want = usize::try_from(remaining)
            .unwrap_or(usize::MAX)
            .min(self.room());
        if want == 0 {
            return None;
        }
        let capacity = self.hint.clamp(self.kept_len + want, self.cap);
        let buf = match std::mem::replace(&mut self.kept, Kept::Empty) {
            Kept::Empty => BytesMut::with_capacity(capacity),
            Kept::One(first) => {
                let mut buf = BytesMut::with_capacity(capacity);
                buf.extend_from_slice(&first);
                buf
            }
            Kept::Many(buf) => buf,
        };
        self.kept = Kept::Many(buf);
        let Kept::Many(buf) = &mut self.kept else {
            return None;
        };
        buf.reserve(want);
        Some((buf, want))
    }

    /// Counts `n` bytes that were read into the [`Collector::direct`] buffer.
    pub(crate) fn add_direct(&mut self, n: usize) {
        self.len += n as u64;
        self.kept_len += n;
    }

    /// The body read so far.
    pub(crate) fn finish(self) -> ReadBody {
        let kept = match self.kept {
            Kept::Empty => Bytes::new(),
            Kept::One(b) => b,
            Kept::Many(b) => b.freeze(),
        };
        ReadBody {
            kept,
            len: self.len,
        }
    }
}

/// Reads `body` (HTTP/2) to its end, keeping at most `cap` bytes.
pub(crate) async fn read_capped(mut body: Incoming, cap: usize) -> Result<ReadBody, hyper::Error> {
    let mut collector = Collector::new(cap, body.size_hint().lower());
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            collector.push(data);
        } // else: trailers
    }
    Ok(collector.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_piece_is_kept_without_a_copy_and_the_cap_holds() {
        let piece = Bytes::from_static(b"hello world");
        let mut c = Collector::new(100, 11);
        c.push(piece.clone());
        let read = c.finish();
        assert_eq!(read.kept.as_ptr(), piece.as_ptr());
        assert_eq!(read.len, 11);

        let mut c = Collector::new(4, 0);
        c.push(Bytes::from_static(b"abc"));
        c.push(Bytes::from_static(b"defgh"));
        let mut buf = BytesMut::from(&b"ijkl"[..]);
        c.take_from(&mut buf, 3);
        assert_eq!(&buf[..], b"l");
        let read = c.finish();
        assert_eq!((&read.kept[..], read.len), (&b"abcd"[..], 11));
    }

    #[test]
    fn direct_reads_stop_at_the_cap() {
        let mut c = Collector::new(10, 1000);
        c.push(Bytes::from_static(b"abc"));
        let (buf, want) = c.direct(1000).unwrap();
        assert_eq!(want, 7);
        buf.extend_from_slice(b"defg");
        c.add_direct(4);
        let (_, want) = c.direct(1000).unwrap();
        assert_eq!(want, 3);
        c.push(Bytes::from_static(b"hijklm"));
        assert!(c.direct(5).is_none());
        let read = c.finish();
        assert_eq!((&read.kept[..], read.len), (&b"abcdefghij"[..], 13));
    }
}
