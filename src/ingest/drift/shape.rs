//! The shape of a JSON payload — its field paths and their types — and the
//! learned contract of a source: every path seen while learning, its
//! types, and how often it was present. Comparing a payload's shape with
//! the contract gives the drift: new, missing and retyped fields.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Paths deeper than this are not followed (their parent is typed).
const MAX_DEPTH: usize = 12;
/// At most this many paths per payload: a payload keyed by ids would
/// otherwise make every event a new shape.
const MAX_PATHS: usize = 1000;
/// Known shapes kept per source.
const MAX_FINGERPRINTS: usize = 512;

/// Field path (array items as `*`) → the JSON types seen there.
pub type Shape = BTreeMap<String, BTreeSet<&'static str>>;

/// The shape of `value`; the root itself is path "".
pub fn shape_of(value: &Value) -> Shape {
    let mut shape = Shape::new();
    walk(value, String::new(), 0, &mut shape);
    shape
}

fn walk(v: &Value, path: String, depth: usize, shape: &mut Shape) {
    if shape.len() >= MAX_PATHS && !shape.contains_key(&path) {
        return;
    }
    shape
        .entry(path.clone())
        .or_default()
        .insert(crate::schema::type_name(v));
    if depth >= MAX_DEPTH {
        return;
    }
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let key = k.replace('~', "~0").replace('/', "~1");
                walk(child, format!("{path}/{key}"), depth + 1, shape);
            }
        }
        Value::Array(a) => {
            for child in a {
                walk(child, format!("{path}/*"), depth + 1, shape);
            }
        }
        _ => {}
    }
}

/// A stable digest of a shape: equal shapes, equal fingerprints.
pub fn fingerprint(shape: &Shape) -> String {
    let mut text = String::new();
    for (path, types) in shape {
        text.push_str(path);
        text.push('\t');
        for t in types {
            text.push_str(t);
            text.push(',');
        }
        text.push('\n');
    }
    crate::canonical::sha256_hex(&text)[..16].to_string()
}

/// One field's record in a contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PathStats {
    pub types: BTreeSet<String>,
    /// Learning events in which the path was present.
    pub seen: u64,
}

/// What a source's payloads look like, learned from its first events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    /// Events learned from.
    pub events: u64,
    pub paths: BTreeMap<String, PathStats>,
    /// Shapes already judged (learned or without drift).
    pub fingerprints: BTreeSet<String>,
}

/// One difference between a payload and its source's contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// `new`, `missing` or `retyped`.
    pub kind: String,
    pub path: String,
    /// The contract's types (missing, retyped).
    pub was: Option<String>,
    /// The payload's types (new, retyped).
    pub now: Option<String>,
}

fn join(types: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    types
        .into_iter()
        .map(|t| t.as_ref().to_string())
        .collect::<Vec<_>>()
        .join("|")
}

impl Contract {
    /// Learn from one more payload.
    pub fn learn(&mut self, shape: &Shape, fp: &str) {
        self.events += 1;
        for (path, types) in shape {
            let stats = self.paths.entry(path.clone()).or_default();
            stats.seen += 1;
            stats.types.extend(types.iter().map(|t| t.to_string()));
        }
        self.remember(fp);
    }

    /// Accept drift: new paths become optional fields, new types are
    /// allowed, and missing paths stop being required.
    pub fn accept(&mut self, changes: &[Change]) {
        let events = self.events;
        for c in changes {
            match c.kind.as_str() {
                "missing" => {
                    if let Some(stats) = self.paths.get_mut(&c.path) {
                        stats.seen = stats.seen.min(events.saturating_sub(1));
                    }
                }
                _ => {
                    let stats = self.paths.entry(c.path.clone()).or_default();
                    let now = c.now.as_deref().unwrap_or_default();
                    stats
                        .types
                        .extend(now.split('|').filter(|t| !t.is_empty()).map(str::to_string));
                }
            }
        }
    }

    pub fn remember(&mut self, fp: &str) {
        if self.fingerprints.len() >= MAX_FINGERPRINTS {
            self.fingerprints.pop_first();
        }
        self.fingerprints.insert(fp.to_string());
    }

