//! The QuoteAgent (`behaviors/quote_behavior.py`): create quotes, convert quotes of about 12
//! minutes into policies, browse quotes, and flip policies of about 30 minutes between ACTIVE
//! and CANCELLED. Task weights 4:4:3:2, wait 1-3 s.

use std::time::Duration;

use async_trait::async_trait;
use cicada_engine::{Context, TaskError, TaskInfo, User, UserType, Wait};
use http::Method;
use rand::RngExt;
use serde_json::json;

use crate::age::pick_by_age;
use crate::session::{Session, Settings, data_list, data_str, naive_iso};
use crate::words::{CANCEL_REASONS, COVERAGE, REACTIVATE_REASONS, TYPES};

/// Target ages (minutes, before speed and time scale).
const QUOTE_AGE: f64 = 12.0;
const POLICY_AGE: f64 = 30.0;

/// The QuoteAgent user type.
pub struct QuoteAgent {
    settings: Settings,
}

impl QuoteAgent {
    /// A QuoteAgent type over shared settings.
    pub fn new(settings: Settings) -> Self {
        QuoteAgent { settings }
    }
}

/// A uniform wait between `min` and `max` seconds, divided by the time scale.
pub(crate) fn scaled_between(min: f64, max: f64, scale: f64) -> Wait {
    let s = |secs: f64| Duration::try_from_secs_f64(secs / scale).unwrap_or(Duration::ZERO);
    Wait::Between {
        min: s(min),
        max: s(max),
    }
}

impl UserType for QuoteAgent {
    fn name(&self) -> &str {
        "QuoteAgent"
    }
    fn weight(&self) -> u32 {
        50
    }
    fn wait(&self) -> Wait {
        scaled_between(1.0, 3.0, self.settings.time_scale)
    }
    fn tasks(&self) -> Vec<TaskInfo> {
        vec![
            TaskInfo::new("create_quote").weight(4),
            TaskInfo::new("convert_quote_to_policy").weight(4),
            TaskInfo::new("review_quotes_workflow").weight(3),
            TaskInfo::new("update_policy_status").weight(2),
        ]
    }
    fn new_user(&self, _user_id: u64) -> Box<dyn User> {
        Box::new(QuoteUser {
            session: Session::new(self.settings.clone()),
        })
    }
}

/// One QuoteAgent.
struct QuoteUser {
    session: Session,
}

#[async_trait]
impl User for QuoteUser {
    async fn on_start(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        self.session.start(cx).await
    }

    async fn run_task(&mut self, task: usize, cx: &mut Context) -> Result<(), TaskError> {
        if !self.session.before_task(cx).await? {
            return Ok(());
        }
        match task {
            0 => self.create_quote(cx).await,
            1 => self.convert_quote(cx).await,
            2 => self.review_quotes(cx).await,
            _ => self.update_policy_status(cx).await,
        }
    }
}

impl QuoteUser {
    async fn create_quote(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        let s = &self.session;
        let kind = cx.rng().random_range(0..TYPES.len());
        let amounts = COVERAGE[kind];
        let coverage = amounts[cx.rng().random_range(0..amounts.len())];
        let body = json!({ "type": TYPES[kind], "coverageAmount": coverage });
        let calc = s
            .request(cx, Method::POST, "/api/v1/quotes/calculate")
            .name("1. Calculate Premium")
            .json(&body)
            .expect_status(&[200])
            .send()
            .await?;
        if !calc.ok() {
            return Ok(());
        }
        s.think(cx, 3.0, 6.0).await?;
        let expires = naive_iso(chrono::Utc::now() + chrono::Duration::days(30));
        let body = json!({ "type": TYPES[kind], "coverageAmount": coverage, "expiresAt": expires });
        let created = s
            .request(cx, Method::POST, "/api/v1/quotes")
            .name("2. Create Quote")
            .json(&body)
            .expect_status(&[201])
            .send_checked(|r| match data_str(r, "/data/id") {
                Some(_) => Ok(()),
                None => Err("Create Quote: no quote id".into()),
            })
            .await?;
        let Some(id) = created
            .ok()
            .then(|| data_str(&created, "/data/id"))
            .flatten()
        else {
            return Ok(());
        };
        s.think(cx, 4.0, 8.0).await?;
        s.request(cx, Method::GET, format!("/api/v1/quotes/{id}"))
            .name("3. View Quote Details")
            .send()
            .await?;
        Ok(())
    }

