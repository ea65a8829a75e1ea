//! What both agents share: the seeded users, login and rotation, the User-Agent group, the
//! speed factor, and scaled think times.
//!
//! The directory of seeded users is fetched once and shared by every user of both types. A
//! `tokio::sync::Mutex` around it means the first user to start fetches while the others wait
//! for the result instead of all fetching at once; if the fetch fails, each waiting user's
//! `on_start` fails in turn and the engine retries it after a growing, jittered pause, so a
//! target that is down sees sparse attempts, never a tight loop.

use std::sync::Arc;
use std::time::Duration;

use cicada_engine::{Context, RequestBuilder, TaskError};
use http::Method;
use rand::RngExt;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::age::{fnv1a, speed_factor};

/// Largest number of seeded users kept (a guard against a huge `/api/v1/users`).
pub const MAX_ACCOUNTS: usize = 10_000;

/// Every seeded user's password.
pub const PASSWORD: &str = "password123";

/// Share of organizations (percent) whose users send the Group-A User-Agent.
pub const GROUP_A_PERCENTAGE: u64 = 50;

/// The Group-A User-Agent.
pub const GROUP_A_AGENT: &str = "DynaClaimz-API-Client/2.1.0 (Group-A)";
/// The Group-B User-Agent.
pub const GROUP_B_AGENT: &str = "DynaClaimz-API-Client/2.1.0 (Group-B)";

/// Fewest and most tasks before a user logs in again as another seeded user.
const ROTATION: (u32, u32) = (5, 15);

/// A seeded user as the start-up fetch keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The user's id.
    pub id: String,
    /// Login e-mail.
    pub email: String,
    /// ADMIN, AGENT or CUSTOMER (kept, as the original did; all roles log in).
    pub role: String,
    /// The user's organization.
    pub organization_id: String,
}

/// The seeded users, fetched once and shared.
#[derive(Debug, Default)]
pub struct Directory {
    accounts: Mutex<Option<Arc<[Account]>>>,
}

impl Directory {
    /// The seeded users, fetching them (`GET /api/v1/users`, no auth) if nobody has yet. An
    /// error or an empty list fails the caller's `on_start`, which the engine retries later.
    pub async fn accounts(&self, cx: &mut Context) -> Result<Arc<[Account]>, TaskError> {
        let mut slot = self.accounts.lock().await;
        if let Some(accounts) = slot.as_ref() {
            return Ok(accounts.clone());
        }
        let response = cx
            .get("/api/v1/users")
            .name("Startup: Load Users")
            .expect_status(&[200])
            .send_checked(|r| match parse_accounts(&r.body) {
                Some(list) if !list.is_empty() => Ok(()),
                _ => Err("no seeded users in the response".into()),
            })
            .await?;
        let accounts: Arc<[Account]> = match parse_accounts(&response.body) {
            Some(list) if response.ok() && !list.is_empty() => list.into(),
            _ => return Err(TaskError::Aborted("could not load the seeded users".into())),
        };
        tracing::info!(users = accounts.len(), "loaded the seeded users");
        *slot = Some(accounts.clone());
        Ok(accounts)
    }
}

/// Reads `data[]` of a `/api/v1/users` body, at most [`MAX_ACCOUNTS`].
fn parse_accounts(body: &[u8]) -> Option<Vec<Account>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let list = value.get("data")?.as_array()?;
    let text = |u: &Value, k: &str| u.get(k).and_then(Value::as_str).map(str::to_string);
    Some(
        list.iter()
            .filter_map(|u| {
                Some(Account {
                    id: text(u, "id")?,
                    email: text(u, "email")?,
                    role: text(u, "role").unwrap_or_default(),
                    organization_id: text(u, "organizationId").unwrap_or_default(),
                })
            })
            .take(MAX_ACCOUNTS)
            .collect(),
    )
}

/// Settings shared by the user types of one run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The shared directory of seeded users.
    pub directory: Arc<Directory>,
    /// Divides every think time, wait and target age (1.0 = as the original).
    pub time_scale: f64,
}

/// The User-Agent of an organization's users: Group A for half of the organizations, chosen by
/// a stable hash so every process agrees.
pub fn user_agent(organization_id: &str) -> &'static str {
    if fnv1a(organization_id) % 100 < GROUP_A_PERCENTAGE {
        GROUP_A_AGENT
    } else {
        GROUP_B_AGENT
    }
}

/// One agent's login state.
pub struct Session {
    settings: Settings,
    accounts: Arc<[Account]>,
    token: Option<String>,
    user_agent: &'static str,
    speed: f64,
    counter: u32,
    threshold: u32,
}

impl Session {
    /// A session that has not logged in yet.
    pub fn new(settings: Settings) -> Self {
        Session {
            settings,
            accounts: Arc::from(Vec::new()),
            token: None,
            user_agent: GROUP_B_AGENT,
            speed: 1.0,
            counter: 0,
            threshold: ROTATION.1,
        }
    }

    /// `on_start`: loads the seeded users (shared), draws the rotation threshold, logs in.
    pub async fn start(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        self.accounts = self.settings.directory.accounts(cx).await?;
        self.counter = 0;
        self.threshold = cx.rng().random_range(ROTATION.0..=ROTATION.1);
        self.login(cx).await
    }

