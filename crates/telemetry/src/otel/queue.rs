//! The bounded hand-over between span producers and the exporter.
//!
//! Producers call [`SpanQueue::push`], which never waits: it is a `try_send` on a bounded
//! channel. When the exporter falls behind (the collector is slow, down, or unreachable) the
//! channel fills and further spans are dropped and counted, so a sick collector costs a load
//! test nothing but a counter, and memory stays bounded by the queue's capacity however long
//! the outage lasts.
//!
//! The counters ([`OtelCounters`]) are shared atomics, readable at any time (the web crate's
//! `/metrics` shows them).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::span::SpanRecord;

/// What the export path has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct OtelStats {
    /// Spans the collector accepted.
    pub exported: u64,
    /// Spans dropped before export because the queue was full (or already shut down).
    pub dropped: u64,
    /// Spans in batches the collector refused or never answered (connection refused,
    /// timeout, an error status).
    pub failed: u64,
}

#[derive(Debug, Default)]
struct Counts {
    exported: AtomicU64,
    dropped: AtomicU64,
    failed: AtomicU64,
}

/// The export counters; cheap to clone, shared by every clone of a queue.
#[derive(Clone, Debug, Default)]
pub struct OtelCounters(Arc<Counts>);

impl OtelCounters {
    /// A snapshot of the counters.
    pub fn snapshot(&self) -> OtelStats {
        OtelStats {
            exported: self.0.exported.load(Ordering::Relaxed),
            dropped: self.0.dropped.load(Ordering::Relaxed),
            failed: self.0.failed.load(Ordering::Relaxed),
        }
    }

    /// Counts `n` spans the collector accepted (called by the exporter).
    pub fn add_exported(&self, n: usize) {
        self.0.exported.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts `n` spans the collector refused or never answered (called by the exporter).
    pub fn add_failed(&self, n: usize) {
        self.0.failed.fetch_add(n as u64, Ordering::Relaxed);
    }

    fn add_dropped(&self) {
        self.0.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

/// The producers' end: cheap to clone (one per user, one per server).
#[derive(Clone, Debug)]
pub struct SpanQueue {
    tx: mpsc::Sender<SpanRecord>,
    counters: OtelCounters,
}

/// The exporter's end.
#[derive(Debug)]
pub struct SpanReceiver {
    rx: mpsc::Receiver<SpanRecord>,
    counters: OtelCounters,
}

/// A queue holding at most `capacity` spans (at least 1).
pub fn span_queue(capacity: usize) -> (SpanQueue, SpanReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let counters = OtelCounters::default();
    (
        SpanQueue {
            tx,
            counters: counters.clone(),
        },
        SpanReceiver { rx, counters },
    )
}

impl SpanQueue {
    /// Hands a finished span to the exporter; drops and counts it when the queue is full.
    /// Never waits.
    pub fn push(&self, span: SpanRecord) {
        if self.tx.try_send(span).is_err() {
            self.counters.add_dropped();
        }
    }

    /// The counters (exported, dropped, failed).
    pub fn counters(&self) -> &OtelCounters {
        &self.counters
    }
}

impl SpanReceiver {
    /// The next span; `None` once every [`SpanQueue`] is gone and the queue is empty.
    pub async fn recv(&mut self) -> Option<SpanRecord> {
        self.rx.recv().await
    }

    /// The next span if one is queued now.
    pub fn try_recv(&mut self) -> Option<SpanRecord> {
        self.rx.try_recv().ok()
    }

    /// Appends up to `limit` spans queued now to `out`, without waiting.
    pub fn drain_into(&mut self, out: &mut Vec<SpanRecord>, limit: usize) {
        while out.len() < limit {
            match self.rx.try_recv() {
                Ok(span) => out.push(span),
                Err(_) => break,
            }
        }
    }

    /// The counters shared with the queue.
    pub fn counters(&self) -> &OtelCounters {
        &self.counters
    }

    /// Stops accepting spans: later pushes are dropped and counted; spans already queued can
    /// still be received.
    pub fn close(&mut self) {
        self.rx.close();
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::time::SystemTime;

    use super::*;
    use crate::otel::span::{SpanKind, SpanName, SpanStatus};

    fn span(id: u64) -> SpanRecord {
        SpanRecord {
            trace_id: 1,
            span_id: id,
            parent_span_id: 0,
            parent_is_remote: false,
            kind: SpanKind::Internal,
            name: SpanName::Owned(Cow::Borrowed("t")),
            start: SystemTime::UNIX_EPOCH,
            end: SystemTime::UNIX_EPOCH,
            status: SpanStatus::Unset,
            attributes: Vec::new(),
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts() {
        let (q, mut rx) = span_queue(2);
        for i in 1..=5 {
            q.push(span(i));
        }
        assert_eq!(q.counters().snapshot().dropped, 3);
        let mut got = Vec::new();
        rx.drain_into(&mut got, 10);
        assert_eq!(got.iter().map(|s| s.span_id).collect::<Vec<_>>(), [1, 2]);
        // Room again: nothing more is dropped.
        q.push(span(6));
        assert_eq!(rx.try_recv().map(|s| s.span_id), Some(6));
        assert_eq!(rx.counters().snapshot().dropped, 3);
    }

    #[test]
    fn a_closed_queue_counts_pushes_as_dropped() {
        let (q, mut rx) = span_queue(4);
        q.push(span(1));
        rx.close();
        q.push(span(2));
        assert_eq!(rx.try_recv().map(|s| s.span_id), Some(1));
        assert_eq!(rx.try_recv(), None);
        assert_eq!(q.counters().snapshot().dropped, 1);
    }

    #[test]
    fn drain_respects_the_limit() {
        let (q, mut rx) = span_queue(8);
        for i in 1..=5 {
            q.push(span(i));
        }
        let mut batch = Vec::new();
        rx.drain_into(&mut batch, 3);
        assert_eq!(batch.len(), 3);
        rx.counters().add_exported(3);
        rx.counters().add_failed(2);
        assert_eq!(
            q.counters().snapshot(),
            OtelStats {
                exported: 3,
                dropped: 0,
                failed: 2
            }
        );
    }
}
