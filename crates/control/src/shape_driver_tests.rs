//! Driver tests on a paused tokio clock with a fake fleet that records what it is told.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use cicada_engine::{ArrivalCounts, Arrivals, EngineState, EngineStatus, Plan, TagFilter, TaskMix};
use cicada_stats::{Interval, StatsConfig};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::*;
use crate::fleet::{Fleet, WorkerInfo};
use crate::{ControlError, Controller, SwarmRequest};

#[derive(Default)]
struct Fake {
    users: Mutex<Vec<(u64, f64)>>,
    arrivals: Mutex<Vec<Option<Arrivals>>>,
    mixes: Mutex<Vec<Option<TaskMix>>>,
    stops: Mutex<u32>,
}

#[async_trait]
impl Fleet for Fake {
    fn set_users(&self, users: u64, spawn_rate: f64) {
        lock(&self.users).push((users, spawn_rate));
    }
    fn stop(&self) {
        *lock(&self.stops) += 1;
    }
    fn set_host(&self, _: &Url) -> Result<(), ControlError> {
        Ok(())
    }
    fn host(&self) -> Url {
        Url::parse("http://127.0.0.1:9").expect("url")
    }
    fn status(&self) -> EngineStatus {
        let users = lock(&self.users).last().map_or(0, |u| u.0);
        EngineStatus {
            state: EngineState::Running,
            users,
            target: users,
            users_by_type: vec![],
        }
    }
    fn take(&self) -> Interval {
        Interval::default()
    }
    fn workers(&self) -> Vec<WorkerInfo> {
        vec![]
    }
    async fn shutdown(&self, _: Duration) -> bool {
        true
    }
    fn set_arrivals(&self, a: Option<Arrivals>) -> Result<(), ControlError> {
        lock(&self.arrivals).push(a);
        Ok(())
    }
    fn arrival_counts(&self) -> Option<ArrivalCounts> {
        Some(ArrivalCounts::default())
    }
    fn set_task_mix(&self, mix: Option<&TaskMix>) -> Result<(), ControlError> {
        lock(&self.mixes).push(mix.cloned());
        Ok(())
    }
}

const SCENARIO: &str = r#"
users:
  - name: A
    tasks:
      - { name: list, request: { path: /x } }
      - { name: create, request: { method: POST, path: /y } }
"#;

fn plan() -> Arc<Plan> {
    let scenario = cicada_scenario::parse_str(SCENARIO, "t.yaml", std::path::Path::new("."))
        .expect("scenario parses");
    let types = cicada_engine::yaml::user_types(&Arc::new(scenario));
    Arc::new(Plan::new(types, &TagFilter::default()).expect("plan"))
}

fn shape(text: &str) -> Shape {
    cicada_scenario::parse_shape_str(text, "shape.yaml").expect("shape parses")
}

fn controller(fake: &Arc<Fake>) -> Controller {
    Controller::with_fleet(
        plan(),
        fake.clone(),
        StatsConfig::default(),
        CancellationToken::new(),
    )
}

fn last_users(fake: &Fake) -> Option<u64> {
    lock(&fake.users).last().map(|u| u.0)
}

/// Midnight UTC of a Monday, so day curves are at their trough at the start.
fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0)
        .single()
        .expect("date")
}

#[tokio::test(start_paused = true)]
async fn stages_are_followed_on_the_scaled_clock() {
    let fake = Arc::new(Fake::default());
    let c = controller(&fake);
    let s = shape(
        "stages:\n  - { duration: 1m, users: 5, spawn_rate: 2 }\n  - { duration: 1m, users: 12 }\n",
    );
    c.attach_shape(
        s,
        ShapeOptions {
            time_scale: 60.0,
            start_virtual: None,
        },
    )
    .unwrap();
    let status = c.shape_status(Duration::from_secs(3600)).unwrap();
    assert_eq!(status.state, ShapeState::Paused);
    assert_eq!(status.paused_reason.as_deref(), Some("not started yet"));
    assert_eq!(last_users(&fake), None, "nothing steered before the start");

    c.start_shape(None).unwrap();
    assert_eq!(lock(&fake.users).as_slice(), &[(5, 2.0)], "applied at once");
    // One real second is a virtual minute: the second stage.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(last_users(&fake), Some(12));
    assert_eq!(lock(&fake.users).len(), 2, "only changes are sent");
    let status = c.shape_status(Duration::from_secs(3600)).unwrap();
    assert_eq!(status.state, ShapeState::Running);
    assert_eq!(status.point.users, 12);
    assert_eq!(status.point.stage, Some(1));
    assert!(status.curve.len() <= crate::shape_view::MAX_SHOWN_POINTS);
    assert!(status.curve.len() > 100);
}

