//! The worker's statistics not yet acknowledged by a master.
//!
//! Every report gets the next sequence number and stays here until the master says it applied
//! it (`HeartbeatReply.stats_acked`); after a reconnect the worker sends what is left, and the
//! master skips sequence numbers it already applied. So a broken stream neither loses nor
//! double-counts measurements.
//!
//! Bounded for a worker cut off for days: past [`MAX_PENDING`] reports, new intervals are
//! merged into the newest report that was never sent (merging a sent one could double-count
//! it, if the master applied it but its acknowledgement was lost).

use std::collections::VecDeque;

use cicada_stats::Interval;

/// Reports kept apart before merging (at one report every 2 s: 10 minutes).
pub const MAX_PENDING: usize = 300;

struct Pending {
    seq: u64,
    interval: Interval,
    /// Sent on some stream (the master may have applied it).
    sent: bool,
}

/// Unacknowledged statistics.
pub struct Outbox {
    pending: VecDeque<Pending>,
    next_seq: u64,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox::new()
    }
}

impl Outbox {
    /// An empty outbox; the first report is number 1.
    pub fn new() -> Self {
        Outbox {
            pending: VecDeque::new(),
            next_seq: 1,
        }
    }

    /// Queues an interval (nothing for an empty one).
    pub fn push(&mut self, interval: Interval) {
        if interval.is_empty() {
            return;
        }
        if self.pending.len() >= MAX_PENDING
            && let Some(last) = self.pending.back_mut()
            && !last.sent
        {
            last.interval.merge(interval);
            return;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push_back(Pending {
            seq,
            interval,
            sent: false,
        });
    }

    /// Forgets every report up to `seq`.
    pub fn ack(&mut self, seq: u64) {
        while self.pending.front().is_some_and(|p| p.seq <= seq) {
            self.pending.pop_front();
        }
    }

    /// The reports not sent on the current stream, encoded, marked as sent.
    pub fn unsent(&mut self) -> Vec<(u64, Vec<u8>)> {
        self.pending
            .iter_mut()
            .filter(|p| !p.sent)
            .map(|p| {
                p.sent = true;
                (p.seq, p.interval.to_bytes())
            })
            .collect()
    }

    /// After a stream broke: everything pending goes again on the next one.
    pub fn resend_all(&mut self) {
        for p in &mut self.pending {
            p.sent = false;
        }
    }

    /// Reports waiting for an acknowledgement.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True when every report was acknowledged.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cicada_stats::RequestKey;
    use std::time::Duration;

    fn one(n: u64) -> Interval {
        let mut i = Interval::new();
        let key = RequestKey::new("GET", "/x");
        for _ in 0..n {
            i.record(&key, Duration::from_millis(5), 10, None);
        }
        i
    }

    fn count(bytes: &[u8]) -> u64 {
        Interval::from_bytes(bytes).unwrap().request_count()
    }

    #[test]
    fn reports_stay_until_acknowledged_and_go_again_after_a_break() {
        let mut o = Outbox::new();
        o.push(Interval::new());
        assert!(o.is_empty(), "empty intervals are not reported");
        o.push(one(1));
        o.push(one(2));
        let sent = o.unsent();
        assert_eq!(sent.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [1, 2]);
        assert!(o.unsent().is_empty(), "sent once per stream");
        o.ack(1);
        assert_eq!(o.len(), 1);
        o.resend_all();
        let again = o.unsent();
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].0, count(&again[0].1)), (2, 2));
        o.ack(2);
        assert!(o.is_empty());
    }

    #[test]
    fn a_long_outage_merges_only_unsent_reports() {
        let mut o = Outbox::new();
        o.push(one(1));
        let _ = o.unsent(); // report 1 is in doubt: sent, not acknowledged
        for _ in 0..MAX_PENDING + 50 {
            o.push(one(1));
        }
        assert_eq!(o.len(), MAX_PENDING);
        o.resend_all();
        let all = o.unsent();
        assert_eq!(all[0].0, 1, "the report in doubt keeps its number");
        assert_eq!(count(&all[0].1), 1);
        let total: u64 = all.iter().map(|(_, b)| count(b)).sum();
        assert_eq!(total, 1 + MAX_PENDING as u64 + 50, "nothing lost");
    }
}
