//! The response cache of `/v1/chat/completions`: identical deterministic
//! requests (temperature 0) to a model that opted in (`cache_ttl_secs`) are
//! answered from memory until their TTL ends. Bounded: at most `capacity`
//! entries, expired ones dropped first, then the oldest.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::infer::ChatResponse;

/// What a cache hit returns: the answer and the model that gave it.
#[derive(Clone, Debug)]
pub struct Cached {
    pub response: ChatResponse,
    pub model: String,
}

struct Entry<V> {
    value: V,
    expires: Instant,
    inserted: u64,
}

/// Generic over what it holds: chat answers by default, connector
/// responses too (`connectors/`).
pub struct ResponseCache<V = Cached> {
    capacity: usize,
    inner: Mutex<Inner<V>>,
}

struct Inner<V> {
    entries: HashMap<String, Entry<V>>,
    /// Insertion order, for eviction.
    order: BTreeMap<u64, String>,
    next: u64,
}

impl<V: Clone> ResponseCache<V> {
    pub fn new(capacity: usize) -> ResponseCache<V> {
        ResponseCache {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                order: BTreeMap::new(),
                next: 0,
            }),
        }
    }

    pub fn get(&self, key: &str) -> Option<V> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = inner.entries.get(key)?;
        if entry.expires > Instant::now() {
            return Some(entry.value.clone());
        }
        let inserted = entry.inserted;
        inner.entries.remove(key);
        inner.order.remove(&inserted);
        None
    }

    pub fn put(&self, key: String, value: V, ttl: Duration) {
        let now = Instant::now();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = inner.entries.remove(&key) {
            inner.order.remove(&old.inserted);
        }
        if inner.entries.len() >= self.capacity {
            let expired: Vec<(u64, String)> = inner
                .entries
                .iter()
                .filter(|(_, e)| e.expires <= now)
                .map(|(k, e)| (e.inserted, k.clone()))
                .collect();
            for (seq, k) in expired {
                inner.entries.remove(&k);
                inner.order.remove(&seq);
            }
        }
        while inner.entries.len() >= self.capacity {
            let Some((_, oldest)) = inner.order.pop_first() else {
                break;
            };
            inner.entries.remove(&oldest);
        }
        let inserted = inner.next;
        inner.next += 1;
        inner.order.insert(inserted, key.clone());
        inner.entries.insert(
            key,
            Entry {
                value,
                expires: now + ttl,
                inserted,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cached(text: &str) -> Cached {
        Cached {
            response: ChatResponse {
                content: text.into(),
                ..ChatResponse::default()
            },
            model: "m".into(),
        }
    }

    #[test]
    fn entries_expire_and_capacity_evicts_the_oldest() {
        let c = ResponseCache::new(2);
        c.put("a".into(), cached("A"), Duration::from_secs(60));
        c.put("b".into(), cached("B"), Duration::from_secs(60));
        assert_eq!(c.get("a").unwrap().response.content, "A");
        c.put("c".into(), cached("C"), Duration::from_secs(60));
        assert!(c.get("a").is_none(), "the oldest is evicted");
        assert!(c.get("b").is_some() && c.get("c").is_some());
        c.put("d".into(), cached("D"), Duration::ZERO);
        assert!(c.get("d").is_none(), "expired at once");
    }
}