#[tokio::test(start_paused = true)]
async fn a_swarm_by_hand_pauses_the_shape_until_resumed() {
    let fake = Arc::new(Fake::default());
    let c = controller(&fake);
    c.attach_shape(
        shape("constant: { users: 10, spawn_rate: 5 }"),
        ShapeOptions::default(),
    )
    .unwrap();
    c.start_shape(None).unwrap();
    assert_eq!(last_users(&fake), Some(10));

    c.swarm(SwarmRequest {
        users: 3,
        spawn_rate: 1.0,
        host: None,
        run_time: None,
    })
    .unwrap();
    let status = c.shape_status(Duration::from_secs(3600)).unwrap();
    assert_eq!(status.state, ShapeState::Paused);
    assert_eq!(
        status.paused_reason.as_deref(),
        Some("users changed by hand")
    );
    assert!(status.paused_since.is_some());
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        last_users(&fake),
        Some(3),
        "the paused shape does not fight"
    );

    c.resume_shape().unwrap();
    assert_eq!(last_users(&fake), Some(10), "resume re-applies the shape");
    assert_eq!(
        c.shape_status(Duration::from_secs(3600)).unwrap().state,
        ShapeState::Running
    );

    c.stop();
    let status = c.shape_status(Duration::from_secs(3600)).unwrap();
    assert_eq!(status.paused_reason.as_deref(), Some("stopped by hand"));
    c.pause_shape().unwrap();
    c.resume_shape().unwrap();
    assert_eq!(last_users(&fake), Some(10));
}

#[tokio::test(start_paused = true)]
async fn incidents_set_the_mix_and_are_logged_once_per_window() {
    let fake = Arc::new(Fake::default());
    let c = controller(&fake);
    // Every virtual hour at :10 for 20 minutes; at 3600x an hour is a real second.
    let s = shape(
        r#"
constant: 4
incidents:
  - name: storm
    cron: "10 * * * *"
    duration: 20m
    weights: { create: 5 }
    extra_task: { name: Broken, path: /broken, weight: 2 }
"#,
    );
    c.attach_shape(
        s,
        ShapeOptions {
            time_scale: 3600.0,
            start_virtual: Some(monday()),
        },
    )
    .unwrap();
    c.start_shape(None).unwrap();
    // Three virtual hours: three windows.
    tokio::time::sleep(Duration::from_millis(3050)).await;
    let status = c.shape_status(Duration::from_secs(3600)).unwrap();
    let starts = status
        .events
        .iter()
        .filter(|e| e.kind == "incident_start" && e.name.as_deref() == Some("storm"))
        .count();
    let ends = status
        .events
        .iter()
        .filter(|e| e.kind == "incident_end")
        .count();
    assert_eq!((starts, ends), (3, 3), "{:?}", status.events);
    // The curve's hour (10 minutes back, 50 ahead) is shaded by the windows it overlaps.
    let windows = &status.incident_windows;
    assert!(!windows.is_empty() && windows.len() <= 2, "{windows:?}");
    for w in windows {
        assert_eq!(w.name, "storm");
        assert_eq!(w.end - w.start, 20 * 60_000);
        assert_eq!(w.start.rem_euclid(3_600_000), 10 * 60_000, "at :10");
        assert!(w.end > status.now - 10 * 60_000 && w.start < status.now + 50 * 60_000);
    }
    let mixes = lock(&fake.mixes).clone();
    assert_eq!(mixes.len(), 6, "set at each start, cleared at each end");
    let on = mixes[0].clone().expect("a mix during the window");
    assert_eq!(on.factors, vec![("create".to_string(), 5.0)]);
    assert_eq!(&*on.extras[0].name, "Broken");
    assert_eq!(mixes[1], None);
    assert_eq!(last_users(&fake), Some(4));
}

