//! The gRPC service: one stream per worker. The first message must be a hello; a worker with
//! the wrong token or protocol is refused with the reason (and the master logs it). Then every
//! message updates the worker's entry in the shared state, statistics are merged once each
//! (by sequence number) and acknowledged, and a stream that ends without a goodbye leaves the
//! entry in place until the worker timeout (the worker may still be running users).

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::master::Shared;
use crate::master::arrivals::WorkerArrivals;
use crate::master::state::WorkerEntry;
use crate::proto::cluster_server::Cluster;
use crate::proto::{
    Heartbeat, HeartbeatReply, Hello, MasterMessage, Refused, StatsReport, Welcome, WorkerMessage,
    WorkerState, master_message, worker_message,
};
use crate::{CICADA_VERSION, PROTOCOL_VERSION, version_mismatch};

/// Messages queued to one worker before the master stops waiting for it (a worker that reads
/// nothing for this long is as good as dead).
const OUTBOX: usize = 256;

/// How long a new stream may take to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest worker id accepted (a Kubernetes pod name is at most 253 characters). The id is a
/// key of the master's worker table and appears in logs, the UI and `/api/workers` for as long
/// as the worker lives, so it must not be as large as a gRPC message (64 MiB) allows.
pub const MAX_WORKER_ID_LEN: usize = 253;

/// Longest scenario error kept from a worker's heartbeat (bytes); longer ones are cut at a
/// character boundary. Kept per worker and shown in the UI, so bounded like the id.
pub const MAX_WORKER_ERROR_LEN: usize = 1024;

/// The service (cheap to clone).
#[derive(Clone)]
pub(crate) struct ClusterService {
    pub shared: Arc<Shared>,
}

type MasterStream = Pin<Box<dyn Stream<Item = Result<MasterMessage, Status>> + Send>>;

fn msg(kind: master_message::Kind) -> MasterMessage {
    MasterMessage { kind: Some(kind) }
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    type SessionStream = MasterStream;

    async fn session(
        &self,
        request: Request<Streaming<WorkerMessage>>,
    ) -> Result<Response<Self::SessionStream>, Status> {
        let peer = request
            .remote_addr()
            .map_or_else(|| "?".to_owned(), |a| a.to_string());
        let mut inbound = request.into_inner();
        let first = tokio::time::timeout(HELLO_TIMEOUT, inbound.next())
            .await
            .map_err(|_| Status::deadline_exceeded("no hello within 10 s"))?;
        let hello = match first {
            Some(Ok(WorkerMessage {
                kind: Some(worker_message::Kind::Hello(h)),
            })) => h,
            Some(Err(e)) => return Err(e),
            _ => {
                return Err(Status::invalid_argument(
                    "the first message must be a hello",
                ));
            }
        };
        let (tx, rx) = mpsc::channel(OUTBOX);
        if let Some(reason) = self.refusal(&hello) {
            tracing::warn!(worker_id = %hello.worker_id, %peer, "refused a worker: {reason}");
            let _ = tx
                .send(msg(master_message::Kind::Refused(Refused {
                    reason,
                    protocol_version: PROTOCOL_VERSION,
                    cicada_version: CICADA_VERSION.to_owned(),
                })))
                .await;
            return Ok(Response::new(Box::pin(ReceiverStream::new(rx).map(Ok))));
        }
        let conn = self.register(&hello, tx.clone());
        tracing::info!(
            worker_id = %hello.worker_id,
            %peer,
            users = hello.running.iter().map(|t| t.users).sum::<u64>(),
            "worker connected"
        );
        let shared = self.shared.clone();
        let id = hello.worker_id.clone();
        tokio::spawn(async move {
            read_loop(&shared, &id, conn, &tx, inbound).await;
            shared.disconnected(&id, conn);
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx).map(Ok))))
    }
}

