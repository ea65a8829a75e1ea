//! A bounded, in-memory ring of recent warnings and errors, for the web UI's Logs tab.
//!
//! [`LogBuffer::layer`] is a `tracing` layer that copies every WARN and ERROR event (whatever
//! `--log-level` says for the console) into a ring of at most `capacity` events; older events
//! fall out. Each event's text is capped at [`MAX_EVENT_CHARS`], so the ring's memory is bounded
//! (500 events × ~2 KiB ≈ 1 MiB at worst) for a process that runs for weeks.
//!
//! Readers poll by sequence number: [`LogBuffer::since`] returns what came after the last event
//! they saw, and [`LogBuffer::last_seq`] tells a live view whether there is anything new
//! without copying. The lock is held only to push or copy, never across an `.await`.
//!
//! Nothing cicada logs contains secrets (request headers and bodies are never logged), and each
//! message is scrubbed of secret shapes (`cicada_redact::scrub`) as the console's lines are, so
//! the ring holds only what the console shows.

use std::collections::VecDeque;
use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Events kept by default.
pub const DEFAULT_CAPACITY: usize = 500;
/// Longest event text kept (characters); longer texts are cut and end with `…`.
pub const MAX_EVENT_CHARS: usize = 2000;

/// One recorded warning or error.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LogEvent {
    /// Increasing number, starting at 1; never reused.
    pub seq: u64,
    /// When it happened, Unix milliseconds.
    pub time_ms: u64,
    /// `WARN` or `ERROR`.
    pub level: &'static str,
    /// The module that logged it (e.g. `cicada_control::controller`).
    pub target: String,
    /// Which part of cicada logged it (`engine`, `control`, `cluster.worker`, `cli`, ...): the
    /// event's own `component` field, else derived from `target` as the JSON log lines'
    /// `component` is ([`crate::json::component`]).
    pub component: String,
    /// The message followed by its fields (`message key=value ...`).
    pub message: String,
}

struct Ring {
    events: VecDeque<LogEvent>,
    capacity: usize,
    last_seq: u64,
}

/// A shared ring of recent warnings and errors (cheap to clone; see the module docs).
#[derive(Clone)]
pub struct LogBuffer {
    ring: Arc<Mutex<Ring>>,
}

impl fmt::Debug for LogBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ring = self.lock();
        f.debug_struct("LogBuffer")
            .field("events", &ring.events.len())
            .field("capacity", &ring.capacity)
            .field("last_seq", &ring.last_seq)
            .finish()
    }
}

impl Default for LogBuffer {
    fn default() -> Self {
        LogBuffer::new(DEFAULT_CAPACITY)
    }
}