    async fn convert_quote(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        let s = &self.session;
        let found = s
            .request(cx, Method::GET, "/api/v1/quotes?status=ACTIVE&limit=50")
            .name("1. Find Active Quote")
            .expect_status(&[200])
            .send()
            .await?;
        if !found.ok() {
            return Ok(());
        }
        let quotes = data_list(&found);
        let unit = cx.unit();
        let target = s.target_age(QUOTE_AGE);
        let Some(pick) = pick_by_age(&quotes, target, s.min_age(), chrono::Utc::now(), unit) else {
            return Ok(());
        };
        let Some(id) = quotes[pick]["id"].as_str().map(str::to_string) else {
            return Ok(());
        };
        s.think(cx, 3.0, 7.0).await?;
        // 400/409: another agent converted it first (or it expired) — not a failure.
        let converted = s
            .request(cx, Method::POST, format!("/api/v1/quotes/{id}/convert"))
            .name("2. Convert to Policy")
            .expect_status(&[200, 201, 400, 409])
            .send()
            .await?;
        if !matches!(converted.status.as_u16(), 200 | 201) {
            return Ok(());
        }
        let Some(policy) = data_str(&converted, "/data/policy/id") else {
            return Ok(());
        };
        s.think(cx, 3.0, 6.0).await?;
        s.request(cx, Method::GET, format!("/api/v1/policies/{policy}"))
            .name("3. View New Policy")
            .send()
            .await?;
        Ok(())
    }

    async fn review_quotes(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        let s = &self.session;
        let mut query = String::new();
        const STATUSES: [Option<&str>; 4] =
            [Some("ACTIVE"), Some("CONVERTED"), Some("EXPIRED"), None];
        if let Some(status) = STATUSES[cx.rng().random_range(0..STATUSES.len())] {
            query.push_str(&format!("status={status}&"));
        }
        let kind = cx.rng().random_range(0..=TYPES.len());
        if let Some(kind) = TYPES.get(kind) {
            query.push_str(&format!("type={kind}&"));
        }
        let page = cx.rng().random_range(1..=2);
        let browsed = s
            .request(
                cx,
                Method::GET,
                format!("/api/v1/quotes?{query}page={page}&limit=20"),
            )
            .name("1. Browse Quotes")
            .send()
            .await?;
        let quotes = data_list(&browsed);
        if browsed.status.as_u16() != 200 || quotes.is_empty() {
            return Ok(());
        }
        let pick = cx.rng().random_range(0..quotes.len());
        let Some(id) = quotes[pick]["id"].as_str().map(str::to_string) else {
            return Ok(());
        };
        s.think(cx, 3.0, 7.0).await?;
        s.request(cx, Method::GET, format!("/api/v1/quotes/{id}"))
            .name("2. View Quote Details")
            .send()
            .await?;
        s.think(cx, 4.0, 8.0).await?;
        s.request(cx, Method::GET, format!("/api/v1/quotes/{id}/history"))
            .name("3. View Quote History")
            .send()
            .await?;
        Ok(())
    }

    async fn update_policy_status(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        let s = &self.session;
        let page = cx.rng().random_range(1..=2);
        const STATUSES: [Option<&str>; 3] = [Some("ACTIVE"), Some("EXPIRED"), None];
        let status = STATUSES[cx.rng().random_range(0..STATUSES.len())]
            .map(|st| format!("&status={st}"))
            .unwrap_or_default();
        let found = s
            .request(
                cx,
                Method::GET,
                format!("/api/v1/policies?page={page}&limit=50{status}"),
            )
            .name("1. Find Policy to Update")
            .expect_status(&[200])
            .send()
            .await?;
        if !found.ok() {
            return Ok(());
        }
        let policies = data_list(&found);
        let unit = cx.unit();
        let target = s.target_age(POLICY_AGE);
        let Some(pick) = pick_by_age(&policies, target, s.min_age(), chrono::Utc::now(), unit)
        else {
            return Ok(());
        };
        let Some(id) = policies[pick]["id"].as_str().map(str::to_string) else {
            return Ok(());
        };
        s.think(cx, 2.0, 5.0).await?;
        s.request(cx, Method::GET, format!("/api/v1/policies/{id}"))
            .name("2. View Policy Details")
            .send()
            .await?;
        s.think(cx, 5.0, 9.0).await?;
        let (new_status, reason) = if cx.rng().random_bool(0.5) {
            let r = CANCEL_REASONS[cx.rng().random_range(0..CANCEL_REASONS.len())];
            ("CANCELLED", r)
        } else {
            let r = REACTIVATE_REASONS[cx.rng().random_range(0..REACTIVATE_REASONS.len())];
            ("ACTIVE", r)
        };
        s.request(cx, Method::PUT, format!("/api/v1/policies/{id}"))
            .name("3. Update Policy Status")
            .json(&json!({ "status": new_status, "statusChangeReason": reason }))
            .send()
            .await?;
        Ok(())
    }
}
