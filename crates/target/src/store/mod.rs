//! The in-memory data of the stand-in: what the user, policy, claims and quotes services keep
//! in their databases.
//!
//! # Layout and locking
//!
//! - [`Directory`]: organizations and users behind one `RwLock` (read-mostly).
//! - One [`Bucket`] per organization id seen in a token, holding three [`Table`]s (policies,
//!   claims, quotes), each behind its own `Mutex`. Lists, the hot path, lock only the caller's
//!   organization's table of one kind, for the time it takes to copy pre-rendered JSON.
//! - An id index (16 sharded `Mutex<HashMap>`s) from record id to its bucket, because reads
//!   and updates by id do not check the organization (the contract's quirk), so they cannot
//!   start from the caller's bucket.
//!
//! No lock is ever held across an `.await` (the store is synchronous), and no two table locks
//! are held at once; the only nesting is table → index shard, never the reverse, so there is
//! no deadlock. Buckets are kept apart from the directory on purpose: in the real system they
//! are separate databases, so a token's organization need not exist in the user-service.
//!
//! # Bounds
//!
//! At most `max_records` records per organization and kind (the oldest are evicted), at most
//! `max_organizations` buckets (the oldest non-seeded bucket is evicted whole), and at most
//! [`table::MAX_HISTORY`] history rows per record.

pub mod claims;
pub mod directory;
pub mod enums;
pub mod history;
pub mod list_filter;
pub mod policies;
pub mod quotes;
pub mod table;
pub mod users;

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use prometheus_client::metrics::counter::Counter;
use uuid::Uuid;

pub use claims::Claim;
pub use directory::Directory;
pub use policies::Policy;
pub use quotes::Quote;
pub use table::{Entry, Record, Table};

use crate::seed::Seed;

/// Shards of the id index (a power of two).
const INDEX_SHARDS: usize = 16;

/// The kinds of record the traffic creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Policies.
    Policy,
    /// Claims.
    Claim,
    /// Quotes.
    Quote,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 3] = [Kind::Policy, Kind::Claim, Kind::Quote];

    /// Lower-case plural, for metric labels.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Policy => "policies",
            Kind::Claim => "claims",
            Kind::Quote => "quotes",
        }
    }
}

/// One organization's records.
#[derive(Debug)]
pub struct Bucket {
    /// The organization id.
    pub org: Uuid,
    policies: Mutex<Table<Policy>>,
    claims: Mutex<Table<Claim>>,
    quotes: Mutex<Table<Quote>>,
}

/// A record kind kept in buckets.
pub trait Stored: Record + Sized {
    /// Its kind.
    const KIND: Kind;
    /// Its table in a bucket.
    fn table(bucket: &Bucket) -> &Mutex<Table<Self>>;
}

impl Stored for Policy {
    const KIND: Kind = Kind::Policy;
    fn table(bucket: &Bucket) -> &Mutex<Table<Policy>> {
        &bucket.policies
    }
}

impl Stored for Claim {
    const KIND: Kind = Kind::Claim;
    fn table(bucket: &Bucket) -> &Mutex<Table<Claim>> {
        &bucket.claims
    }
}

impl Stored for Quote {
    const KIND: Kind = Kind::Quote;
    fn table(bucket: &Bucket) -> &Mutex<Table<Quote>> {
        &bucket.quotes
    }
}

/// Locks a mutex, ignoring poisoning: every critical section leaves the data consistent
/// (nothing in them panics by design), so a poisoned lock carries no broken invariant.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct Buckets {
    map: HashMap<Uuid, Arc<Bucket>>,
    order: VecDeque<Uuid>,
    protected: HashSet<Uuid>,
}

type Shard = Mutex<HashMap<Uuid, (Kind, Arc<Bucket>)>>;

#[derive(Debug)]
struct IdIndex {
    shards: Vec<Shard>,
}

impl IdIndex {
    fn new() -> IdIndex {
        IdIndex {
            shards: (0..INDEX_SHARDS)
                .map(|_| Mutex::new(HashMap::new()))
                .collect(),
        }
    }

    fn shard(&self, id: &Uuid) -> &Shard {
        // v4 UUIDs are random in their first byte; the modulo keeps this total.
        let i = usize::from(id.as_bytes()[0]) % self.shards.len().max(1);
        &self.shards[i]
    }

    fn insert(&self, id: Uuid, kind: Kind, bucket: Arc<Bucket>) {
        lock(self.shard(&id)).insert(id, (kind, bucket));
    }

    fn get(&self, id: &Uuid, kind: Kind) -> Option<Arc<Bucket>> {
        let shard = lock(self.shard(id));
        match shard.get(id) {
            Some((k, b)) if *k == kind => Some(Arc::clone(b)),
            _ => None,
        }
    }

    fn remove(&self, id: &Uuid) {
        lock(self.shard(id)).remove(id);
    }
}

/// Size limits of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Records per organization and kind (also users per organization).
    pub max_records: usize,
    /// Organizations (directory entries and record buckets).
    pub max_organizations: usize,
}

