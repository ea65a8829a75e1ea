//! The secret values one simulated user knows, and redaction of texts with them.
//!
//! Each user holds its own small set (a password, the token of its session, an API key), so
//! redacting a failure message costs a handful of substring searches over a short text; there
//! is no process-wide registry to lock. The set is bounded: at most [`MAX_SECRETS`] values of at
//! most [`MAX_SECRET_BYTES`] each. Values added with [`Secrets::pin`] (the scenario's secret
//! variables) stay; the others (tokens extracted or sent) are evicted oldest first, so a user
//! that logs in again and again keeps its newest tokens and never grows.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::MARKER;
use crate::scrub::scrub;

/// Most values one set keeps.
pub const MAX_SECRETS: usize = 16;
/// Longest value kept (bytes); a longer value is kept as its first bytes (a prefix, cut at a
/// character boundary), which still hides most of it.
pub const MAX_SECRET_BYTES: usize = 4096;
/// Shortest value kept (characters): shorter ones (`1`, `yes`) would blank out ordinary words
/// and numbers of every message, and are not secrets worth the name.
pub const MIN_SECRET_CHARS: usize = 4;

#[derive(Clone)]
struct Entry {
    value: Arc<str>,
    pinned: bool,
    /// Insertion order (for oldest-first eviction).
    age: u64,
}

/// A bounded set of secret values, and redaction of texts with them (see the module docs).
/// Cheap to clone (values are shared).
#[derive(Clone, Default)]
pub struct Secrets {
    /// Longest first, so a secret that contains another is replaced whole.
    entries: Vec<Entry>,
    /// Incremented on every change (see [`Secrets::generation`]).
    generation: u64,
}

impl fmt::Debug for Secrets {
    // Never prints the values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("values", &self.entries.len())
            .finish_non_exhaustive()
    }
}

impl Secrets {
    /// An empty set.
    pub fn new() -> Self {
        Secrets::default()
    }

    /// Adds a value that may be evicted (a token); returns whether the set changed. Values
    /// shorter than [`MIN_SECRET_CHARS`] are ignored. When the value holds characters a URL
    /// would percent-encode, the encoded form is added too (it is what a query string shows).
    pub fn add(&mut self, value: &str) -> bool {
        self.insert(value, false)
    }

    /// Adds a value that is never evicted (a secret variable of the scenario).
    pub fn pin(&mut self, value: &str) -> bool {
        self.insert(value, true)
    }

    /// Adds every value of `other` (keeping whether each is pinned); returns whether the set
    /// changed. Shares the values, never copies them.
    pub fn extend(&mut self, other: &Secrets) -> bool {
        let mut changed = false;
        for e in &other.entries {
            changed |= self.insert_shared(e.value.clone(), e.pinned);
        }
        changed
    }

    /// Makes every value evictable: the scenario that pinned them was replaced (a reload), so
    /// only its successor's secrets, pinned again by the caller, stay for good. Without this,
    /// each reload that changes a secret would pin one more value until no token fits.
    pub fn unpin_all(&mut self) {
        let mut changed = false;
        for e in self.entries.iter_mut().filter(|e| e.pinned) {
            e.pinned = false;
            changed = true;
        }
        if changed {
            self.generation += 1;
        }
    }

    /// A number that changes whenever the set does: a holder that copies this set elsewhere
    /// compares it to know whether to copy again.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Number of values kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no value is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// True when `text` contains a kept value.
    pub fn contains_in(&self, text: &str) -> bool {
        self.entries.iter().any(|e| text.contains(&*e.value))
    }

    /// `text` with every kept value replaced by [`MARKER`], then [`scrub`]bed. Borrows (no
    /// allocation) when there is nothing to replace.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out: Cow<'a, str> = Cow::Borrowed(text);
        for e in &self.entries {
            if out.contains(&*e.value) {
                out = Cow::Owned(out.replace(&*e.value, MARKER));
            }
        }
        match out {
            Cow::Borrowed(t) => scrub(t),
            Cow::Owned(t) => match scrub(&t) {
                Cow::Borrowed(_) => Cow::Owned(t),
                Cow::Owned(s) => Cow::Owned(s),
            },
        }
    }

    /// Like [`Secrets::redact`], for a shared text: the same `Arc` back when nothing changed.
    pub fn redact_arc(&self, text: &Arc<str>) -> Arc<str> {
        match self.redact(text) {
            Cow::Borrowed(_) => text.clone(),
            Cow::Owned(s) => Arc::from(s),
        }
    }

    fn insert(&mut self, value: &str, pinned: bool) -> bool {
        let value = cut(value);
        // The common case (a token sent again) must not allocate.
        if let Some(e) = self.entries.iter().find(|e| &*e.value == value)
            && (e.pinned || !pinned)
        {
            return false;
        }
        let mut changed = self.insert_shared(Arc::from(value), pinned);
        if let Some(encoded) = percent_encoded(value) {
            changed |= self.insert_shared(Arc::from(encoded), pinned);
        }
        changed
    }

    fn insert_shared(&mut self, value: Arc<str>, pinned: bool) -> bool {
        if value.chars().count() < MIN_SECRET_CHARS {
            return false;
        }
        let value = if value.len() > MAX_SECRET_BYTES {
            Arc::from(cut(&value))
        } else {
            value
        };
        if let Some(e) = self.entries.iter_mut().find(|e| e.value == value) {
            if pinned && !e.pinned {
                e.pinned = true;
                self.generation += 1;
                return true;
            }
            return false;
        }
        if self.entries.len() >= MAX_SECRETS {
            // Evict the oldest value that may go; when all are pinned, the new one is dropped
            // (the shapes scrubbed by `scrub` still apply to it).
            let oldest = self
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.pinned)
                .min_by_key(|(_, e)| e.age)
                .map(|(i, _)| i);
            match oldest {
                Some(i) => {
                    self.entries.remove(i);
                }
                None => return false,
            }
        }
        self.generation += 1;
        let at = self
            .entries
            .iter()
            .position(|e| e.value.len() < value.len())
            .unwrap_or(self.entries.len());
        self.entries.insert(
            at,
            Entry {
                value,
                pinned,
                age: self.generation,
            },
        );
        true
    }
}

