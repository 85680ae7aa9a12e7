//! Reading the dead-letter queue, the same for `seam dlq` and
//! `/v1/admin/dlq`: an entry with its run and the run's whole audit trail
//! (every attempt, every earlier retry).

use serde_json::{Value, json};

use crate::store::{DeadFilter, Store, StoreError};

/// The entry named `id` (a run id) with its run and audit records, or
/// `None` when nothing of that run is in the dead-letter queue.
pub async fn show(store: &dyn Store, id: &str) -> Result<Option<Value>, StoreError> {
    let filter = DeadFilter {
        id: Some(id.to_string()),
        ..DeadFilter::default()
    };
    let Some(entry) = store.dead_entries(filter, 1).await?.into_iter().next() else {
        return Ok(None);
    };
    let run = store.get_run(id).await?;
    let records: Vec<Value> = store
        .audit_for_run(id)
        .await?
        .into_iter()
        .map(|r| {
            json!({
                "seq": r.seq,
                "layer": r.layer,
                "at": r.at,
                "record": serde_json::from_str::<Value>(&r.body).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(Some(
        json!({"entry": entry, "run": run, "records": records}),
    ))
}
