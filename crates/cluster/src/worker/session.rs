//! One agent's life: connect, hello, then heartbeats, statistics and the master's commands,
//! until the stream breaks (reconnect) or shutdown (final statistics and goodbye).

use std::time::Duration;

use rand::RngExt;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Channel, Endpoint};

use crate::proto::cluster_client::ClusterClient;
use crate::proto::{
    Goodbye, Heartbeat, Hello, MasterMessage, StatsReport, WorkerMessage, WorkerState,
    master_message, worker_message,
};
use crate::worker::{Agent, WorkerError};
use crate::{CICADA_VERSION, PROTOCOL_VERSION, version_mismatch};

/// Heartbeat period.
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Statistics period.
const STATS: Duration = Duration::from_secs(2);
/// A master silent this long is gone: reconnect.
const MASTER_SILENCE: Duration = Duration::from_secs(5);
/// How long to wait for the welcome after connecting.
const WELCOME_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the last statistics may take to be acknowledged on shutdown.
const FINAL_ACK: Duration = Duration::from_secs(3);

/// How a session ended.
enum End {
    /// The stream broke or the master went silent: reconnect.
    Lost(String),
    /// Shutdown finished (goodbye sent).
    Done,
}

pub(crate) async fn run(agent: &mut Agent<'_>) -> Result<(), WorkerError> {
    let scheme = if agent.config.tls.enabled() {
        "https"
    } else {
        "http"
    };
    let uri = format!(
        "{scheme}://{}:{}",
        agent.config.master_host, agent.config.master_port
    );
    let mut endpoint = Endpoint::from_shared(uri.clone())
        .map_err(|_| WorkerError::Address(uri.clone()))?
        .connect_timeout(Duration::from_secs(5))
        .http2_keep_alive_interval(Duration::from_secs(5))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true);
    if let Some(tls) = agent.config.tls.client(&agent.config.master_host)? {
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| WorkerError::Tls(crate::tls::TlsError::Invalid(e.to_string())))?;
    }
    let mut attempts = 0u32;
    let mut orphaned_since: Option<Instant> = None;
    let mut told_lost = false;
    loop {
        if agent.shutdown.is_cancelled() {
            shutdown_users(agent).await;
            return Ok(());
        }
        match endpoint.connect().await {
            Ok(channel) => {
                attempts = 0;
                match session(agent, channel, &uri).await? {
                    End::Done => return Ok(()),
                    End::Lost(why) => {
                        tracing::warn!(master = %uri, "lost the master ({why}); users keep running; reconnecting");
                        told_lost = true;
                        orphaned_since = Some(Instant::now());
                        agent.outbox.resend_all();
                    }
                }
            }
            Err(e) => {
                if !told_lost {
                    tracing::warn!(master = %uri, "cannot reach the master ({e}); retrying");
                    told_lost = true;
                }
                orphaned_since.get_or_insert_with(Instant::now);
            }
        }
        // Keep measuring while away: statistics wait in the outbox.
        agent.take_stats();
        if let (Some(limit), Some(since)) = (agent.config.orphan_timeout, orphaned_since)
            && since.elapsed() >= limit
            && !agent.assignment.is_empty()
        {
            tracing::warn!(?limit, "no master for the orphan timeout; stopping users");
            agent.stop_users();
        }
        attempts = attempts.saturating_add(1);
        let pause = backoff(attempts, agent.config.max_backoff);
        tokio::select! {
            _ = agent.shutdown.cancelled() => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// Capped exponential backoff with jitter: 0.25 s, 0.5 s, 1 s ... up to `max`, each between
/// half and all of its value, so restarted workers do not reconnect in lockstep.
fn backoff(attempts: u32, max: Duration) -> Duration {
    let base = Duration::from_millis(250).saturating_mul(1 << attempts.min(10).saturating_sub(1));
    let capped = base.min(max);
    capped.mul_f64(rand::rng().random_range(0.5..=1.0))
}

fn send(tx: &mpsc::Sender<WorkerMessage>, kind: worker_message::Kind) -> bool {
    tx.try_send(WorkerMessage { kind: Some(kind) }).is_ok()
}

async fn session(agent: &mut Agent<'_>, channel: Channel, uri: &str) -> Result<End, WorkerError> {
    let (tx, rx) = mpsc::channel::<WorkerMessage>(256);
    send(
        &tx,
        worker_message::Kind::Hello(Hello {
            protocol_version: PROTOCOL_VERSION,
            cicada_version: CICADA_VERSION.to_owned(),
            worker_id: agent.config.id.clone(),
            cluster_token: agent.config.token.clone().unwrap_or_default(),
            running: agent.running_counts(),
            scenario_digest: agent.digest(),
            spawn_rate: agent.rate,
        }),
    );
    let mut client = ClusterClient::new(channel).max_decoding_message_size(64 * 1024 * 1024);
    let mut inbound = match client.session(ReceiverStream::new(rx)).await {
        Ok(response) => response.into_inner(),
        Err(status) => return Ok(End::Lost(status.message().to_owned())),
    };
    // Welcome or refusal first.
    let first = match tokio::time::timeout(WELCOME_TIMEOUT, inbound.next()).await {
        Err(_) => return Ok(End::Lost("no welcome within 10 s".into())),
        Ok(None) => return Ok(End::Lost("the master closed the stream".into())),
        Ok(Some(Err(status))) => return Ok(End::Lost(status.message().to_owned())),
        Ok(Some(Ok(m))) => m,
    };
    match first.kind {
        Some(master_message::Kind::Welcome(w)) => {
            if let Some(m) =
                version_mismatch("master", w.protocol_version, &w.cicada_version, "worker")
            {
                return Err(WorkerError::Version(m));
            }
        }
        Some(master_message::Kind::Refused(r)) => return Err(WorkerError::Refused(r.reason)),
        _ => return Ok(End::Lost("the master did not welcome this worker".into())),
    }
    tracing::info!(master = %uri, id = %agent.config.id, "connected to the master");
    // Statistics that a previous master never acknowledged go first.
    for (seq, interval) in agent.outbox.unsent() {
        send(
            &tx,
            worker_message::Kind::Stats(StatsReport { seq, interval }),
        );
    }
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut stats = tokio::time::interval_at(Instant::now() + STATS, STATS);
    stats.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            biased;
            _ = agent.shutdown.cancelled() => {
                return Ok(goodbye(agent, &tx, &mut inbound).await);
            }
            message = inbound.next() => match message {
                Some(Ok(m)) => {
                    last_heard = Instant::now();
                    handle(agent, m);
                }
                Some(Err(status)) => return Ok(End::Lost(status.message().to_owned())),
                None => return Ok(End::Lost("the master closed the stream".into())),
            },
            _ = heartbeat.tick() => {
                if last_heard.elapsed() >= MASTER_SILENCE {
                    return Ok(End::Lost("the master went silent".into()));
                }
                if !send(&tx, worker_message::Kind::Heartbeat(heartbeat_of(agent, false))) {
                    return Ok(End::Lost("the stream is blocked".into()));
                }
            }
            _ = stats.tick() => {
                agent.take_stats();
                for (seq, interval) in agent.outbox.unsent() {
                    send(&tx, worker_message::Kind::Stats(StatsReport { seq, interval }));
                }
            }
        }
    }
}

