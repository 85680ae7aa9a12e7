//! A run's audit records, printed for people.

use serde_json::Value;

use crate::store::StoredAudit;

/// Render records as an indented, readable block per layer.
pub fn render_run(records: &[StoredAudit]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&format!(
            "#{:<6} {:<8} {}  hash {}\n",
            r.seq,
            r.layer,
            r.at,
            &r.hash[..16.min(r.hash.len())]
        ));
        let body: Value = serde_json::from_str(&r.body).unwrap_or(Value::String(r.body.clone()));
        let pretty = serde_json::to_string_pretty(&body).unwrap_or_default();
        for line in pretty.lines() {
            out.push_str("    ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}