    /// How `shape` differs. Null is compatible with every type (a field
    /// that is sometimes null is not a change); a path present in every
    /// learning event is required.
    pub fn diff(&self, shape: &Shape) -> Vec<Change> {
        let mut changes = Vec::new();
        for (path, types) in shape {
            let Some(stats) = self.paths.get(path) else {
                // Report the topmost new path only, not each of its children.
                let parent_new = parent(path).is_some_and(|p| !self.paths.contains_key(p));
                if !parent_new {
                    changes.push(Change {
                        kind: "new".into(),
                        path: path.clone(),
                        was: None,
                        now: Some(join(types)),
                    });
                }
                continue;
            };
            let known: BTreeSet<&str> = stats.types.iter().map(String::as_str).collect();
            let fresh: Vec<&str> = types
                .iter()
                .copied()
                .filter(|t| *t != "null" && !known.contains(t))
                .collect();
            let only_null = known.iter().all(|t| *t == "null");
            if !fresh.is_empty() && !only_null {
                changes.push(Change {
                    kind: "retyped".into(),
                    path: path.clone(),
                    was: Some(join(&stats.types)),
                    now: Some(join(types)),
                });
            }
        }
        for (path, stats) in &self.paths {
            let required = self.events > 0 && stats.seen >= self.events;
            let parent_missing = parent(path).is_some_and(|p| !shape.contains_key(p));
            if required && !shape.contains_key(path) && !parent_missing {
                changes.push(Change {
                    kind: "missing".into(),
                    path: path.clone(),
                    was: Some(join(&stats.types)),
                    now: None,
                });
            }
        }
        changes
    }
}

fn parent(path: &str) -> Option<&str> {
    path.rsplit_once('/')
        .map(|(p, _)| p)
        .filter(|_| !path.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn learned(events: &[Value]) -> Contract {
        let mut c = Contract::default();
        for e in events {
            let s = shape_of(e);
            c.learn(&s, &fingerprint(&s));
        }
        c
    }

    #[test]
    fn shapes_have_paths_types_and_stable_fingerprints() {
        let a = shape_of(&json!({"id": "T-1", "items": [{"qty": 1}, {"qty": 2.5}], "a/b": null}));
        assert_eq!(a["/items/*/qty"], BTreeSet::from(["number"]));
        assert_eq!(a["/a~1b"], BTreeSet::from(["null"]));
        let b = shape_of(&json!({"a/b": null, "items": [{"qty": 7}], "id": "T-9"}));
        assert_eq!(fingerprint(&a), fingerprint(&b), "values do not matter");
        let c = shape_of(&json!({"id": 1, "items": [], "a/b": null}));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn new_missing_and_retyped_fields_are_found_and_optional_ones_are_not() {
        let c = learned(&[
            json!({"id": "1", "amount": 10, "customer": {"email": "x"}, "note": "n"}),
            json!({"id": "2", "amount": 12, "customer": {"email": "y"}}),
            json!({"id": "3", "amount": null, "customer": {"email": "z"}}),
        ]);
        // Optional `note` absent, amount null: no drift.
        assert!(
            c.diff(&shape_of(
                &json!({"id": "4", "amount": null, "customer": {"email": "w"}})
            ))
            .is_empty()
        );
        let changes = c.diff(&shape_of(
            &json!({"id": 5, "customer": {"email": "v", "phone": {"n": "1"}}}),
        ));
        let seen: Vec<(&str, &str)> = changes
            .iter()
            .map(|c| (c.kind.as_str(), c.path.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("new", "/customer/phone"),
                ("retyped", "/id"),
                ("missing", "/amount")
            ],
            "{changes:?}"
        );
        assert_eq!(changes[1].was.as_deref(), Some("string"));
        assert_eq!(changes[1].now.as_deref(), Some("number"));
    }

    #[test]
    fn an_accepted_shape_is_no_longer_drift() {
        let mut c = learned(&[json!({"id": "1", "amount": 10})]);
        let s = shape_of(&json!({"id": "1", "total": 10}));
        let changes = c.diff(&s);
        assert_eq!(changes.len(), 2);
        c.accept(&changes);
        assert!(c.diff(&s).is_empty(), "{:?}", c.diff(&s));
    }
}