/// Counters the store bumps (shared with `/metrics`).
#[derive(Debug, Clone, Default)]
pub struct StoreCounters {
    /// Records evicted, by kind (policies, claims, quotes).
    pub evictions: [Counter; 3],
}

/// All the data.
#[derive(Debug)]
pub struct Store {
    directory: RwLock<Directory>,
    buckets: RwLock<Buckets>,
    index: IdIndex,
    caps: Caps,
    counters: StoreCounters,
}

impl Store {
    /// The seeded store.
    pub fn new(seed: &Seed, start_ms: i64, caps: Caps, counters: StoreCounters) -> Store {
        let directory =
            Directory::from_seed(seed, start_ms, caps.max_organizations, caps.max_records);
        let buckets = Buckets {
            protected: seed.organizations.iter().map(|o| o.id).collect(),
            ..Buckets::default()
        };
        Store {
            directory: RwLock::new(directory),
            buckets: RwLock::new(buckets),
            index: IdIndex::new(),
            caps: Caps {
                max_records: caps.max_records.max(1),
                max_organizations: caps.max_organizations.max(1),
            },
            counters,
        }
    }

    /// Reads the directory.
    pub fn directory(&self) -> RwLockReadGuard<'_, Directory> {
        read(&self.directory)
    }

    /// Changes the directory.
    pub fn directory_mut(&self) -> RwLockWriteGuard<'_, Directory> {
        write(&self.directory)
    }

    /// The bucket of an organization, if it has one.
    pub fn bucket(&self, org: &Uuid) -> Option<Arc<Bucket>> {
        read(&self.buckets).map.get(org).cloned()
    }

    /// The bucket of an organization, created (and the oldest non-seeded one evicted past
    /// the cap) when missing.
    pub fn bucket_or_create(&self, org: Uuid) -> Arc<Bucket> {
        if let Some(b) = self.bucket(&org) {
            return b;
        }
        let mut evicted = None;
        let bucket = {
            let mut buckets = write(&self.buckets);
            if let Some(b) = buckets.map.get(&org) {
                return Arc::clone(b);
            }
            if buckets.map.len() >= self.caps.max_organizations {
                let victim = buckets
                    .order
                    .iter()
                    .position(|o| !buckets.protected.contains(o));
                if let Some(pos) = victim
                    && let Some(old) = buckets.order.remove(pos)
                {
                    evicted = buckets.map.remove(&old);
                }
            }
            let cap = self.caps.max_records;
            let bucket = Arc::new(Bucket {
                org,
                policies: Mutex::new(Table::new(cap)),
                claims: Mutex::new(Table::new(cap)),
                quotes: Mutex::new(Table::new(cap)),
            });
            buckets.map.insert(org, Arc::clone(&bucket));
            buckets.order.push_back(org);
            bucket
        };
        if let Some(old) = evicted {
            self.forget_bucket(&old);
        }
        bucket
    }

    /// Drops the index entries of an evicted bucket (after the buckets lock is released).
    fn forget_bucket(&self, bucket: &Bucket) {
        self.forget_ids::<Policy>(bucket);
        self.forget_ids::<Claim>(bucket);
        self.forget_ids::<Quote>(bucket);
    }

    fn forget_ids<T: Stored>(&self, bucket: &Bucket) {
        let table = lock(T::table(bucket));
        let n = table.len() as u64;
        for id in table.ids() {
            self.index.remove(id);
        }
        self.evictions(T::KIND).inc_by(n);
    }

    fn evictions(&self, kind: Kind) -> &Counter {
        let i = match kind {
            Kind::Policy => 0,
            Kind::Claim => 1,
            Kind::Quote => 2,
        };
        &self.counters.evictions[i]
    }

    /// Stores a new record in `org`'s bucket (evicting the oldest of its kind past the cap).
    pub fn insert<T: Stored>(&self, org: Uuid, rec: T) {
        let bucket = self.bucket_or_create(org);
        let id = rec.id();
        let mut evicted = Vec::new();
        lock(T::table(&bucket)).insert(rec, &mut evicted);
        self.index.insert(id, T::KIND, bucket);
        for old in &evicted {
            self.index.remove(old);
        }
        self.evictions(T::KIND).inc_by(evicted.len() as u64);
    }

    /// Reads the record `id`, whatever its organization.
    pub fn read<T: Stored, R>(&self, id: &Uuid, f: impl FnOnce(&Entry<T>) -> R) -> Option<R> {
        let bucket = self.index.get(id, T::KIND)?;
        let table = lock(T::table(&bucket));
        table.get(id).map(f)
    }

    /// Changes the record `id`, whatever its organization (see [`Table::modify`]).
    pub fn modify<T: Stored, R, E>(
        &self,
        id: &Uuid,
        f: impl FnOnce(&mut Entry<T>) -> Result<R, E>,
    ) -> Option<Result<R, E>> {
        let bucket = self.index.get(id, T::KIND)?;
        let mut table = lock(T::table(&bucket));
        table.modify(id, f)
    }

    /// Deletes the record `id`; false when there was none.
    pub fn remove<T: Stored>(&self, id: &Uuid) -> bool {
        let Some(bucket) = self.index.get(id, T::KIND) else {
            return false;
        };
        let removed = lock(T::table(&bucket)).remove(id);
        if removed {
            self.index.remove(id);
        }
        removed
    }

    /// Appends one page of `org`'s records of a kind that pass `keep`, newest first, as a
    /// JSON array to `out`; returns the number that pass in all.
    pub fn write_page<T: Stored>(
        &self,
        org: &Uuid,
        out: &mut Vec<u8>,
        keep: impl Fn(&T) -> bool,
        skip: usize,
        take: usize,
    ) -> usize {
        match self.bucket(org) {
            Some(bucket) => lock(T::table(&bucket)).write_page(out, keep, skip, take),
            None => {
                out.extend_from_slice(b"[]");
                0
            }
        }
    }

    /// [`Store::write_page`] into a new buffer.
    pub fn page<T: Stored>(
        &self,
        org: &Uuid,
        keep: impl Fn(&T) -> bool,
        skip: usize,
        take: usize,
    ) -> (Vec<u8>, usize) {
        let mut out = Vec::new();
        let total = self.write_page(org, &mut out, keep, skip, take);
        (out, total)
    }

    /// Runs `change` on every record of a kind of `org` (see [`Table::modify_each`]).
    pub fn modify_each<T: Stored>(
        &self,
        org: &Uuid,
        change: impl FnMut(&mut Entry<T>) -> bool,
    ) -> usize {
        match self.bucket(org) {
            Some(bucket) => lock(T::table(&bucket)).modify_each(change),
            None => 0,
        }
    }

    /// Records of a kind held in all (for `/metrics`).
    pub fn count(&self, kind: Kind) -> usize {
        let buckets: Vec<Arc<Bucket>> = read(&self.buckets).map.values().cloned().collect();
        buckets
            .iter()
            .map(|b| match kind {
                Kind::Policy => lock(&b.policies).len(),
                Kind::Claim => lock(&b.claims).len(),
                Kind::Quote => lock(&b.quotes).len(),
            })
            .sum()
    }

    /// Organizations with a bucket.
    pub fn bucket_count(&self) -> usize {
        read(&self.buckets).map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use crate::seed::DEFAULT_SEED;
    use enums::{PolicyStatus, PolicyType};

    fn policy(org: Uuid, n: i64) -> Policy {
        Policy {
            id: Uuid::new_v4(),
            user_id: Uuid::nil(),
            organization_id: org,
            policy_number: format!("POL-{n}"),
            kind: PolicyType::Auto,
            status: PolicyStatus::Active,
            start_date: 0,
            end_date: 0,
            premium: Money::from_cents(100),
            coverage_amount: Money::from_cents(100),
            created_at: n,
            updated_at: n,
        }
    }

    fn store(max_records: usize, max_organizations: usize) -> Store {
        Store::new(
            &Seed::generate(DEFAULT_SEED),
            0,
            Caps {
                max_records,
                max_organizations,
            },
            StoreCounters::default(),
        )
    }

    #[test]
    fn eviction_drops_index_entries_and_counts() {
        let s = store(2, 100);
        let org = Uuid::new_v4();
        let ps: Vec<Policy> = (0..4).map(|n| policy(org, n)).collect();
        let ids: Vec<Uuid> = ps.iter().map(|p| p.id).collect();
        for p in ps {
            s.insert(org, p);
        }
        assert!(s.read::<Policy, _>(&ids[0], |_| ()).is_none());
        assert!(s.read::<Policy, _>(&ids[3], |_| ()).is_some());
        assert_eq!(s.count(Kind::Policy), 2);
        assert_eq!(s.counters.evictions[0].get(), 2);
        // An id of another kind is not found.
        assert!(s.read::<Claim, _>(&ids[3], |_| ()).is_none());
    }

    #[test]
    fn buckets_are_bounded_and_seeded_ones_stay() {
        let seed = Seed::generate(DEFAULT_SEED);
        let s = store(10, 31);
        let seeded = seed.organizations[0].id;
        let p = policy(seeded, 0);
        let kept = p.id;
        s.insert(seeded, p);
        let mut last = Uuid::nil();
        let mut first_other = None;
        for n in 0..40 {
            last = Uuid::new_v4();
            first_other.get_or_insert(last);
            let p = policy(last, n);
            s.insert(last, p);
        }
        assert!(s.bucket_count() <= 31);
        assert!(s.bucket(&seeded).is_some());
        assert!(s.read::<Policy, _>(&kept, |_| ()).is_some());
        assert!(s.bucket(&last).is_some());
        assert!(s.bucket(&first_other.unwrap()).is_none());
    }

    #[test]
    fn remove_and_page() {
        let s = store(10, 100);
        let org = Uuid::new_v4();
        let p = policy(org, 1);
        let id = p.id;
        s.insert(org, p);
        assert_eq!(s.page::<Policy>(&org, |_| true, 0, 10).1, 1);
        assert!(s.remove::<Policy>(&id));
        assert!(!s.remove::<Policy>(&id));
        assert_eq!(s.page::<Policy>(&Uuid::nil(), |_| true, 0, 10).1, 0);
    }
}