impl ClusterService {
    fn refusal(&self, hello: &Hello) -> Option<String> {
        if let Some(problem) = worker_id_problem(&hello.worker_id) {
            return Some(problem);
        }
        if let Some(m) = version_mismatch(
            "worker",
            hello.protocol_version,
            &hello.cicada_version,
            "master",
        ) {
            return Some(m);
        }
        match &self.shared.token {
            Some(token) if !constant_time_eq(token.as_bytes(), hello.cluster_token.as_bytes()) => {
                Some(if hello.cluster_token.is_empty() {
                    "this master requires a cluster token (--cluster-token or \
                     CICADA_CLUSTER_TOKEN) and the worker sent none"
                        .into()
                } else {
                    "wrong cluster token (--cluster-token or CICADA_CLUSTER_TOKEN)".into()
                })
            }
            _ => None,
        }
    }

    /// Adds or refreshes the worker's entry and queues welcome, scenario and assignment.
    fn register(&self, hello: &Hello, tx: mpsc::Sender<MasterMessage>) -> u64 {
        let mut state = self.shared.lock();
        let conn = state.next_conn;
        state.next_conn += 1;
        let running = state.counts_of(&hello.running);
        let adopting = state.adopting();
        let known = state.workers.contains_key(&hello.worker_id);
        if !known && adopting {
            // A restarted master learns the load from its workers instead of doubling it.
            for (d, r) in state.desired.totals.iter_mut().zip(&running) {
                *d += r;
            }
            if hello.spawn_rate > 0.0 && running.iter().any(|&n| n > 0) {
                state.desired.rate = hello.spawn_rate;
            }
        }
        let now = Instant::now();
        let entry = state
            .workers
            .entry(hello.worker_id.clone())
            .or_insert_with(|| WorkerEntry {
                conn,
                tx: None,
                last_seen: now,
                last_seen_wall: SystemTime::now(),
                state: WorkerState::Ready,
                cpu_percent: 0.0,
                memory_bytes: 0,
                running: running.clone(),
                // What it runs is what it has: nothing moves until the balancer says so.
                assigned: running.clone(),
                sent: None,
                stats_applied: 0,
                error: String::new(),
                arrivals: WorkerArrivals::default(),
            });
        entry.conn = conn;
        entry.tx = Some(tx.clone());
        entry.last_seen = now;
        entry.last_seen_wall = SystemTime::now();
        entry.running = running;
        entry.sent = None;
        entry.arrivals.sent = None;
        let assigned = entry.assigned.clone();
        let _ = tx.try_send(msg(master_message::Kind::Welcome(Welcome {
            protocol_version: PROTOCOL_VERSION,
            cicada_version: CICADA_VERSION.to_owned(),
            heartbeat_ms: 1000,
            stats_ms: 2000,
        })));
        if hello.scenario_digest != state.scenario.digest {
            let _ = tx.try_send(msg(master_message::Kind::Scenario(state.scenario.clone())));
        }
        if let Some(mix) = &state.mix {
            let _ = tx.try_send(msg(master_message::Kind::Mix(mix.clone())));
        }
        let rate = state.desired.rate;
        let assignment = state.assignment(&assigned, rate);
        if tx.try_send(assignment).is_ok()
            && let Some(e) = state.workers.get_mut(&hello.worker_id)
        {
            e.sent = Some(assigned);
        }
        conn
    }
}

/// Compares secrets without an early exit on the first differing byte.
/// Why a worker id is refused, if it is: empty, or longer than [`MAX_WORKER_ID_LEN`].
fn worker_id_problem(id: &str) -> Option<String> {
    if id.trim().is_empty() {
        return Some("the worker sent no id (give --worker-id)".into());
    }
    if id.len() > MAX_WORKER_ID_LEN {
        return Some(format!(
            "the worker id is {} bytes long; at most {MAX_WORKER_ID_LEN} are accepted",
            id.len()
        ));
    }
    None
}

