//! The one rule every target host obeys, wherever it comes from (`-H`, `CICADA_HOST`,
//! `LOCUST_HOST`, a scenario's `host:`, the web UI's Start form): no credentials in the URL.
//!
//! The host is shown in `/api/info`, the reports (JSON, CSV, HTML), the Start form and the
//! logs; a `user:password@` in it would put the password in all of them. Credentials belong
//! in a header (`Authorization`) built from the scenario's `secrets`, which are redacted.

/// The error every place that refuses such a host shows (never the URL itself).
pub const HOST_CREDENTIALS_MESSAGE: &str = "host must not contain credentials (user:password@); \
     put them in a header or the scenario's secrets";

/// Whether `url` has user information (`user@`, `user:password@`) in its authority, the part
/// between `scheme://` and the first `/`, `?` or `#`. Works on text that is not a valid URL
/// too, so a malformed URL with a password is refused without being echoed.
pub fn host_has_credentials(url: &str) -> bool {
    let Some((_, rest)) = url.trim().split_once("://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    authority.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_information_is_found_in_the_authority_only() {
        for with in [
            "http://user:pass@127.0.0.1:8080",
            "https://user@api.example.com",
            "http://:secret@h",
            " http://a:b@h/x?y=1 ",
            "http://a:b:c@@h",
        ] {
            assert!(host_has_credentials(with), "{with}");
        }
        for without in [
            "http://127.0.0.1:8080",
            "https://api.example.com/a@b",
            "http://h?x=a@b",
            "http://h#a@b",
            "127.0.0.1:8080",
            "",
        ] {
            assert!(!host_has_credentials(without), "{without}");
        }
    }
}
