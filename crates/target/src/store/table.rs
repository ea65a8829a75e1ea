//! A bounded table of one kind of record for one organization.
//!
//! Records live in a `HashMap` by id, with a `VecDeque` of ids in creation order beside it:
//! lists walk it backwards (newest first, the contract's order) and inserts past the cap pop
//! the oldest from the front. That is what keeps a process that runs for weeks at a fixed
//! size: at most `cap` records per organization and kind, each with at most
//! [`MAX_HISTORY`] history rows.
//!
//! Every record keeps its JSON rendering next to it, refreshed on each change: a list
//! response is then a concatenation of ready-made strings under the lock, not a serialisation
//! of every record on every request (lists are by far the most frequent call).

use std::collections::{HashMap, VecDeque};

use uuid::Uuid;

/// History rows kept per record (the oldest are dropped first).
pub const MAX_HISTORY: usize = 32;

/// What a table needs from its records.
pub trait Record {
    /// The record's id.
    fn id(&self) -> Uuid;
    /// The record as the contract's JSON object.
    fn render(&self) -> String;
}

/// A record with its rendering and its status history.
#[derive(Debug)]
pub struct Entry<T> {
    /// The record.
    pub rec: T,
    json: Box<str>,
    history: VecDeque<Box<str>>,
}

impl<T: Record> Entry<T> {
    fn new(rec: T) -> Entry<T> {
        let json = rec.render().into_boxed_str();
        Entry {
            rec,
            json,
            history: VecDeque::new(),
        }
    }

    /// The record's JSON.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// Adds a history row (rendered JSON), dropping the oldest past [`MAX_HISTORY`].
    pub fn push_history(&mut self, row: String) {
        if self.history.len() >= MAX_HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(row.into_boxed_str());
    }

    /// The history rows, newest first.
    pub fn history(&self) -> impl Iterator<Item = &str> {
        self.history.iter().rev().map(|r| &**r)
    }
}

/// The records of one kind for one organization.
#[derive(Debug)]
pub struct Table<T> {
    map: HashMap<Uuid, Entry<T>>,
    order: VecDeque<Uuid>,
    cap: usize,
}