    /// Runs before every task body: counts the task and, at the threshold, logs in again as
    /// another random seeded user. Returns whether there is a token to work with (without one
    /// the task does nothing, as in the original).
    pub async fn before_task(&mut self, cx: &mut Context) -> Result<bool, TaskError> {
        self.counter = self.counter.saturating_add(1);
        if self.counter >= self.threshold {
            tracing::debug!(tasks = self.counter, "rotating user");
            self.counter = 0;
            self.threshold = cx.rng().random_range(ROTATION.0..=ROTATION.1);
            self.login(cx).await?;
        }
        Ok(self.token.is_some())
    }

    /// Logs in as a random seeded user (request `Login`). A failure leaves no token.
    async fn login(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        self.token = None;
        if self.accounts.is_empty() {
            return Ok(());
        }
        let pick = cx.rng().random_range(0..self.accounts.len());
        let account = self.accounts[pick].clone();
        self.user_agent = user_agent(&account.organization_id);
        self.speed = speed_factor(&account.id);
        // The password (and below, the token) are redacted from whatever this user reports.
        cx.add_secret(PASSWORD);
        let body = json!({ "email": account.email, "password": PASSWORD });
        let response = cx
            .post("/api/v1/auth/login")
            .name("Login")
            .header("user-agent", self.user_agent)
            .json(&body)
            .expect_status(&[200])
            .send()
            .await?;
        if !response.ok() {
            return Ok(());
        }
        let value: Value = response.json().unwrap_or_default();
        self.token = value["data"]["token"].as_str().map(str::to_string);
        if let Some(token) = &self.token {
            cx.add_secret(token);
        }
        // The organization in the login answer wins, and the group follows it.
        if let Some(org) = value["data"]["user"]["organizationId"].as_str() {
            self.user_agent = user_agent(org);
        }
        tracing::debug!(
            user = %account.email,
            agent = self.user_agent,
            speed = self.speed,
            "logged in"
        );
        Ok(())
    }

    /// A request with this session's User-Agent and bearer token.
    pub fn request<'c>(
        &self,
        cx: &'c mut Context,
        method: Method,
        path: impl Into<String>,
    ) -> RequestBuilder<'c> {
        let builder = cx
            .request(method, path)
            .header("user-agent", self.user_agent);
        match &self.token {
            Some(token) => builder.bearer(token),
            None => builder,
        }
    }

    /// An in-task think time: uniform in `[min, max]` seconds × speed factor ÷ time scale.
    pub async fn think(&self, cx: &mut Context, min: f64, max: f64) -> Result<(), TaskError> {
        let unit = cx.unit();
        let secs = (min + (max - min) * unit) * self.speed / self.settings.time_scale;
        cx.sleep(Duration::try_from_secs_f64(secs).unwrap_or(Duration::ZERO))
            .await
    }

    /// A target age in minutes: `minutes` × speed factor ÷ time scale.
    pub fn target_age(&self, minutes: f64) -> f64 {
        minutes * self.speed / self.settings.time_scale
    }

    /// The minimum age (minutes) an item needs before it is picked: 1 minute ÷ time scale.
    pub fn min_age(&self) -> f64 {
        1.0 / self.settings.time_scale
    }

    /// The time scale.
    pub fn time_scale(&self) -> f64 {
        self.settings.time_scale
    }
}

/// The `data` array of a list response (empty when absent).
pub fn data_list(response: &cicada_engine::Response) -> Vec<Value> {
    response
        .json::<Value>()
        .ok()
        .and_then(|mut v| match v.get_mut("data").map(Value::take) {
            Some(Value::Array(items)) => Some(items),
            _ => None,
        })
        .unwrap_or_default()
}

/// A string field of `data` (e.g. the id of what was created).
pub fn data_str(response: &cicada_engine::Response, pointer: &str) -> Option<String> {
    response
        .json::<Value>()
        .ok()?
        .pointer(pointer)?
        .as_str()
        .map(str::to_string)
}

/// Now as a naive ISO string, as Python's `datetime.now().isoformat()` sends it (UTC here).
pub fn naive_iso(at: chrono::DateTime<chrono::Utc>) -> String {
    at.naive_utc().format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_parsed_and_bounded() {
        let body = br#"{"success":true,"data":[
            {"id":"1","email":"a@x.com","role":"ADMIN","organizationId":"o1"},
            {"email":"missing-id@x.com"},
            {"id":"2","email":"b@x.com"}]}"#;
        let list = parse_accounts(body).unwrap_or_default();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].organization_id, "o1");
        assert_eq!(list[1].role, "");
        assert!(parse_accounts(b"not json").is_none());
        assert!(parse_accounts(br#"{"data":3}"#).is_none());
    }

    #[test]
    fn groups_are_stable_and_split_organizations() {
        assert_eq!(user_agent("org-1"), user_agent("org-1"));
        let a = (0..1000)
            .filter(|i| user_agent(&format!("org-{i}")) == GROUP_A_AGENT)
            .count();
        assert!((350..650).contains(&a), "{a}");
    }

    #[test]
    fn naive_iso_has_no_zone() {
        let at = chrono::DateTime::from_timestamp(0, 0).unwrap_or_default();
        assert_eq!(naive_iso(at), "1970-01-01T00:00:00.000000");
    }
}