#[tokio::test(start_paused = true)]
async fn a_diurnal_curve_is_followed_and_bursts_raise_users() {
    let fake = Arc::new(Fake::default());
    let c = controller(&fake);
    let text = "diurnal: { min_users: 10, max_users: 110, peak: \"12:00\", spawn_rate: 50 }\n";
    let s = shape(text);
    // A virtual day in 24 real seconds.
    c.attach_shape(
        s.clone(),
        ShapeOptions {
            time_scale: 3600.0,
            start_virtual: Some(monday()),
        },
    )
    .unwrap();
    c.start_shape(None).unwrap();
    let origin = monday();
    for hour in [0u32, 6, 12, 18] {
        let status = c.shape_status(Duration::from_secs(3600)).unwrap();
        let expected = s.at(
            origin,
            chrono::DateTime::from_timestamp_millis(status.now).unwrap(),
        );
        // The driver evaluates at least once a real second (a virtual hour here), and the
        // curve moves at most 100·π/24 ≈ 13 users per hour.
        let got = last_users(&fake).unwrap_or(0) as f64;
        assert!(
            (got - f64::from(expected.users)).abs() <= 14.0,
            "hour {hour}: {got} vs {}",
            expected.users
        );
        tokio::time::sleep(Duration::from_secs(6)).await;
    }
    let peak = s.at(origin, origin + chrono::TimeDelta::hours(12)).users;
    assert!(
        lock(&fake.users)
            .iter()
            .any(|u| u.0 + 14 >= u64::from(peak))
    );

    // Bursts on a constant base: the users rise above the base while one runs.
    let fake = Arc::new(Fake::default());
    let c = controller(&fake);
    c.attach_shape(
        shape("constant: 5\nbursts: { per_hour: 30, add: 20, duration: 5m, seed: 3 }\n"),
        ShapeOptions {
            time_scale: 3600.0,
            start_virtual: Some(monday()),
        },
    )
    .unwrap();
    c.start_shape(None).unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen: Vec<u64> = lock(&fake.users).iter().map(|u| u.0).collect();
    assert!(seen.iter().any(|u| *u >= 25), "{seen:?}");
    assert!(seen.contains(&5), "{seen:?}");
    let status = c.shape_status(Duration::from_secs(3600)).unwrap();
    assert!(status.events.iter().any(|e| e.kind == "burst_start"));
}

#[tokio::test(start_paused = true)]
async fn the_open_model_sets_arrivals_and_a_pause_ends_them() {
    let fake = Arc::new(Fake::default());
    let c = controller(&fake);
    c.attach_shape(
        shape("open: { rate: 7, max_users: 30, iterations: 2 }"),
        ShapeOptions::default(),
    )
    .unwrap();
    c.start_shape(None).unwrap();
    assert_eq!(
        lock(&fake.arrivals).as_slice(),
        &[Some(Arrivals {
            rate: 7.0,
            iterations: 2,
            max_users: 30
        })]
    );
    assert_eq!(last_users(&fake), Some(0), "closed users end");
    let status = c.status();
    assert!(status.arrivals.is_some());
    assert_eq!(c.wanted_users(), None);
    c.stop();
    assert_eq!(lock(&fake.arrivals).last(), Some(&None));
}

#[tokio::test(start_paused = true)]
async fn one_shape_per_controller_and_actions_need_one() {
    let fake = Arc::new(Fake::default());
    let c = controller(&fake);
    assert_eq!(c.resume_shape(), Err(ControlError::NoShape));
    assert!(c.shape_status(Duration::from_secs(60)).is_none());
    let bad = c.attach_shape(
        shape("constant: 1"),
        ShapeOptions {
            time_scale: 0.0,
            start_virtual: None,
        },
    );
    assert!(matches!(bad, Err(ControlError::Shape(_))));
    c.attach_shape(shape("constant: 1"), ShapeOptions::default())
        .unwrap();
    assert!(
        c.attach_shape(shape("constant: 2"), ShapeOptions::default())
            .is_err()
    );
}