impl<T: Record> Table<T> {
    /// An empty table holding at most `cap` records (at least one).
    pub fn new(cap: usize) -> Table<T> {
        Table {
            map: HashMap::new(),
            order: VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no record is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Adds a record as the newest; evicts the oldest past the cap and appends their ids to
    /// `evicted`.
    pub fn insert(&mut self, rec: T, evicted: &mut Vec<Uuid>) {
        while self.map.len() >= self.cap {
            match self.order.pop_front() {
                Some(old) => {
                    if self.map.remove(&old).is_some() {
                        evicted.push(old);
                    }
                }
                None => break,
            }
        }
        let id = rec.id();
        self.order.push_back(id);
        self.map.insert(id, Entry::new(rec));
    }

    /// The record with this id.
    pub fn get(&self, id: &Uuid) -> Option<&Entry<T>> {
        self.map.get(id)
    }

    /// Changes a record through `change`; the rendering is refreshed when it returns `Ok`.
    /// `None` when there is no such record. `change` must not modify the entry when it
    /// returns `Err`.
    pub fn modify<R, E>(
        &mut self,
        id: &Uuid,
        change: impl FnOnce(&mut Entry<T>) -> Result<R, E>,
    ) -> Option<Result<R, E>> {
        let entry = self.map.get_mut(id)?;
        let result = change(entry);
        if result.is_ok() {
            entry.json = entry.rec.render().into_boxed_str();
        }
        Some(result)
    }

    /// Runs `change` on every record; those for which it returns true are re-rendered.
    /// Returns how many changed.
    pub fn modify_each(&mut self, mut change: impl FnMut(&mut Entry<T>) -> bool) -> usize {
        let mut changed = 0;
        for entry in self.map.values_mut() {
            if change(entry) {
                entry.json = entry.rec.render().into_boxed_str();
                changed += 1;
            }
        }
        changed
    }

    /// Removes a record; false when there was none. (Linear in the table's size: deletes are
    /// rare, lists are not.)
    pub fn remove(&mut self, id: &Uuid) -> bool {
        if self.map.remove(id).is_none() {
            return false;
        }
        if let Some(pos) = self.order.iter().position(|x| x == id) {
            self.order.remove(pos);
        }
        true
    }

    /// The records, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &Entry<T>> {
        self.order.iter().rev().filter_map(|id| self.map.get(id))
    }

    /// Every id held.
    pub fn ids(&self) -> impl Iterator<Item = &Uuid> {
        self.map.keys()
    }

    /// Appends one page of the records that pass `keep`, newest first, as a JSON array to
    /// `out`, and returns how many records pass in all. The caller's buffer already holds the
    /// envelope's start, so the page is copied once, straight into the response body.
    pub fn write_page(
        &self,
        out: &mut Vec<u8>,
        keep: impl Fn(&T) -> bool,
        skip: usize,
        take: usize,
    ) -> usize {
        out.push(b'[');
        let mut total = 0usize;
        let mut written = 0usize;
        for entry in self.newest_first() {
            if !keep(&entry.rec) {
                continue;
            }
            if total >= skip && written < take {
                if written > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(entry.json.as_bytes());
                written += 1;
            }
            total += 1;
        }
        out.push(b']');
        total
    }

    /// [`Table::write_page`] into a new buffer.
    pub fn page_json(
        &self,
        keep: impl Fn(&T) -> bool,
        skip: usize,
        take: usize,
    ) -> (Vec<u8>, usize) {
        let mut out = Vec::with_capacity(2 + take.min(64) * 450);
        let total = self.write_page(&mut out, keep, skip, take);
        (out, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Rec(Uuid, u32);
    impl Record for Rec {
        fn id(&self) -> Uuid {
            self.0
        }
        fn render(&self) -> String {
            format!("{{\"n\":{}}}", self.1)
        }
    }

    fn id(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    #[test]
    fn evicts_the_oldest_past_the_cap() {
        let mut t = Table::new(3);
        let mut evicted = Vec::new();
        for n in 1..=5u8 {
            t.insert(Rec(id(n), u32::from(n)), &mut evicted);
        }
        assert_eq!(t.len(), 3);
        assert_eq!(evicted, vec![id(1), id(2)]);
        let (json, total) = t.page_json(|_| true, 0, 10);
        assert_eq!(total, 3);
        assert_eq!(
            String::from_utf8(json).unwrap(),
            r#"[{"n":5},{"n":4},{"n":3}]"#
        );
    }

    #[test]
    fn pages_filters_and_counts() {
        let mut t = Table::new(100);
        let mut ev = Vec::new();
        for n in 1..=10u8 {
            t.insert(Rec(id(n), u32::from(n)), &mut ev);
        }
        let (json, total) = t.page_json(|r| r.1 % 2 == 0, 1, 2);
        assert_eq!(total, 5);
        assert_eq!(String::from_utf8(json).unwrap(), r#"[{"n":8},{"n":6}]"#);
        let (json, total) = t.page_json(|_| true, 20, 5);
        assert_eq!((json, total), (b"[]".to_vec(), 10));
    }

    #[test]
    fn modify_rerenders_only_on_success_and_remove_forgets() {
        let mut t = Table::new(10);
        let mut ev = Vec::new();
        t.insert(Rec(id(1), 1), &mut ev);
        let r: Option<Result<(), ()>> = t.modify(&id(1), |e| {
            e.rec.1 = 7;
            e.push_history("h1".into());
            Ok(())
        });
        assert_eq!(r, Some(Ok(())));
        assert_eq!(t.get(&id(1)).unwrap().json(), r#"{"n":7}"#);
        assert_eq!(t.get(&id(1)).unwrap().history().collect::<Vec<_>>(), ["h1"]);
        assert!(t.modify(&id(9), |_| Ok::<(), ()>(())).is_none());
        assert!(t.remove(&id(1)));
        assert!(!t.remove(&id(1)));
        assert!(t.is_empty());
        assert_eq!(t.newest_first().count(), 0);
    }

    #[test]
    fn history_is_bounded() {
        let mut t = Table::new(1);
        let mut ev = Vec::new();
        t.insert(Rec(id(1), 1), &mut ev);
        for i in 0..100 {
            let _ = t.modify(&id(1), |e| {
                e.push_history(format!("{i}"));
                Ok::<(), ()>(())
            });
        }
        let rows: Vec<&str> = t.get(&id(1)).unwrap().history().collect();
        assert_eq!(rows.len(), MAX_HISTORY);
        assert_eq!(rows[0], "99");
    }
}
