//! A mock helpdesk: the business system the example pipeline acts on.
//!
//! `POST /helpdesk/<any path>` records the JSON body with its `Idempotency-Key`
//! and answers 201 `{"id": n, "duplicate": false}`; a repeat of a seen key
//! answers 200 `{"id": <original>, "duplicate": true}` without recording.
//! `GET /helpdesk/deliveries` lists what was recorded, `DELETE` clears it.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use serde_json::{Value, json};

struct Delivery {
    id: u64,
    path: String,
    key: Option<String>,
    body: Value,
    received_at: String,
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    by_key: HashMap<String, u64>,
    deliveries: Vec<Delivery>,
}

/// The in-memory helpdesk.
#[derive(Default)]
pub(crate) struct Helpdesk {
    inner: Mutex<Inner>,
}

impl Helpdesk {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Record a delivery; returns the status and the JSON answer.
    pub(crate) fn post(&self, path: &str, key: Option<&str>, body: &[u8]) -> (u16, Value) {
        let body: Value = if body.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => {
                    let msg = format!("request body is not valid JSON: {e}");
                    return (
                        400,
                        json!({"error": {"message": msg, "type": "invalid_request_error"}}),
                    );
                }
            }
        };
        let key = key.map(str::trim).filter(|k| !k.is_empty());
        let received_at = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
        let mut inner = self.lock();
        if let Some(k) = key
            && let Some(&id) = inner.by_key.get(k)
        {
            return (200, json!({"id": id, "duplicate": true}));
        }
        inner.next_id += 1;
        let id = inner.next_id;
        if let Some(k) = key {
            inner.by_key.insert(k.to_string(), id);
        }
        inner.deliveries.push(Delivery {
            id,
            path: path.to_string(),
            key: key.map(str::to_string),
            body,
            received_at,
        });
        (201, json!({"id": id, "duplicate": false}))
    }

    /// `{"deliveries": [...]}` in arrival order.
    pub(crate) fn list(&self) -> Value {
        let inner = self.lock();
        let list: Vec<Value> = inner
            .deliveries
            .iter()
            .map(|d| {
                json!({"id": d.id, "path": d.path, "idempotency_key": d.key, "body": d.body, "received_at": d.received_at})
            })
            .collect();
        json!({ "deliveries": list })
    }

    /// Forget everything (ids keep counting up).
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.deliveries.clear();
        inner.by_key.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedupes_by_idempotency_key() {
        let h = Helpdesk::default();
        assert_eq!(
            h.post("/helpdesk/tickets/1", Some("k1"), br#"{"a":1}"#),
            (201, json!({"id": 1, "duplicate": false}))
        );
        assert_eq!(
            h.post("/helpdesk/tickets/1", Some("k1"), br#"{"a":2}"#),
            (200, json!({"id": 1, "duplicate": true}))
        );
        assert_eq!(h.post("/helpdesk/tickets/2", None, br#"{"b":1}"#).0, 201);
        assert_eq!(h.post("/helpdesk/x", Some("k2"), b"not json").0, 400);
        let list = h.list();
        let d = list["deliveries"].as_array().unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0]["body"], json!({"a": 1}));
        assert_eq!(d[0]["idempotency_key"], "k1");
        assert_eq!(d[1]["idempotency_key"], Value::Null);
        assert!(d[0]["received_at"].as_str().unwrap().ends_with('Z'));
        h.clear();
        assert_eq!(h.list()["deliveries"], json!([]));
        assert_eq!(h.post("/helpdesk/t", Some("k1"), b"{}").1["id"], 3);
    }
}
