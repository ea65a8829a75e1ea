//! Redaction of secrets in every text cicada lets out of the process: log lines, failure
//! messages (and so reports, the web UI and its API), error texts.
//!
//! A load generator handles real credentials: the password of every simulated user, the token
//! the target issues at login, API keys from the environment. None of them may show up in a log
//! pipeline or a report that is mailed around. Two mechanisms, used together:
//!
//! * **Known values** ([`Secrets`]): each simulated user keeps the few secret values it knows
//!   (the scenario's secret variables, the token it extracted, the credential of every
//!   `Authorization` header it sent) and passes every text it produces through
//!   [`Secrets::redact`], which replaces each occurrence with [`MARKER`]. The set is small and
//!   bounded ([`MAX_SECRETS`] values of at most [`MAX_SECRET_BYTES`] each).
//! * **Shapes** ([`scrub`]): what looks like a secret whoever produced it: JSON Web Tokens,
//!   `Bearer` credentials, the password of a URL (`https://user:pw@host`), and the value of a
//!   secret-named field (`token=...`, `"password": "..."`). Every log line (text or JSON) and
//!   every line of the web UI's log ring is scrubbed, so even a dependency's debug log cannot
//!   print a bearer token.
//!
//! Which names are secret ([`is_secret_name`]) is one rule for variables, environment
//! variables, query parameters and headers: a name is secret when one of its words is
//! `token`, `password`, `secret`, `jwt`, `auth`, `authorization`, `cookie`, `credential(s)`,
//! `apikey`, `bearer`, `passwd`, `pass`, `pwd`, `passphrase`, `signature`, `sessionid`, or it has the
//! words `api key`, `access key`, `private key` or `session id`, or a word ends with `token`,
//! `password` or `secret` (`accessToken`, `refresh_token`, `X-Api-Key`, `DB_PASSWORD`,
//! `Set-Cookie`).
//!
//! Everything here is pure, allocation-free when there is nothing to redact (the functions
//! return [`Cow::Borrowed`]), linear in the text length, and never panics.

mod names;
mod scrub;
mod secrets;

pub use names::{is_secret_header, is_secret_name};
pub use scrub::scrub;
pub use secrets::{MAX_SECRET_BYTES, MAX_SECRETS, MIN_SECRET_CHARS, Secrets};

use std::borrow::Cow;

/// What a secret is replaced with.
pub const MARKER: &str = "[redacted]";

/// A header value as it may be shown: [`MARKER`] for secret headers ([`is_secret_header`]),
/// else the value with secret shapes scrubbed.
pub fn header_value<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    if is_secret_header(name) {
        Cow::Borrowed(MARKER)
    } else {
        scrub(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values() {
        assert_eq!(header_value("Authorization", "Bearer abc"), MARKER);
        assert_eq!(header_value("cookie", "sid=1"), MARKER);
        assert_eq!(header_value("X-Api-Key", "k"), MARKER);
        assert_eq!(
            header_value("Accept", "application/json"),
            "application/json"
        );
    }
}
