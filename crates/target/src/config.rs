//! The stand-in's settings, typed and checked before anything listens.
//!
//! The `cicada target` flags are parsed by the binary (clap) and resolved here:
//! [`TargetConfig::default`] is what `cicada target` does with no flags.

use std::time::Duration;

use crate::latency::LatencyModel;
use crate::rate_limit::RateLimit;
use crate::seed::DEFAULT_SEED;

/// Where the JSON access log goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AccessLogDest {
    /// Nowhere.
    Off,
    /// Standard output (the default, like pino).
    #[default]
    Stdout,
    /// Standard error.
    Stderr,
}

impl AccessLogDest {
    /// `on`/`stdout`, `stderr`, `off` (also `true`/`false`).
    pub fn parse(s: &str) -> Result<AccessLogDest, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "on" | "true" | "yes" | "stdout" => Ok(AccessLogDest::Stdout),
            "stderr" => Ok(AccessLogDest::Stderr),
            "off" | "false" | "no" | "none" => Ok(AccessLogDest::Off),
            _ => Err(ConfigError::AccessLog(s.to_string())),
        }
    }
}

/// A setting that does not make sense.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// `--latency`.
    #[error("invalid --latency `{spec}`: {reason}")]
    Latency {
        /// As given.
        spec: String,
        /// Why.
        reason: String,
    },
    /// `--rate-limit`.
    #[error("invalid --rate-limit `{spec}`: {reason}")]
    RateLimit {
        /// As given.
        spec: String,
        /// Why.
        reason: String,
    },
    /// `--error-rate` outside 0-1.
    #[error("invalid --error-rate `{0}`: expected a ratio between 0.0 and 1.0")]
    ErrorRate(String),
    /// `--access-log`.
    #[error("invalid --access-log `{0}`: expected on, off, stdout or stderr")]
    AccessLog(String),
    /// A duration flag.
    #[error("invalid {flag} `{value}`: {reason}")]
    Duration {
        /// Which flag.
        flag: &'static str,
        /// As given.
        value: String,
        /// Why.
        reason: String,
    },
    /// A size that must be above zero.
    #[error("{0} must be at least 1")]
    Zero(&'static str),
}

/// Everything the stand-in needs to run.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetConfig {
    /// Seed of the seeded data and of latency/error injection.
    pub seed: u64,
    /// HS256 secret (the contract's default: `secret`).
    pub jwt_secret: String,
    /// Token lifetime (the contract's default: 7 days).
    pub jwt_expiry: Duration,
    /// Records kept per organization and kind (policies, claims, quotes; also users).
    pub max_records: usize,
    /// Organizations kept (directory entries, and record buckets).
    pub max_organizations: usize,
    /// Injected latency.
    pub latency: LatencyModel,
    /// Share of `/api/v1/*` requests answered with an injected 500 (0.0-1.0).
    pub error_rate: f64,
    /// The gateway's rate limit; `None` = off.
    pub rate_limit: Option<RateLimit>,
    /// Where the access log goes.
    pub access_log: AccessLogDest,
    /// How long in-flight requests get to finish after shutdown is asked.
    pub shutdown_grace: Duration,
}

impl Default for TargetConfig {
    fn default() -> Self {
        TargetConfig {
            seed: DEFAULT_SEED,
            jwt_secret: "secret".to_string(),
            jwt_expiry: Duration::from_secs(7 * 24 * 3600),
            max_records: 2000,
            max_organizations: 1000,
            latency: LatencyModel::none(),
            error_rate: 0.0,
            rate_limit: None,
            access_log: AccessLogDest::Stdout,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

impl TargetConfig {
    /// Checks the values that types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(ConfigError::ErrorRate(self.error_rate.to_string()));
        }
        if self.max_records == 0 {
            return Err(ConfigError::Zero("--max-records"));
        }
        if self.max_organizations == 0 {
            return Err(ConfigError::Zero("--max-organizations"));
        }
        if self.jwt_expiry.is_zero() {
            return Err(ConfigError::Duration {
                flag: "--jwt-expiry",
                value: "0".into(),
                reason: "must be above zero".into(),
            });
        }
        Ok(())
    }
}

/// A duration: humantime (`20ms`, `1.5s`, `7d`, `1h30m`) or bare seconds (`3600`, like
/// jsonwebtoken's `expiresIn`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).map_err(|e| format!("`{s}` is not a duration ({e})"))
}

/// A duration flag, with the flag's name in the error.
pub fn duration_flag(flag: &'static str, value: &str) -> Result<Duration, ConfigError> {
    parse_duration(value).map_err(|reason| ConfigError::Duration {
        flag,
        value: value.to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_contracts() {
        let c = TargetConfig::default();
        assert_eq!(c.jwt_secret, "secret");
        assert_eq!(c.jwt_expiry, Duration::from_secs(604_800));
        assert_eq!(c.rate_limit, None);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn validation() {
        let bad = TargetConfig {
            error_rate: 1.5,
            ..TargetConfig::default()
        };
        assert!(matches!(bad.validate(), Err(ConfigError::ErrorRate(_))));
        let bad = TargetConfig {
            max_records: 0,
            ..TargetConfig::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn durations_and_access_log() {
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("20ms"), Ok(Duration::from_millis(20)));
        assert!(parse_duration("soon").is_err());
        assert!(duration_flag("--jwt-expiry", "x").is_err());
        assert_eq!(AccessLogDest::parse("ON"), Ok(AccessLogDest::Stdout));
        assert_eq!(AccessLogDest::parse("off"), Ok(AccessLogDest::Off));
        assert_eq!(AccessLogDest::parse("stderr"), Ok(AccessLogDest::Stderr));
        assert!(AccessLogDest::parse("file").is_err());
    }
}
