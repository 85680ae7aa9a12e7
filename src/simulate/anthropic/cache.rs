//! Prompt caching: which cacheable prefixes have been seen.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

/// Prefixes remembered before the set is reset.
const CAPACITY: usize = 4096;

/// Hashes of the prefixes (model, tools, system) marked with
/// `cache_control`, so a repeat reads the cache and a first sight writes it.
#[derive(Debug, Default)]
pub(crate) struct PromptCache {
    seen: Mutex<HashSet<[u8; 32]>>,
}

impl PromptCache {
    /// Whether `key` was cached before; it is cached from now on.
    pub(crate) fn hit(&self, key: [u8; 32]) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.contains(&key) {
            return true;
        }
        if seen.len() >= CAPACITY {
            seen.clear();
        }
        seen.insert(key);
        false
    }
}
