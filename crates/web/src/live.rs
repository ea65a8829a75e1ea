//! Live updates: `GET /api/events`, a server-sent event stream.
//!
//! Each open page holds one stream. The stream sends an `update` event at once, then after every
//! aggregation tick of the controller (once a second) and right after every control action
//! (start, edit, stop, reset), so a click shows its effect without waiting for the next tick.
//!
//! The `update` payload (see `docs/api.md`):
//!
//! ```text
//! {"stats": <GET /api/stats>, "point": <newest per-second chart point> | null,
//!  "long_point": <newest per-minute chart point> | null, "workers": [<worker row>],
//!  "logs_seq": <sequence number of the newest warning/error>}
//! ```
//!
//! Memory and CPU stay flat however many pages are open and for however long:
//! - the payload is built once per (tick, control action) and shared by every stream through
//!   [`LiveCache`] (an `Arc<str>`);
//! - a stream holds no queue: it waits on `watch` channels, which keep only the newest value,
//!   so a slow client skips ticks instead of buffering them;
//! - history is not resent: a page loads `/api/stats/history` once and appends `point`s,
//!   trimming its arrays to the same length as the server's ring;
//! - streams end when the server shuts down ([`crate::AppState::close`]).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::watch;

use crate::history::ChartPoint;
use crate::state::AppState;
use crate::views::{StatsView, status_and_snapshot, to_rounded_value};
use cicada_control::WorkerInfo;

/// Comment lines sent this often on an idle stream keep proxies (and `kubectl port-forward`)
/// from closing it.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The newest payload and what it was built for: (aggregation tick, control-action count).
#[derive(Default)]
pub(crate) struct LiveCache {
    key: Option<(u64, u64)>,
    payload: Option<Arc<str>>,
}

#[derive(Serialize)]
struct Payload<'a> {
    stats: StatsView<'a>,
    point: Option<ChartPoint>,
    long_point: Option<ChartPoint>,
    workers: Vec<WorkerInfo>,
    logs_seq: u64,
}

/// The current `update` payload, built at most once per tick and control action.
pub(crate) fn payload(state: &AppState) -> Arc<str> {
    let key = (*state.controller().ticks().borrow(), state.nudge_count());
    // Holding the cache lock while building makes concurrent streams wait for one build instead
    // of each building its own. Lock order: live cache, then stats or workers (never reversed).
    let mut cache = state.live_cache();
    if cache.key == Some(key)
        && let Some(p) = &cache.payload
    {
        return p.clone();
    }
    let controller = state.controller();
    let (status, snapshot) = status_and_snapshot(controller);
    let (point, long_point) = controller.with_stats(|s| {
        (
            s.last_point().map(ChartPoint::from),
            s.long_history().last().map(ChartPoint::from),
        )
    });
    let workers = crate::workers::rows(controller);
    let value = to_rounded_value(&Payload {
        stats: StatsView::new(&status, &snapshot),
        point,
        long_point,
        workers,
        logs_seq: state.logs().map_or(0, |l| l.last_seq()),
    });
    let payload: Arc<str> = Arc::from(value.to_string());
    cache.key = Some(key);
    cache.payload = Some(payload.clone());
    payload
}

struct Subscription {
    state: AppState,
    ticks: watch::Receiver<u64>,
    nudges: watch::Receiver<u64>,
    first: bool,
}

/// The stream of `update` events for one client.
pub(crate) fn updates(state: AppState) -> impl Stream<Item = Result<Event, Infallible>> + Send {
    let sub = Subscription {
        ticks: state.controller().ticks(),
        nudges: state.nudges(),
        state,
        first: true,
    };
    futures_util::stream::unfold(sub, |mut sub| async move {
        if !sub.first {
            let closing = sub.state.closing().clone();
            tokio::select! {
                biased;
                _ = closing.cancelled() => return None,
                changed = sub.ticks.changed() => changed.ok()?,
                changed = sub.nudges.changed() => changed.ok()?,
            }
        }
        sub.first = false;
        if sub.state.is_closing() {
            return None;
        }
        let event = Event::default().event("update").data(&*payload(&sub.state));
        Some((Ok(event), sub))
    })
}

/// `GET /api/events`.
pub async fn events(State(state): State<AppState>) -> impl IntoResponse {
    (
        // nginx (and so most Kubernetes ingresses) would otherwise buffer the stream.
        [("x-accel-buffering", "no")],
        Sse::new(updates(state)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)),
    )
}
