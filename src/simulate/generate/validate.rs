//! A small cache of compiled validators for request schemas.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use sha2::{Digest, Sha256};

const CAPACITY: usize = 512;

/// Compiled validators keyed by the SHA-256 of the schema text. A schema that
/// does not compile (remote `$ref`, bad keyword) is remembered as `None` and
/// its instances are returned unchecked.
#[derive(Default)]
pub(crate) struct Validators {
    map: Mutex<HashMap<[u8; 32], Option<Arc<jsonschema::Validator>>>>,
}

impl Validators {
    pub(crate) fn get(&self, schema: &Value) -> Option<Arc<jsonschema::Validator>> {
        let key: [u8; 32] = Sha256::digest(schema.to_string().as_bytes()).into();
        if let Some(hit) = self.lock().get(&key) {
            return hit.clone();
        }
        // Compile outside the lock; a concurrent duplicate compile is harmless.
        let compiled = jsonschema::validator_for(schema).ok().map(Arc::new);
        let mut map = self.lock();
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, compiled.clone());
        compiled
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Option<Arc<jsonschema::Validator>>>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
