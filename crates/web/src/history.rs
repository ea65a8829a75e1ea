//! Chart data: the stats history in a compact, columnar form (what uPlot draws directly).
//!
//! A `HistoryPoint` carries 17 figures; charts need 8. One hour of per-second points is
//! 3 600 × 8 numbers (~170 KB of JSON) and seven days of per-minute points 10 080 × 8 (~500 KB),
//! both bounded by the stats rings. Full points are in `/api/history.csv`.

use cicada_stats::{HistoryPoint, Stats};
use serde::Serialize;

use crate::views::round6;

/// Which history ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Resolution {
    /// One point per second (the last hour by default).
    #[default]
    Second,
    /// One point per minute (the last seven days by default).
    Minute,
}

impl Resolution {
    pub(crate) fn seconds(self) -> u64 {
        match self {
            Resolution::Second => 1,
            Resolution::Minute => 60,
        }
    }
}

/// One chart point (also pushed live, one per tick).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(crate) struct ChartPoint {
    pub(crate) timestamp: u64,
    pub(crate) users: u64,
    pub(crate) rps: f64,
    pub(crate) fail_per_sec: f64,
    pub(crate) avg_ms: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p95_ms: f64,
    pub(crate) p99_ms: f64,
}

impl From<&HistoryPoint> for ChartPoint {
    fn from(p: &HistoryPoint) -> Self {
        ChartPoint {
            timestamp: p.timestamp,
            users: p.users,
            rps: round6(p.rps),
            fail_per_sec: round6(p.fail_per_sec),
            avg_ms: round6(p.avg_ms),
            p50_ms: round6(p.p50_ms),
            p95_ms: round6(p.p95_ms),
            p99_ms: round6(p.p99_ms),
        }
    }
}

/// `GET /api/stats/history`: parallel arrays, oldest first.
#[derive(Serialize, Default, Debug, PartialEq)]
pub(crate) struct ChartSeries {
    pub(crate) resolution: &'static str,
    pub(crate) interval_secs: u64,
    pub(crate) timestamp: Vec<u64>,
    pub(crate) users: Vec<u64>,
    pub(crate) rps: Vec<f64>,
    pub(crate) fail_per_sec: Vec<f64>,
    pub(crate) avg_ms: Vec<f64>,
    pub(crate) p50_ms: Vec<f64>,
    pub(crate) p95_ms: Vec<f64>,
    pub(crate) p99_ms: Vec<f64>,
}

impl ChartSeries {
    fn push(&mut self, p: &HistoryPoint) {
        let c = ChartPoint::from(p);
        self.timestamp.push(c.timestamp);
        self.users.push(c.users);
        self.rps.push(c.rps);
        self.fail_per_sec.push(c.fail_per_sec);
        self.avg_ms.push(c.avg_ms);
        self.p50_ms.push(c.p50_ms);
        self.p95_ms.push(c.p95_ms);
        self.p99_ms.push(c.p99_ms);
    }
}

/// The chosen history ring as columns.
pub(crate) fn series(stats: &Stats, resolution: Resolution) -> ChartSeries {
    let mut out = ChartSeries {
        resolution: match resolution {
            Resolution::Second => "second",
            Resolution::Minute => "minute",
        },
        interval_secs: resolution.seconds(),
        ..ChartSeries::default()
    };
    match resolution {
        Resolution::Second => stats.history().for_each(|p| out.push(p)),
        Resolution::Minute => stats.long_history().for_each(|p| out.push(p)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cicada_stats::{Interval, RequestKey, StatsConfig};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn columns_follow_the_rings() {
        let mut stats = Stats::new(StatsConfig {
            history_len: 3,
            ..StatsConfig::default()
        });
        let key = RequestKey::new("GET", "/");
        for s in 0..5u64 {
            let mut i = Interval::new();
            i.record(&key, Duration::from_millis(10), 1, None);
            stats.apply(i, UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s), 2);
        }
        let s = series(&stats, Resolution::Second);
        assert_eq!(s.timestamp.len(), 3, "bounded by the ring");
        assert_eq!(s.users, vec![2, 2, 2]);
        assert_eq!(s.rps.len(), 3);
        assert!(s.timestamp.windows(2).all(|w| w[0] < w[1]));
        let long = series(&stats, Resolution::Minute);
        assert_eq!((long.interval_secs, long.resolution), (60, "minute"));
    }
}
