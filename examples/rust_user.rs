//! The Rust scenario tier: user types written in Rust, run through cicada's own command line.
//!
//! Build and run it against any target that has these endpoints (for example the recording
//! server of the tests, or later `cicada target`):
//!
//! ```sh
//! cargo run --example rust_user -- run --headless --scenario shop -H http://127.0.0.1:3000 -u 10 -t 1m
//! ```
//!
//! A Rust user type is the place for logic a YAML file should not grow into: state machines,
//! decisions on response contents, per-user memory. This one logs in, remembers the ids it
//! creates (bounded) and revisits a random one.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cicada::Registry;
use cicada::engine::{Context, TaskError, TaskInfo, User, UserType, Wait};
use rand::RngExt;

/// A shopper: weight 1, 0.5-1.5 s between tasks.
struct Shopper;

impl UserType for Shopper {
    fn name(&self) -> &str {
        "Shopper"
    }
    fn wait(&self) -> Wait {
        Wait::Between {
            min: Duration::from_millis(500),
            max: Duration::from_millis(1500),
        }
    }
    fn tasks(&self) -> Vec<TaskInfo> {
        vec![
            TaskInfo::new("browse").weight(3),
            TaskInfo::new("create and revisit").weight(1).tag("write"),
        ]
    }
    fn new_user(&self, user_id: u64) -> Box<dyn User> {
        Box::new(ShopperUser {
            email: format!("shopper{user_id}@example.com"),
            token: String::new(),
            created: Vec::new(),
        })
    }
}

/// One shopper's state.
struct ShopperUser {
    email: String,
    token: String,
    /// Ids this user created; bounded so a user running for weeks stays small.
    created: Vec<String>,
}

const MAX_REMEMBERED: usize = 20;

#[async_trait::async_trait]
impl User for ShopperUser {
    async fn on_start(&mut self, cx: &mut Context) -> Result<(), TaskError> {
        let body = serde_json::json!({ "email": self.email, "password": "password123" });
        let response = cx
            .post("/api/v1/auth/login")
            .name("Login")
            .json(&body)
            .expect_status(&[200])
            .send_checked(|r| match r.json::<serde_json::Value>() {
                Ok(v) if v["data"]["token"].is_string() => Ok(()),
                _ => Err("Login failed: no token".into()),
            })
            .await?;
        if !response.ok() {
            return Err(TaskError::Aborted("login failed".into()));
        }
        let value: serde_json::Value = response.json().unwrap_or_default();
        self.token = value["data"]["token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Ok(())
    }

    async fn run_task(&mut self, task: usize, cx: &mut Context) -> Result<(), TaskError> {
        match task {
            0 => {
                let page = cx.rng().random_range(1..=2);
                cx.get(format!("/api/v1/policies?page={page}"))
                    .name("/api/v1/policies?page=[n]")
                    .bearer(&self.token)
                    .send()
                    .await?;
            }
            _ => {
                let created = cx
                    .post("/api/v1/quotes")
                    .name("Create quote")
                    .bearer(&self.token)
                    .json(&serde_json::json!({ "type": "AUTO", "coverageAmount": 50000 }))
                    .expect_status(&[201])
                    .send()
                    .await?;
                if let Some(id) = created
                    .json::<serde_json::Value>()
                    .ok()
                    .and_then(|v| v["data"]["id"].as_str().map(str::to_string))
                {
                    if self.created.len() == MAX_REMEMBERED {
                        self.created.remove(0);
                    }
                    self.created.push(id);
                }
                cx.sleep(Duration::from_millis(200)).await?;
                if !self.created.is_empty() {
                    let pick = cx.rng().random_range(0..self.created.len());
                    let id = self.created[pick].clone();
                    cx.get(format!("/api/v1/quotes/{id}"))
                        .name("/api/v1/quotes/[id]")
                        .bearer(&self.token)
                        .send()
                        .await?;
                }
            }
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    let registry = Registry::new().scenario(
        "shop",
        "Shoppers who log in, browse policies and create quotes (Rust example)",
        || vec![Arc::new(Shopper) as Arc<dyn UserType>],
    );
    cicada::main_with(registry)
}
