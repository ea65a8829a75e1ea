//! A writer that scrubs every log line of secret shapes before it reaches stderr.
//!
//! `tracing-subscriber` formats each event into a buffer and hands the finished line to a
//! writer made for that event; [`Scrubbed`] makes a [`ScrubbedLine`] that collects the line and,
//! when dropped, writes it with [`cicada_redact::scrub`] applied. So every line, text or JSON,
//! from cicada or a dependency, is scrubbed in one place (see the `cicada-redact` crate for the
//! rules), at the cost of one copy per line only when something was found.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Wraps a [`MakeWriter`] so that each line it writes is scrubbed.
#[derive(Clone, Debug)]
pub struct Scrubbed<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Scrubbed<M> {
    type Writer = ScrubbedLine<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        ScrubbedLine {
            inner: self.0.make_writer(),
            buf: Vec::new(),
        }
    }
}

/// One event's output, written (scrubbed) when dropped or flushed.
#[derive(Debug)]
pub struct ScrubbedLine<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> ScrubbedLine<W> {
    fn emit(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buf);
        let scrubbed = cicada_redact::scrub(&text);
        let result = self.inner.write_all(scrubbed.as_bytes());
        self.buf.clear();
        result
    }
}

impl<W: Write> Write for ScrubbedLine<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for ScrubbedLine<W> {
    fn drop(&mut self) {
        // Nowhere to report a failed log write: stderr is where it would go.
        let _ = self.emit();
    }
}
