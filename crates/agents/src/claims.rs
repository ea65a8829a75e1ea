//! The ClaimsAgent (`behaviors/claims_behavior.py`): file claims against ACTIVE policies,
//! process claims of about 18 minutes (review, then approve or deny), and browse claims. Task
//! weights 4:4:2, wait 2-4 s.

use async_trait::async_trait;
use cicada_engine::{Context, TaskError, TaskInfo, User, UserType, Wait};
use http::Method;
use rand::RngExt;
use serde_json::{Value, json};

use crate::age::pick_by_age;
use crate::quote::scaled_between;
use crate::session::{Session, Settings, data_list, data_str, naive_iso};
use crate::words::{CLAIM_DESCRIPTIONS, denial_probability, denial_reason};

/// Target age of claims to process (minutes, before speed and time scale).
const CLAIM_AGE: f64 = 18.0;

/// The ClaimsAgent user type.
pub struct ClaimsAgent {
    settings: Settings,
}

impl ClaimsAgent {
    /// A ClaimsAgent type over shared settings.
    pub fn new(settings: Settings) -> Self {
        ClaimsAgent { settings }
    }
}

impl UserType for ClaimsAgent {
    fn name(&self) -> &str {
        "ClaimsAgent"
    }
    fn weight(&self) -> u32 {
        50
    }
    fn wait(&self) -> Wait {
        scaled_between(2.0, 4.0, self.settings.time_scale)
    }
    fn tasks(&self) -> Vec<TaskInfo> {
        vec![
            TaskInfo::new("file_claim").weight(4),
            TaskInfo::new("process_claim").weight(4),
            TaskInfo::new("review_claims_workflow").weight(2),
        ]
    }
    fn new_user(&self, _user_id: u64) -> Box<dyn User> {
        Box::new(ClaimsUser {
            session: Session::new(self.settings.clone()),
        })
    }
}

/// One ClaimsAgent.
struct ClaimsUser {
    session: Session,
}

#[async_trait]
impl User for ClaimsUser {
    async fn on_start(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        self.session.start(cx).await
    }

    async fn run_task(&mut self, task: usize, cx: &mut Context) -> Result<(), TaskError> {
        if !self.session.before_task(cx).await? {
            return Ok(());
        }
        match task {
            0 => self.file_claim(cx).await,
            1 => self.process_claim(cx).await,
            _ => self.review_claims(cx).await,
        }
    }
}

/// A claim's amount: a JSON string (Prisma Decimal) or a number.
fn amount(claim: &Value) -> f64 {
    match &claim["claimAmount"] {
        Value::String(s) => s.parse().unwrap_or(0.0),
        v => v.as_f64().unwrap_or(0.0),
    }
}

impl ClaimsUser {
    async fn file_claim(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        let s = &self.session;
        let found = s
            .request(cx, Method::GET, "/api/v1/policies?status=ACTIVE&limit=20")
            .name("1. Find Active Policy")
            .expect_status(&[200])
            .send()
            .await?;
        let policies = data_list(&found);
        if !found.ok() || policies.is_empty() {
            return Ok(());
        }
        let pick = cx.rng().random_range(0..policies.len());
        let Some(policy) = policies[pick]["id"].as_str().map(str::to_string) else {
            return Ok(());
        };
        s.think(cx, 5.0, 10.0).await?;
        let days_ago = cx.rng().random_range(1..=30);
        let body = json!({
            "policyId": policy,
            "incidentDate": naive_iso(chrono::Utc::now() - chrono::Duration::days(days_ago)),
            "claimAmount": cx.rng().random_range(1000..=50_000),
            "description": CLAIM_DESCRIPTIONS[cx.rng().random_range(0..CLAIM_DESCRIPTIONS.len())],
        });
        let filed = s
            .request(cx, Method::POST, "/api/v1/claims")
            .name("2. File Claim")
            .json(&body)
            .expect_status(&[201])
            .send_checked(|r| match data_str(r, "/data/id") {
                Some(_) => Ok(()),
                None => Err("File Claim: no claim id".into()),
            })
            .await?;
        let Some(id) = filed.ok().then(|| data_str(&filed, "/data/id")).flatten() else {
            return Ok(());
        };
        s.think(cx, 2.0, 4.0).await?;
        s.request(cx, Method::GET, format!("/api/v1/claims/{id}"))
            .name("3. View Claim Details")
            .send()
            .await?;
        Ok(())
    }

