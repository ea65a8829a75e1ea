//! The spawner's counting: totals, per-type targets and moves between types. The users here
//! send nothing (their task only sleeps), so no server is needed.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cicada_stats::Recorder;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::*;
use crate::user::{TaskError, TaskInfo, User, UserType};

struct Idle {
    name: &'static str,
    weight: u32,
}

struct IdleUser;

#[async_trait]
impl User for IdleUser {
    async fn run_task(&mut self, _task: usize, cx: &mut Context) -> Result<(), TaskError> {
        cx.sleep(Duration::from_millis(20))
            .await
            .map_err(|_| TaskError::Stopped)
    }
}

impl UserType for Idle {
    fn name(&self) -> &str {
        self.name
    }
    fn weight(&self) -> u32 {
        self.weight
    }
    fn tasks(&self) -> Vec<TaskInfo> {
        vec![TaskInfo::new("idle")]
    }
    fn new_user(&self, _user_id: u64) -> Box<dyn User> {
        Box::new(IdleUser)
    }
}

fn engine(shutdown: &CancellationToken) -> EngineHandle {
    let types: Vec<Arc<dyn UserType>> = vec![
        Arc::new(Idle {
            name: "A",
            weight: 3,
        }),
        Arc::new(Idle {
            name: "B",
            weight: 1,
        }),
    ];
    let plan = Arc::new(Plan::new(types, &crate::TagFilter::default()).expect("plan"));
    let config = EngineConfig {
        host: Url::parse("http://127.0.0.1:9/").expect("url"),
        client: crate::client::ClientConfig::default(),
        seed: 7,
        trace: TraceConfig::default(),
        spans: None,
    };
    Engine::start(plan, config, Recorder::new(), shutdown.clone()).expect("engine starts")
}

async fn reach(engine: &EngineHandle, want: &[u64]) -> EngineStatus {
    let mut rx = engine.subscribe();
    let done = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let status = rx.borrow_and_update().clone();
            let counts: Vec<u64> = status.users_by_type.iter().map(|(_, n)| *n).collect();
            if counts == want && status.state == EngineState::Running {
                return status;
            }
            if rx.changed().await.is_err() {
                panic!("engine ended");
            }
        }
    })
    .await;
    done.unwrap_or_else(|_| panic!("never reached {want:?}: {:?}", engine.status()))
}

#[tokio::test]
async fn a_total_is_split_by_weight_and_edits_keep_the_mix() {
    let shutdown = CancellationToken::new();
    let engine = engine(&shutdown);
    engine.set_users(8, f64::INFINITY);
    let status = reach(&engine, &[6, 2]).await;
    assert_eq!((status.users, status.target), (8, 8));
    engine.set_users(4, f64::INFINITY);
    reach(&engine, &[3, 1]).await;
    shutdown.cancel();
    engine.finished().await;
}

#[tokio::test]
async fn per_type_targets_move_users_between_types() {
    let shutdown = CancellationToken::new();
    let engine = engine(&shutdown);
    engine.set_users_by_type(vec![1, 4], f64::INFINITY);
    reach(&engine, &[1, 4]).await;
    // Same total, another mix: users move (one retired for each started).
    engine.set_users_by_type(vec![4, 1], f64::INFINITY);
    let status = reach(&engine, &[4, 1]).await;
    assert_eq!(status.users, 5);
    // A short list means 0 for the rest.
    engine.set_users_by_type(vec![2], f64::INFINITY);
    reach(&engine, &[2, 0]).await;
    engine.stop();
    let mut rx = engine.subscribe();
    while rx.borrow_and_update().state != EngineState::Stopped {
        rx.changed().await.expect("engine alive");
    }
    assert_eq!(engine.status().users, 0);
    shutdown.cancel();
    engine.finished().await;
}

#[tokio::test(start_paused = true)]
async fn starts_follow_the_spawn_rate_and_interleave_types() {
    let shutdown = CancellationToken::new();
    let engine = engine(&shutdown);
    engine.set_users_by_type(vec![3, 3], 2.0);
    // The first user starts at once, then two per second.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let early = engine.status();
    assert!(
        (2..=4).contains(&early.users),
        "about 3 users after 1 s at 2/s: {early:?}"
    );
    let counts: Vec<u64> = early.users_by_type.iter().map(|(_, n)| *n).collect();
    assert!(
        counts[0] >= 1 && counts[1] >= 1,
        "types interleave: {early:?}"
    );
    reach(&engine, &[3, 3]).await;
    shutdown.cancel();
    engine.finished().await;
}

#[tokio::test(start_paused = true)]
async fn arrivals_run_their_iterations_leave_and_are_capped() {
    let shutdown = CancellationToken::new();
    let engine = engine(&shutdown);
    // 50 arrivals a second, each 3 tasks of 20 ms: one user at a time takes about 16/s.
    engine.set_arrivals(Some(Arrivals {
        rate: 50.0,
        iterations: 3,
        max_users: 1,
    }));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let counts = engine.arrival_counts();
    assert!(counts.arrived >= 2, "{counts:?}");
    assert!(
        counts.dropped > 0,
        "arrivals beyond max_users are dropped: {counts:?}"
    );
    assert!(counts.active <= 1, "{counts:?}");
    assert_eq!(engine.status().users, 0, "the closed model is untouched");
    // No more arrivals: the last one leaves after its tasks.
    engine.set_arrivals(None);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = engine.arrival_counts();
    assert_eq!(after.active, 0, "{after:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(engine.arrival_counts().arrived, after.arrived);
    // A stop ends arrivals too.
    engine.set_arrivals(Some(Arrivals {
        rate: 50.0,
        iterations: 1_000,
        max_users: 3,
    }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(engine.arrival_counts().active > 0);
    engine.stop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(engine.arrival_counts().active, 0);
    shutdown.cancel();
    engine.finished().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extra_task_is_requested_while_the_mix_has_it() {
    use std::sync::atomic::{AtomicU64, Ordering};
    // A server that counts requests to /broken.
    let hits = Arc::new(AtomicU64::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/broken",
        axum::routing::get(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "broken")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let shutdown = CancellationToken::new();
    let types: Vec<Arc<dyn UserType>> = vec![Arc::new(Idle {
        name: "A",
        weight: 1,
    })];
    let plan = Arc::new(Plan::new(types, &crate::TagFilter::default()).expect("plan"));
    let recorder = Recorder::new();
    let config = EngineConfig {
        host: Url::parse(&format!("http://{addr}/")).expect("url"),
        client: crate::client::ClientConfig::default(),
        seed: 7,
        trace: TraceConfig::default(),
        spans: None,
    };
    let engine =
        Engine::start(plan, config, recorder.clone(), shutdown.clone()).expect("engine starts");
    engine.set_users(2, f64::INFINITY);
    reach(&engine, &[2]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(hits.load(Ordering::Relaxed), 0, "not in the plan's own mix");

    engine.set_task_mix(Some(&TaskMix {
        factors: vec![("idle".into(), 0.001)],
        extras: vec![crate::ExtraRequest {
            name: "Broken report".into(),
            method: http::Method::GET,
            path: "/broken".into(),
            weight: 10,
            user_type: None,
        }],
    }));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while hits.load(Ordering::Relaxed) < 5 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the extra task never ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let interval = recorder.take();
    assert!(
        format!("{interval:?}").contains("Broken report"),
        "counted under its name"
    );
    engine.set_task_mix(None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = hits.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hits.load(Ordering::Relaxed), settled, "gone with the mix");
    shutdown.cancel();
    engine.finished().await;
}