/// `value` cut to at most [`MAX_SECRET_BYTES`], at a character boundary.
fn cut(value: &str) -> &str {
    if value.len() <= MAX_SECRET_BYTES {
        return value;
    }
    let mut end = MAX_SECRET_BYTES;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// The percent-encoded form of `value` (RFC 3986 unreserved characters kept), when it differs.
fn percent_encoded(value: &str) -> Option<String> {
    let keep = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    if value.bytes().all(keep) {
        return None;
    }
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_are_replaced() {
        let mut s = Secrets::new();
        assert!(s.pin("hunter2!"));
        assert!(s.add("tok-123456"));
        assert!(!s.add("tok-123456"), "no duplicates");
        assert!(!s.add("abc"), "too short");
        assert_eq!(
            s.redact("login hunter2! with tok-123456 twice tok-123456"),
            "login [redacted] with [redacted] twice [redacted]"
        );
        assert_eq!(s.redact("/x?p=hunter2%21"), "/x?p=[redacted]");
        assert!(matches!(s.redact("nothing here"), Cow::Borrowed(_)));
        assert!(s.contains_in("a tok-123456"));
        assert_eq!(format!("{s:?}"), "Secrets { values: 3, .. }");
    }

    #[test]
    fn longer_secrets_win_over_their_substrings() {
        let mut s = Secrets::new();
        s.add("abcd");
        s.add("abcdefgh");
        assert_eq!(s.redact("x abcdefgh y abcd"), "x [redacted] y [redacted]");
    }

    #[test]
    fn scrubbing_applies_too() {
        let s = Secrets::new();
        assert_eq!(s.redact("?token=xyz"), "?token=[redacted]");
        let arc: Arc<str> = Arc::from("plain");
        assert!(Arc::ptr_eq(&s.redact_arc(&arc), &arc));
    }

    #[test]
    fn bounded_and_pinned_values_stay() {
        let mut s = Secrets::new();
        s.pin("the-password");
        for i in 0..100 {
            s.add(&format!("token-{i:04}"));
        }
        assert_eq!(s.len(), MAX_SECRETS);
        assert_eq!(s.redact("the-password"), MARKER);
        assert_eq!(s.redact("token-0099"), MARKER);
        assert_eq!(s.redact("token-0000"), "token-0000", "oldest evicted");
        let g = s.generation();
        s.add("token-0099");
        assert_eq!(s.generation(), g);
        s.add("token-0100");
        assert!(s.generation() > g);
    }

    #[test]
    fn all_pinned_refuses_more() {
        let mut s = Secrets::new();
        for i in 0..MAX_SECRETS + 5 {
            s.pin(&format!("pinned-{i:04}"));
        }
        assert_eq!(s.len(), MAX_SECRETS);
    }

    #[test]
    fn unpinned_values_make_room_again() {
        let mut s = Secrets::new();
        for i in 0..MAX_SECRETS {
            s.pin(&format!("pinned-{i:04}"));
        }
        assert!(!s.add("token-new"), "all pinned: refused");
        s.unpin_all();
        assert!(s.add("token-new"), "the oldest unpinned value makes room");
        assert_eq!(s.len(), MAX_SECRETS);
        assert_eq!(s.redact("token-new"), MARKER);
    }

    #[test]
    fn long_values_are_cut_at_a_char_boundary() {
        let mut s = Secrets::new();
        let long = "é".repeat(MAX_SECRET_BYTES);
        s.add(&long);
        assert!(!s.is_empty());
        assert!(s.redact(&long).starts_with(MARKER));
    }

    #[test]
    fn extend_shares_values() {
        let mut a = Secrets::new();
        a.pin("password123");
        let mut b = Secrets::new();
        assert!(b.extend(&a));
        assert!(!b.extend(&a));
        assert_eq!(b.redact("password123"), MARKER);
    }
}