/// Cuts `s` to at most `max` bytes, at a character boundary.
fn truncate_at_char(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn read_loop(
    shared: &Shared,
    id: &str,
    conn: u64,
    tx: &mpsc::Sender<MasterMessage>,
    mut inbound: Streaming<WorkerMessage>,
) {
    while let Some(item) = inbound.next().await {
        let Ok(message) = item else {
            break;
        };
        let reply = match message.kind {
            Some(worker_message::Kind::Heartbeat(h)) => shared.heartbeat(id, conn, h),
            Some(worker_message::Kind::Stats(report)) => shared.stats(id, conn, report),
            Some(worker_message::Kind::Goodbye(g)) => {
                shared.goodbye(id, conn, &g.reason);
                return;
            }
            Some(worker_message::Kind::Hello(_)) | None => None,
        };
        if let Some(acked) = reply {
            let _ = tx.try_send(msg(master_message::Kind::HeartbeatReply(HeartbeatReply {
                stats_acked: acked,
            })));
        }
    }
}

impl Shared {
    /// Updates the worker's entry; returns the statistics acknowledgement to send back.
    fn heartbeat(&self, id: &str, conn: u64, mut h: Heartbeat) -> Option<u64> {
        let mut guard = self.lock();
        let running = guard.counts_of(&h.running);
        let state = &mut *guard;
        let entry = state.workers.get_mut(id).filter(|e| e.conn == conn)?;
        state
            .retired_arrivals
            .note(&mut entry.arrivals, h.arrivals.as_ref());
        entry.last_seen = Instant::now();
        entry.last_seen_wall = SystemTime::now();
        entry.state = WorkerState::try_from(h.state).unwrap_or(WorkerState::Unspecified);
        entry.cpu_percent = h.cpu_percent;
        entry.memory_bytes = h.memory_bytes;
        entry.running = running;
        truncate_at_char(&mut h.error, MAX_WORKER_ERROR_LEN);
        if h.error != entry.error {
            if !h.error.is_empty() {
                tracing::error!(worker_id = %id, "worker cannot run the scenario: {}", h.error);
            }
            entry.error = h.error;
        }
        Some(entry.stats_applied)
    }

    /// Merges a statistics report once (by its sequence number).
    fn stats(&self, id: &str, conn: u64, report: StatsReport) -> Option<u64> {
        let acked = {
            let mut state = self.lock();
            let entry = state.workers.get_mut(id).filter(|e| e.conn == conn)?;
            entry.last_seen = Instant::now();
            entry.last_seen_wall = SystemTime::now();
            if report.seq <= entry.stats_applied {
                return Some(entry.stats_applied);
            }
            entry.stats_applied = report.seq;
            report.seq
        };
        if let Err(e) = self.merge_stats(&report.interval) {
            tracing::warn!(worker_id = %id, seq = report.seq, "dropped a statistics report: {e}");
        }
        Some(acked)
    }

    fn goodbye(&self, id: &str, conn: u64, reason: &str) {
        let mut state = self.lock();
        if state.workers.get(id).is_some_and(|e| e.conn == conn)
            && let Some(e) = state.workers.remove(id)
        {
            tracing::info!(
                worker_id = %id,
                reason,
                users = e.assigned.iter().sum::<u64>(),
                "worker left; its users move to the others"
            );
        }
    }

    fn disconnected(&self, id: &str, conn: u64) {
        let mut state = self.lock();
        if let Some(e) = state.workers.get_mut(id).filter(|e| e.conn == conn) {
            e.tx = None;
            tracing::warn!(worker_id = %id, "worker disconnected; waiting for it to come back");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_ids_are_bounded() {
        assert!(worker_id_problem("cicada-worker-7d9f8").is_none());
        assert!(worker_id_problem(&"w".repeat(MAX_WORKER_ID_LEN)).is_none());
        assert!(worker_id_problem("  ").is_some_and(|m| m.contains("no id")));
        let long = "w".repeat(MAX_WORKER_ID_LEN + 1);
        assert!(worker_id_problem(&long).is_some_and(|m| m.contains("254 bytes")));
    }

    #[test]
    fn worker_errors_are_cut_at_a_char_boundary() {
        let mut short = "bad scenario".to_string();
        truncate_at_char(&mut short, MAX_WORKER_ERROR_LEN);
        assert_eq!(short, "bad scenario");
        // 'é' is two bytes: a cut in its middle moves back to before it.
        let mut long = format!(
            "{}é{}",
            "x".repeat(MAX_WORKER_ERROR_LEN - 1),
            "y".repeat(5000)
        );
        truncate_at_char(&mut long, MAX_WORKER_ERROR_LEN);
        assert_eq!(long.len(), MAX_WORKER_ERROR_LEN - 1);
        assert!(long.chars().all(|c| c == 'x'));
    }
}
