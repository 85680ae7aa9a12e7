//! Walk the whole chain and name the first broken record.

use serde::Serialize;

use super::chain::{GENESIS, link};
use crate::store::{AuditStore, Result};

#[derive(Debug, Serialize)]
pub struct ChainReport {
    pub records: u64,
    /// The head hash when the chain is intact.
    pub head: Option<String>,
    pub broken: Option<Broken>,
}

#[derive(Debug, Serialize)]
pub struct Broken {
    pub seq: i64,
    pub run_id: Option<String>,
    pub layer: String,
    pub reason: String,
}

pub async fn verify(store: &dyn AuditStore) -> Result<ChainReport> {
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut records = 0;
    loop {
        let page = store.audit_scan(expected_seq - 1, 1000).await?;
        if page.is_empty() {
            return Ok(ChainReport {
                records,
                head: (records > 0).then_some(prev),
                broken: None,
            });
        }
        for r in page {
            let reason = if r.seq != expected_seq {
                Some(format!(
                    "expected record {expected_seq}, found {} (records missing)",
                    r.seq
                ))
            } else if r.prev_hash != prev {
                Some("prev_hash does not match the hash of the record before".to_string())
            } else if link(&prev, r.seq, r.run_id.as_deref(), &r.layer, &r.at, &r.body) != r.hash {
                Some("content does not match its hash (the record was changed)".to_string())
            } else {
                None
            };
            if let Some(reason) = reason {
                return Ok(ChainReport {
                    records,
                    head: None,
                    broken: Some(Broken {
                        seq: r.seq,
                        run_id: r.run_id,
                        layer: r.layer,
                        reason,
                    }),
                });
            }
            prev = r.hash;
            expected_seq += 1;
            records += 1;
        }
    }
}
