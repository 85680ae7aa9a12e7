//! The audit records a run collects as it passes the layers; they are
//! committed together with the run's result.

use serde_json::Value;

use crate::store::AuditEntry;

pub struct Trail {
    run_id: String,
    entries: Vec<AuditEntry>,
}

impl Trail {
    pub fn new(run_id: &str) -> Trail {
        Trail {
            run_id: run_id.to_string(),
            entries: Vec::with_capacity(8),
        }
    }

    pub fn push(&mut self, layer: &'static str, body: Value) {
        self.entries.push(AuditEntry {
            run_id: Some(self.run_id.clone()),
            layer,
            at: crate::clock::now_rfc3339(),
            body,
        });
    }

    pub fn into_entries(self) -> Vec<AuditEntry> {
        self.entries
    }
}