impl LogBuffer {
    /// An empty ring keeping at most `capacity` events (0 keeps none, but still counts).
    pub fn new(capacity: usize) -> Self {
        LogBuffer {
            ring: Arc::new(Mutex::new(Ring {
                events: VecDeque::with_capacity(capacity.min(DEFAULT_CAPACITY)),
                capacity,
                last_seq: 0,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        // A panic while pushing leaves a consistent ring (push is one statement); keep going.
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records an event (tests call this; the layer uses [`LogBuffer::push_with`]), its
    /// component derived from `target`. The text is capped at [`MAX_EVENT_CHARS`].
    pub fn push(&self, level: Level, target: &str, message: &str) {
        self.push_with(level, target, crate::json::component(target), message);
    }

    /// Records an event with its component. The text is capped at [`MAX_EVENT_CHARS`].
    pub fn push_with(&self, level: Level, target: &str, component: &str, message: &str) {
        let level = if level == Level::ERROR {
            "ERROR"
        } else if level == Level::WARN {
            "WARN"
        } else if level == Level::INFO {
            "INFO"
        } else if level == Level::DEBUG {
            "DEBUG"
        } else {
            "TRACE"
        };
        let time_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        // The UI shows these lines: scrubbed like the console's (see `cicada-redact`).
        let message = cap(&cicada_redact::scrub(message));
        let mut ring = self.lock();
        ring.last_seq += 1;
        let seq = ring.last_seq;
        if ring.capacity == 0 {
            return;
        }
        while ring.events.len() >= ring.capacity {
            ring.events.pop_front();
        }
        ring.events.push_back(LogEvent {
            seq,
            time_ms,
            level,
            target: cap(target),
            component: cap(component),
            message,
        });
    }

    /// The kept events with a sequence number above `after`, oldest first (`since(0)`: all).
    pub fn since(&self, after: u64) -> Vec<LogEvent> {
        let ring = self.lock();
        ring.events
            .iter()
            .filter(|e| e.seq > after)
            .cloned()
            .collect()
    }

    /// The sequence number of the newest event ever pushed (0: none yet).
    pub fn last_seq(&self) -> u64 {
        self.lock().last_seq
    }

    /// A `tracing` layer that copies WARN and ERROR events into this ring.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: Subscriber + for<'span> LookupSpan<'span>,
    {
        RingLayer {
            buffer: self.clone(),
        }
        .with_filter(LevelFilter::WARN)
    }
}

/// Cuts `s` to [`MAX_EVENT_CHARS`] characters.
fn cap(s: &str) -> String {
    match s.char_indices().nth(MAX_EVENT_CHARS) {
        None => s.to_owned(),
        Some((at, _)) => {
            let mut out = s[..at].to_owned();
            out.push('…');
            out
        }
    }
}

struct RingLayer {
    buffer: LogBuffer,
}

impl<S: Subscriber> Layer<S> for RingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut text = Text::default();
        event.record(&mut text);
        let meta = event.metadata();
        let component = text
            .component
            .take()
            .unwrap_or_else(|| crate::json::component(meta.target()).to_owned());
        self.buffer
            .push_with(*meta.level(), meta.target(), &component, &text.finish());
    }
}

/// Collects an event's message and fields as `message key=value ...`, bounded while it is
/// built (a huge field cannot allocate more than the cap plus one field's formatting).
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
    /// The event's `component` field (shown in its own column, not among the fields).
    component: Option<String>,
}

impl Text {
    fn finish(self) -> String {
        let mut out = self.message;
        if !self.fields.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(self.fields.trim_start());
        }
        out
    }

    fn full(&self) -> bool {
        self.message.len() + self.fields.len() > MAX_EVENT_CHARS * 4
    }
}

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.full() {
            return;
        }
        if field.name() == "message" {
            self.message.push_str(value);
        } else if field.name() == "component" {
            self.component = Some(value.to_owned());
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.full() {
            return;
        }
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else if field.name() == "component" {
            self.component = Some(format!("{value:?}"));
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    #[test]
    fn ring_is_bounded_and_numbered() {
        let buffer = LogBuffer::new(3);
        for i in 0..10 {
            buffer.push(Level::WARN, "t", &format!("event {i}"));
        }
        let all = buffer.since(0);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].seq, 8);
        assert_eq!(all[2].message, "event 9");
        assert_eq!(buffer.last_seq(), 10);
        assert_eq!(buffer.since(9).len(), 1);
        assert!(buffer.since(10).is_empty());
        let none = LogBuffer::new(0);
        none.push(Level::ERROR, "t", "x");
        assert_eq!((none.since(0).len(), none.last_seq()), (0, 1));
    }

    #[test]
    fn long_texts_are_cut() {
        let buffer = LogBuffer::new(2);
        buffer.push(Level::WARN, "t", &"é".repeat(MAX_EVENT_CHARS + 50));
        let e = &buffer.since(0)[0];
        assert_eq!(e.message.chars().count(), MAX_EVENT_CHARS + 1);
        assert!(e.message.ends_with('…'));
    }

    #[test]
    fn layer_keeps_warnings_and_errors_only() {
        let buffer = LogBuffer::new(10);
        let subscriber = tracing_subscriber::registry().with(buffer.layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("not kept");
            tracing::warn!(users = 3, host = "http://x", "slow start");
            tracing::error!("broken");
            tracing::debug!("not kept either");
        });
        let events = buffer.since(0);
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0].level, "WARN");
        assert_eq!(events[0].message, "slow start users=3 host=http://x");
        assert_eq!(events[1].level, "ERROR");
        assert_eq!(events[1].message, "broken");
        assert!(events[0].target.contains("logs"));
        // This test's target is `cicada_telemetry::logs::tests`.
        assert_eq!(events[0].component, "telemetry");
    }

    #[test]
    fn the_component_is_the_json_lines_one() {
        let buffer = LogBuffer::new(10);
        let subscriber = tracing_subscriber::registry().with(buffer.layer());
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "cicada_cluster::worker::agent", "master gone");
            tracing::warn!(component = "shape", users = 2, "set by the event");
            tracing::warn!(target: "cicada", "from the binary");
        });
        let events = buffer.since(0);
        let got: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e.component.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("cluster.worker", "master gone"),
                ("shape", "set by the event users=2"),
                ("cli", "from the binary"),
            ]
        );
        buffer.push(Level::ERROR, "cicada_engine::user", "x");
        assert_eq!(buffer.since(3)[0].component, "engine");
        let json = serde_json::to_value(&buffer.since(3)[0]).unwrap();
        assert_eq!(json["component"], "engine");
    }

    #[test]
    fn messages_are_scrubbed() {
        let buffer = LogBuffer::new(2);
        buffer.push(
            Level::WARN,
            "t",
            "retry with Authorization: Bearer abcdefghijkl token=xyz",
        );
        let e = &buffer.since(0)[0];
        assert_eq!(
            e.message,
            "retry with Authorization: Bearer [redacted] token=[redacted]"
        );
    }
}
