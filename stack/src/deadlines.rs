//! A queue of deadlines by key: which of many things (connections, TIME-WAIT entries) is
//! due next, in O(log n), however many there are.
//!
//! Each key has at most one deadline. Setting it again moves it; the queue is ordered by
//! (deadline, key), so things due at the same instant come out in the same order on every
//! replay.

use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

use crate::time::Instant;

/// Deadlines of keys `K`.
#[derive(Debug)]
pub struct Deadlines<K> {
    by_time: BTreeSet<(Instant, K)>,
    by_key: HashMap<K, Instant>,
}

impl<K> Default for Deadlines<K> {
    fn default() -> Self {
        Deadlines {
            by_time: BTreeSet::new(),
            by_key: HashMap::new(),
        }
    }
}

impl<K: Copy + Ord + Hash> Deadlines<K> {
    /// Sets `key`'s deadline to `at`, or removes it for `None`.
    pub fn set(&mut self, key: K, at: Option<Instant>) {
        let old = match at {
            Some(at) => self.by_key.insert(key, at),
            None => self.by_key.remove(&key),
        };
        if old == at {
            return;
        }
        if let Some(old) = old {
            self.by_time.remove(&(old, key));
        }
        if let Some(at) = at {
            self.by_time.insert((at, key));
        }
    }

    /// `key`'s deadline, if it has one.
    pub fn get(&self, key: K) -> Option<Instant> {
        self.by_key.get(&key).copied()
    }

    /// The earliest deadline.
    pub fn next(&self) -> Option<Instant> {
        self.by_time.first().map(|&(at, _)| at)
    }

    /// Removes and returns a key whose deadline is at or before `now`, earliest first.
    pub fn pop_due(&mut self, now: Instant) -> Option<K> {
        let &(at, key) = self.by_time.first()?;
        if at > now {
            return None;
        }
        self.by_time.remove(&(at, key));
        self.by_key.remove(&key);
        Some(key)
    }

    /// Keys with a deadline.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when no key has a deadline.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Every key with its deadline, in no particular order (for display).
    pub fn iter(&self) -> impl Iterator<Item = (K, Instant)> + '_ {
        self.by_key.iter().map(|(&k, &at)| (k, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Instant {
        Instant::from_millis(ms)
    }

    #[test]
    fn the_earliest_comes_out_first_and_moving_a_deadline_moves_it() {
        let mut d = Deadlines::default();
        d.set('a', Some(t(30)));
        d.set('b', Some(t(10)));
        d.set('c', Some(t(20)));
        assert_eq!(d.next(), Some(t(10)));
        d.set('b', Some(t(40)));
        assert_eq!(d.next(), Some(t(20)));
        d.set('c', None);
        assert_eq!((d.len(), d.next()), (2, Some(t(30))));
        assert_eq!(d.pop_due(t(29)), None);
        assert_eq!(d.pop_due(t(100)), Some('a'));
        assert_eq!(d.pop_due(t(100)), Some('b'));
        assert_eq!(d.pop_due(t(100)), None);
        assert!(d.is_empty());
    }

    #[test]
    fn ties_come_out_in_key_order() {
        let mut d = Deadlines::default();
        for k in [3, 1, 2] {
            d.set(k, Some(t(5)));
        }
        let order: Vec<_> = std::iter::from_fn(|| d.pop_due(t(5))).collect();
        assert_eq!(order, [1, 2, 3]);
    }
}
