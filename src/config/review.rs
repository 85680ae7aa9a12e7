//! `[pipelines.NAME.review]` checked against the output schema: pointers
//! must name declared properties, `min_confidence` lies in 0..=1, and the
//! two confidence keys come together.

use super::load::{Report, schema_declares};
use super::raw::RawReview;
use crate::pipeline::review::{Confidence, Insufficient, ReviewPolicy};
use crate::schema::JsonSchema;

pub(super) fn check(
    r: &mut Report<'_>,
    name: &str,
    raw: &RawReview,
    schema: Option<&JsonSchema>,
) -> ReviewPolicy {
    let mut policy = ReviewPolicy::default();
    let pointer_ok = |r: &mut Report<'_>, key: &[&str], ptr: &str| -> bool {
        if !ptr.starts_with('/') {
            r.at(
                key,
                format!("`{ptr}` is not a JSON pointer into the output (like `/confidence`)"),
            );
            return false;
        }
        if let Some(s) = schema
            && !schema_declares(&s.source, ptr)
        {
            r.at(
                key,
                format!("`{ptr}` is not a property declared by the output schema"),
            );
            return false;
        }
        true
    };
    if let Some(ins) = &raw.insufficient {
        let key = ["pipelines", name, "review", "insufficient", "pointer"];
        let ok = pointer_ok(r, &key, &ins.pointer);
        let values: Vec<serde_json::Value> = ins
            .values
            .iter()
            .filter_map(|v| serde_json::to_value(v).ok())
            .collect();
        if values.is_empty() {
            r.at(
                &["pipelines", name, "review", "insufficient", "values"],
                "name at least one value that means \"insufficient information\"",
            );
        } else if ok {
            policy.insufficient = Some(Insufficient {
                pointer: ins.pointer.clone(),
                values,
            });
        }
    }
    match (&raw.confidence, raw.min_confidence) {
        (None, None) => {}
        (Some(_), None) => r.at(
            &["pipelines", name, "review", "confidence"],
            "set `min_confidence` (0..=1) too: the threshold below which a run goes to review",
        ),
        (None, Some(_)) => r.at(
            &["pipelines", name, "review", "min_confidence"],
            "set `confidence` too: the JSON pointer of the output's confidence (like `/confidence`)",
        ),
        (Some(ptr), Some(min)) => {
            let ok = pointer_ok(r, &["pipelines", name, "review", "confidence"], ptr);
            let in_range = (0.0..=1.0).contains(&min);
            if !in_range {
                r.at(
                    &["pipelines", name, "review", "min_confidence"],
                    format!("{min} is not between 0 and 1"),
                );
            }
            if let Some(s) = schema
                && ok
                && let Some(kind) = declared_type(&s.source, ptr)
                && kind != "number"
                && kind != "integer"
            {
                r.at(
                    &["pipelines", name, "review", "confidence"],
                    format!("`{ptr}` is declared as `{kind}` by the output schema, not a number"),
                );
            } else if ok && in_range {
                policy.confidence = Some(Confidence {
                    pointer: ptr.clone(),
                    min,
                });
            }
        }
    }
    policy
}

/// The `type` the schema declares at `pointer` (through `properties`), if
/// it names one.
fn declared_type<'a>(schema: &'a serde_json::Value, pointer: &str) -> Option<&'a str> {
    let mut node = schema;
    for segment in pointer.split('/').skip(1) {
        node = node.get("properties")?.get(segment)?;
    }
    node.get("type")?.as_str()
}
