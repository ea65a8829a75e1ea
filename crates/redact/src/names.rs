//! Which names (of variables, environment variables, fields, query parameters, headers) hold
//! secrets. One rule for all of them, documented in the crate docs and `docs/scenarios.md`.

/// Words that make a name secret on their own.
const WORDS: &[&str] = &[
    "token",
    "tokens",
    "jwt",
    "password",
    "passwords",
    "passwd",
    "pass",
    "pwd",
    "passphrase",
    "secret",
    "secrets",
    "credential",
    "credentials",
    "apikey",
    "auth",
    "authorization",
    "cookie",
    "cookies",
    "bearer",
    "signature",
    "sessionid",
    "jsessionid",
];

/// Word endings that make a name secret (`accesstoken`, `dbpassword`, `clientsecret`).
const ENDINGS: &[&str] = &["token", "password", "secret"];

/// Two consecutive words that make a name secret (`api_key`, `X-Api-Key`, `session_id`).
const PAIRS: &[(&str, &str)] = &[
    ("api", "key"),
    ("access", "key"),
    ("private", "key"),
    ("secret", "key"),
    ("session", "id"),
];

/// Longest name looked at (bytes); longer names are judged on this prefix.
const MAX_NAME: usize = 128;

/// True when a variable, field or parameter named `name` holds a secret (see the crate docs for
/// the rule). Case and separators do not matter: `refresh_token`, `refreshToken`,
/// `REFRESH-TOKEN` are all secret.
pub fn is_secret_name(name: &str) -> bool {
    let mut words = Words::new(name);
    let mut previous = [0u8; MAX_NAME];
    let mut previous_len = 0usize;
    while let Some(word) = words.next_word() {
        let w = &word.buf[..word.len];
        if let Ok(w) = std::str::from_utf8(w) {
            if WORDS.contains(&w) || ENDINGS.iter().any(|e| w.len() > e.len() && w.ends_with(e)) {
                return true;
            }
            if let Ok(p) = std::str::from_utf8(&previous[..previous_len])
                && PAIRS.iter().any(|(a, b)| *a == p && *b == w)
            {
                return true;
            }
        }
        previous[..word.len].copy_from_slice(w);
        previous_len = word.len;
    }
    false
}

/// True when a header named `name` carries credentials: `Authorization`,
/// `Proxy-Authorization`, `Cookie`, `Set-Cookie`, `X-Api-Key`, `X-Auth-Token` and every other
/// name [`is_secret_name`] calls secret.
pub fn is_secret_header(name: &str) -> bool {
    is_secret_name(name)
}

/// One lower-cased word, on the stack (names are short; longer words are cut).
struct Word {
    buf: [u8; MAX_NAME],
    len: usize,
}

/// Splits a name into lower-case ASCII words at separators (anything not alphanumeric) and at
/// lower-to-upper case changes (`accessToken` -> `access`, `token`).
struct Words<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Words<'a> {
    fn new(name: &'a str) -> Self {
        let bytes = name.as_bytes();
        Words {
            bytes: &bytes[..bytes.len().min(MAX_NAME * 4)],
            at: 0,
        }
    }

    fn next_word(&mut self) -> Option<Word> {
        let b = self.bytes;
        while self.at < b.len() && !b[self.at].is_ascii_alphanumeric() {
            self.at += 1;
        }
        if self.at >= b.len() {
            return None;
        }
        let mut word = Word {
            buf: [0; MAX_NAME],
            len: 0,
        };
        let mut i = self.at;
        while i < b.len() && b[i].is_ascii_alphanumeric() {
            if i > self.at && b[i].is_ascii_uppercase() && b[i - 1].is_ascii_lowercase() {
                break;
            }
            if word.len < MAX_NAME {
                word.buf[word.len] = b[i].to_ascii_lowercase();
                word.len += 1;
            }
            i += 1;
        }
        self.at = i;
        Some(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in [
            "token",
            "auth_token",
            "refresh_token",
            "accessToken",
            "AUTH-TOKEN",
            "jwt",
            "password",
            "DB_PASSWORD",
            "userPassword",
            "secret",
            "client_secret",
            "api_key",
            "apiKey",
            "X-Api-Key",
            "apikey",
            "Authorization",
            "Proxy-Authorization",
            "Cookie",
            "Set-Cookie",
            "X-Auth-Token",
            "x-amz-security-token",
            "AWS_SECRET_ACCESS_KEY",
            "private_key",
            "session_id",
            "JSESSIONID",
            "X-Amz-Signature",
            "pwd",
            "DB_PASS",
        ] {
            assert!(is_secret_name(name), "{name} should be secret");
        }
    }

    #[test]
    fn ordinary_names() {
        for name in [
            "",
            "user_id",
            "quote_id",
            "trace_id",
            "user_type",
            "task",
            "host",
            "monkey",
            "sort_key",
            "author",
            "keyboard",
            "Content-Type",
            "Accept",
            "traceparent",
            "baggage",
            "x-request-id",
            "tokenizer_mode",
            "___",
            "passenger",
            "bypass_cache",
        ] {
            assert!(!is_secret_name(name), "{name} should not be secret");
        }
    }

    #[test]
    fn long_and_odd_names_do_not_panic() {
        let long = "a".repeat(10_000) + "_token";
        let _ = is_secret_name(&long);
        assert!(is_secret_name(&("x_".repeat(100) + "token")));
        assert!(!is_secret_name("é_ü_日本"));
    }
}