fn handle(agent: &mut Agent<'_>, message: MasterMessage) {
    match message.kind {
        Some(master_message::Kind::Scenario(update)) => agent.apply_scenario(&update),
        Some(master_message::Kind::Assign(a)) => agent.set_assignment(a.users, a.spawn_rate),
        Some(master_message::Kind::Stop(_)) => agent.stop_users(),
        Some(master_message::Kind::Mix(update)) => agent.set_mix(&update),
        Some(master_message::Kind::Arrivals(update)) => agent.set_arrivals(&update),
        Some(master_message::Kind::HeartbeatReply(r)) => agent.outbox.ack(r.stats_acked),
        Some(master_message::Kind::Welcome(_) | master_message::Kind::Refused(_)) | None => {}
    }
}

fn heartbeat_of(agent: &mut Agent<'_>, stopping: bool) -> Heartbeat {
    agent.publish_users();
    let sample = agent.sampler.sample();
    let state = if stopping {
        WorkerState::Stopping
    } else {
        match agent.running.as_ref().map(|r| r.engine.status().state) {
            None | Some(cicada_engine::EngineState::Ready) => WorkerState::Ready,
            Some(cicada_engine::EngineState::Spawning) => WorkerState::Spawning,
            Some(cicada_engine::EngineState::Running) => WorkerState::Running,
            Some(cicada_engine::EngineState::Stopped) => WorkerState::Stopped,
            Some(cicada_engine::EngineState::Finished) => WorkerState::Stopping,
        }
    };
    Heartbeat {
        state: state as i32,
        cpu_percent: sample.cpu_percent,
        memory_bytes: sample.memory_bytes,
        running: agent.running_counts(),
        error: agent.error.clone(),
        arrivals: Some(crate::master::arrivals::to_proto(agent.arrival_counts())),
    }
}

/// Stops the users for good and waits (bounded) for their in-flight requests.
async fn shutdown_users(agent: &mut Agent<'_>) {
    if let Some(running) = &agent.running {
        running.stop.cancel();
        let finished =
            tokio::time::timeout(agent.config.stop_timeout, running.engine.finished()).await;
        if finished.is_err() {
            tracing::warn!("some users were still busy at the stop timeout");
        }
    }
}

/// SIGTERM: tell the master (so it moves our users at once), stop users, send the last
/// statistics, wait briefly for their acknowledgement, say goodbye.
async fn goodbye(
    agent: &mut Agent<'_>,
    tx: &mpsc::Sender<WorkerMessage>,
    inbound: &mut tonic::Streaming<MasterMessage>,
) -> End {
    send(
        tx,
        worker_message::Kind::Heartbeat(heartbeat_of(agent, true)),
    );
    shutdown_users(agent).await;
    agent.take_stats();
    for (seq, interval) in agent.outbox.unsent() {
        send(
            tx,
            worker_message::Kind::Stats(StatsReport { seq, interval }),
        );
    }
    let deadline = Instant::now() + FINAL_ACK;
    while !agent.outbox.is_empty() {
        match tokio::time::timeout_at(deadline, inbound.next()).await {
            Ok(Some(Ok(m))) => {
                if let Some(master_message::Kind::HeartbeatReply(r)) = m.kind {
                    agent.outbox.ack(r.stats_acked);
                }
            }
            _ => break,
        }
    }
    if !agent.outbox.is_empty() {
        tracing::warn!(
            reports = agent.outbox.len(),
            "the master did not acknowledge the last statistics"
        );
    }
    send(
        tx,
        worker_message::Kind::Goodbye(Goodbye {
            reason: "shutting down".into(),
        }),
    );
    // Let the goodbye leave before the stream is dropped.
    tokio::time::sleep(Duration::from_millis(100)).await;
    End::Done
}