    async fn process_claim(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        let s = &self.session;
        let wanted = if cx.rng().random_bool(0.5) {
            "SUBMITTED"
        } else {
            "UNDER_REVIEW"
        };
        let found = s
            .request(
                cx,
                Method::GET,
                format!("/api/v1/claims?status={wanted}&limit=50"),
            )
            .name("1. Find Claim to Process")
            .send()
            .await?;
        let claims = data_list(&found);
        let unit = cx.unit();
        let target = s.target_age(CLAIM_AGE);
        let Some(pick) = pick_by_age(&claims, target, s.min_age(), chrono::Utc::now(), unit) else {
            return Ok(());
        };
        let claim = &claims[pick];
        let status = claim["status"].as_str().unwrap_or_default();
        if matches!(status, "APPROVED" | "DENIED" | "PAID") {
            return Ok(());
        }
        let Some(id) = claim["id"].as_str().map(str::to_string) else {
            return Ok(());
        };
        let claim_amount = amount(claim);
        let submitted = status == "SUBMITTED";
        s.think(cx, 5.0, 10.0).await?;
        if submitted {
            // 400: another agent moved it first — not a failure.
            s.request(cx, Method::PUT, format!("/api/v1/claims/{id}/status"))
                .name("2. Mark Under Review")
                .json(&json!({ "status": "UNDER_REVIEW" }))
                .expect_status(&[200, 400])
                .send()
                .await?;
            s.think(cx, 8.0, 15.0).await?;
        }
        let deny = cx.unit() < denial_probability(claim_amount);
        let (name, body) = if deny {
            let reason = denial_reason(cx.unit());
            (
                "3. Denied Claim",
                json!({ "status": "DENIED", "denialReason": reason }),
            )
        } else {
            let factor = 0.8 + 0.2 * cx.unit();
            let approved = (claim_amount * factor * 100.0).round() / 100.0;
            (
                "3. Approved Claim",
                json!({ "status": "APPROVED", "approvedAmount": approved }),
            )
        };
        s.request(cx, Method::PUT, format!("/api/v1/claims/{id}/status"))
            .name(name)
            .json(&body)
            .expect_status(&[200, 400])
            .send()
            .await?;
        s.think(cx, 2.0, 4.0).await?;
        s.request(cx, Method::GET, format!("/api/v1/claims/{id}/history"))
            .name("4. View Claim History")
            .send()
            .await?;
        Ok(())
    }

    async fn review_claims(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        let s = &self.session;
        const STATUSES: [&str; 4] = ["SUBMITTED", "UNDER_REVIEW", "APPROVED", "DENIED"];
        let status = STATUSES[cx.rng().random_range(0..STATUSES.len())];
        let browsed = s
            .request(
                cx,
                Method::GET,
                format!("/api/v1/claims?status={status}&page=1&limit=20"),
            )
            .name("1. Browse Claims")
            .send()
            .await?;
        let claims = data_list(&browsed);
        if claims.is_empty() {
            return Ok(());
        }
        let pick = cx.rng().random_range(0..claims.len());
        let Some(id) = claims[pick]["id"].as_str().map(str::to_string) else {
            return Ok(());
        };
        s.think(cx, 3.0, 6.0).await?;
        s.request(cx, Method::GET, format!("/api/v1/claims/{id}"))
            .name("2. View Claim Details")
            .send()
            .await?;
        s.think(cx, 4.0, 8.0).await?;
        s.request(cx, Method::GET, format!("/api/v1/claims/{id}/history"))
            .name("3. View Claim History")
            .send()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_from_strings_and_numbers() {
        assert_eq!(amount(&json!({ "claimAmount": "1250.5" })), 1250.5);
        assert_eq!(amount(&json!({ "claimAmount": 300 })), 300.0);
        assert_eq!(amount(&json!({ "claimAmount": "junk" })), 0.0);
        assert_eq!(amount(&json!({})), 0.0);
    }
}
