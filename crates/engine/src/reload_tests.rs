//! Hot reload ([`EngineHandle::apply_plan`]): users switch at their next task pick and keep
//! their variables; users of a removed type are retired; per-type counts follow the new plan;
//! a removed task is never picked again. Behaviour only: every wait is "until", bounded.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use cicada_stats::Recorder;
use cicada_testkit::RecordingServer;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::*;
use crate::user::{TaskError, TaskInfo, User, UserType};

fn config(host: &str) -> EngineConfig {
    EngineConfig {
        host: Url::parse(host).expect("url"),
        client: crate::client::ClientConfig::default(),
        seed: 7,
        trace: TraceConfig::default(),
        spans: None,
    }
}

/// Waits (bounded) until `f` holds.
async fn until(what: &str, f: impl Fn() -> bool) {
    for _ in 0..400 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

fn yaml_plan(task_path: &str) -> Arc<Plan> {
    let text = format!(
        "users:\n  - name: A\n    wait: {{ constant: 10ms }}\n    on_start:\n      - request: \
         {{ name: Login, method: POST, path: /api/v1/auth/login, extract: {{ token: \
         \"$.data.token\" }} }}\n    tasks:\n      - {{ name: t, request: {{ name: t, path: \
         \"{task_path}?token={{{{ token }}}}\" }} }}\n"
    );
    let scenario =
        cicada_scenario::parse_str(&text, "t.yaml", std::path::Path::new(".")).expect("parses");
    let types = crate::yaml::user_types(&Arc::new(scenario));
    Arc::new(Plan::new(types, &crate::TagFilter::default()).expect("plan"))
}

/// The tokens seen on requests to `path`.
fn tokens(server: &RecordingServer, path: &str) -> HashSet<String> {
    server
        .records()
        .iter()
        .filter(|r| r.path == path)
        .filter_map(|r| r.query.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_users_switch_at_their_next_pick_keeping_their_variables() {
    let server = RecordingServer::start().await.expect("server");
    let shutdown = CancellationToken::new();
    let engine = Engine::start(
        yaml_plan("/a"),
        config(&server.url()),
        Recorder::new(),
        shutdown.clone(),
    )
    .expect("engine starts");
    engine.set_users(3, f64::INFINITY);
    until("three users on /a", || tokens(&server, "/a").len() == 3).await;
    let logins = || {
        server
            .records()
            .iter()
            .filter(|r| r.path == "/api/v1/auth/login")
            .count()
    };
    assert_eq!(logins(), 3);

    engine.apply_plan(yaml_plan("/b"));
    until("the three users on /b", || tokens(&server, "/b").len() == 3).await;
    assert_eq!(
        tokens(&server, "/b"),
        tokens(&server, "/a"),
        "each user kept the token its on_start extracted"
    );
    assert_eq!(logins(), 3, "nobody logged in again");
    // Every user has switched: /a is never picked again.
    let a_then = server.records().iter().filter(|r| r.path == "/a").count();
    let b_then = server.records().iter().filter(|r| r.path == "/b").count();
    until("more traffic on /b", || {
        server.records().iter().filter(|r| r.path == "/b").count() > b_then + 30
    })
    .await;
    let a_now = server.records().iter().filter(|r| r.path == "/a").count();
    assert_eq!(a_now, a_then, "the removed task is not picked any more");
    assert_eq!(engine.status().users, 3);
    shutdown.cancel();
    engine.finished().await;
}

/// A user type whose users only sleep, counting the users it creates.
struct Counted {
    name: &'static str,
    weight: u32,
    created: Arc<AtomicU64>,
}

struct Sleeper;

#[async_trait]
impl User for Sleeper {
    async fn run_task(&mut self, _task: usize, cx: &mut Context) -> Result<(), TaskError> {
        cx.sleep(Duration::from_millis(10))
            .await
            .map_err(|_| TaskError::Stopped)
    }
}

impl UserType for Counted {
    fn name(&self) -> &str {
        self.name
    }
    fn weight(&self) -> u32 {
        self.weight
    }
    fn tasks(&self) -> Vec<TaskInfo> {
        vec![TaskInfo::new("sleep")]
    }
    fn new_user(&self, _user_id: u64) -> Box<dyn User> {
        self.created.fetch_add(1, Ordering::SeqCst);
        Box::new(Sleeper)
    }
}

fn counted_plan(types: &[(&'static str, u32, &Arc<AtomicU64>)]) -> Arc<Plan> {
    let types: Vec<Arc<dyn UserType>> = types
        .iter()
        .map(|(name, weight, created)| {
            Arc::new(Counted {
                name,
                weight: *weight,
                created: (*created).clone(),
            }) as Arc<dyn UserType>
        })
        .collect();
    Arc::new(Plan::new(types, &crate::TagFilter::default()).expect("plan"))
}

async fn reach(engine: &EngineHandle, want: &[(&str, u64)]) {
    let mut rx = engine.subscribe();
    let done = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let status = rx.borrow_and_update().clone();
            let got: Vec<(&str, u64)> = status
                .users_by_type
                .iter()
                .map(|(n, c)| (n.as_str(), *c))
                .collect();
            if got == want && status.state == EngineState::Running {
                return;
            }
            if rx.changed().await.is_err() {
                panic!("engine ended");
            }
        }
    })
    .await;
    done.unwrap_or_else(|_| panic!("never reached {want:?}: {:?}", engine.status()));
}

/// The users a type has created once `want` have been (or 10 s passed): a user is counted
/// in the status when spawned and creates its `User` a moment later, on its own task.
async fn created(counter: &AtomicU64, want: u64) -> u64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while counter.load(Ordering::SeqCst) < want && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    counter.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_total_is_split_again_by_the_new_weights_and_removed_types_retire() {
    let (a, b, c) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let shutdown = CancellationToken::new();
    let engine = Engine::start(
        counted_plan(&[("A", 3, &a), ("B", 1, &b)]),
        config("http://127.0.0.1:9/"),
        Recorder::new(),
        shutdown.clone(),
    )
    .expect("engine starts");
    engine.set_users(8, f64::INFINITY);
    reach(&engine, &[("A", 6), ("B", 2)]).await;
    // B goes, C comes, A's weight changes: 8 users split 1:1 over A and C.
    engine.apply_plan(counted_plan(&[("A", 1, &a), ("C", 1, &c)]));
    reach(&engine, &[("A", 4), ("C", 4)]).await;
    assert_eq!(engine.status().users, 8, "the total holds");
    assert_eq!(
        created(&a, 6).await,
        6,
        "A's users were kept, not restarted"
    );
    assert_eq!(created(&c, 4).await, 4);
    assert_eq!(engine.plan().entries()[1].name, "C");
    // Later totals follow the new plan too.
    engine.set_users(2, f64::INFINITY);
    reach(&engine, &[("A", 1), ("C", 1)]).await;
    shutdown.cancel();
    engine.finished().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_type_counts_follow_type_names() {
    let (a, b, c) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let shutdown = CancellationToken::new();
    let engine = Engine::start(
        counted_plan(&[("A", 1, &a), ("B", 1, &b)]),
        config("http://127.0.0.1:9/"),
        Recorder::new(),
        shutdown.clone(),
    )
    .expect("engine starts");
    engine.set_users_by_type(vec![1, 4], f64::INFINITY);
    reach(&engine, &[("A", 1), ("B", 4)]).await;
    // B moves to the front; A is gone: its user retires, B keeps its 4 (a master sends
    // counts for new types itself).
    engine.apply_plan(counted_plan(&[("B", 1, &b), ("C", 1, &c)]));
    reach(&engine, &[("B", 4), ("C", 0)]).await;
    assert_eq!(created(&b, 4).await, 4, "B's users were kept");
    engine.set_users_by_type(vec![4, 2], f64::INFINITY);
    reach(&engine, &[("B", 4), ("C", 2)]).await;
    shutdown.cancel();
    engine.finished().await;
}
