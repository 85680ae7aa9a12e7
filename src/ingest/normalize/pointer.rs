//! JSON pointers with `*` (every member of an object, every element of an
//! array) for declaring rules over repeated fields, e.g. `/items/*/price`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Any,
}

/// Parse `/a/*/b~1c` (RFC 6901 escapes `~0` and `~1`).
pub fn parse(ptr: &str) -> Result<Vec<Seg>, String> {
    let Some(rest) = ptr.strip_prefix('/') else {
        return Err("must be a JSON pointer starting with `/`, e.g. `/customer/name`".into());
    };
    rest.split('/')
        .map(|raw| {
            if raw == "*" {
                return Ok(Seg::Any);
            }
            let mut out = String::with_capacity(raw.len());
            let mut chars = raw.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return Err(format!("`{raw}` has a `~` that is not `~0` or `~1`")),
                    }
                } else {
                    out.push(c);
                }
            }
            Ok(Seg::Key(out))
        })
        .collect()
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// What to do with the value at one location.
pub enum Action {
    Keep,
    Set(Value),
    Remove,
}

/// Call `f` with the concrete pointer and the current value (`None`:
/// missing member of an existing object) of every location `pattern`
/// reaches, and apply its answer. Locations under a missing or
/// non-container parent are skipped: the schema judges those.
pub fn visit(
    value: &mut Value,
    pattern: &[Seg],
    at: &mut String,
    f: &mut dyn FnMut(&str, Option<&Value>) -> Action,
) {
    let Some((seg, rest)) = pattern.split_first() else {
        return;
    };
    let len = at.len();
    match (value, seg) {
        (Value::Object(map), Seg::Key(k)) => {
            at.push('/');
            at.push_str(&escape(k));
            if rest.is_empty() {
                match f(at, map.get(k)) {
                    Action::Keep => {}
                    Action::Set(v) => {
                        map.insert(k.clone(), v);
                    }
                    Action::Remove => {
                        map.remove(k);
                    }
                }
            } else if let Some(child) = map.get_mut(k) {
                visit(child, rest, at, f);
            }
        }
        (Value::Object(map), Seg::Any) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                at.truncate(len);
                at.push('/');
                at.push_str(&escape(&k));
                if rest.is_empty() {
                    match f(at, map.get(&k)) {
                        Action::Keep => {}
                        Action::Set(v) => {
                            map.insert(k, v);
                        }
                        Action::Remove => {
                            map.remove(&k);
                        }
                    }
                } else if let Some(child) = map.get_mut(&k) {
                    visit(child, rest, at, f);
                }
            }
        }
        (Value::Array(items), seg) => {
            let indexes: Vec<usize> = match seg {
                Seg::Any => (0..items.len()).rev().collect(),
                Seg::Key(k) => k
                    .parse::<usize>()
                    .ok()
                    .filter(|i| *i < items.len() && (k == "0" || !k.starts_with('0')))
                    .into_iter()
                    .collect(),
            };
            // Last first, so removing an element keeps the others' indexes.
            let mut removed = Vec::new();
            for i in indexes {
                at.truncate(len);
                at.push('/');
                at.push_str(&i.to_string());
                if rest.is_empty() {
                    match f(at, items.get(i)) {
                        Action::Keep => {}
                        Action::Set(v) => items[i] = v,
                        // An element cannot be missing: it becomes null.
                        Action::Remove => removed.push(i),
                    }
                } else if let Some(child) = items.get_mut(i) {
                    visit(child, rest, at, f);
                }
            }
            for i in removed {
                items[i] = Value::Null;
            }
        }
        _ => {}
    }
    at.truncate(len);
}

/// Every string value with its pointer (object keys are left alone).
pub fn each_string(value: &mut Value, at: &mut String, f: &mut dyn FnMut(&str, &mut String)) {
    let len = at.len();
    match value {
        Value::String(s) => f(at, s),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                at.push('/');
                at.push_str(&i.to_string());
                each_string(item, at, f);
                at.truncate(len);
            }
        }
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                at.push('/');
                at.push_str(&escape(k));
                each_string(v, at, f);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seen(doc: &Value, ptr: &str) -> Vec<(String, Option<Value>)> {
        let mut doc = doc.clone();
        let mut out = Vec::new();
        visit(
            &mut doc,
            &parse(ptr).unwrap(),
            &mut String::new(),
            &mut |p, v| {
                out.push((p.to_string(), v.cloned()));
                Action::Keep
            },
        );
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    #[test]
    fn walks_keys_wildcards_and_indexes() {
        let doc = json!({"a": {"b/c": 1}, "items": [{"p": 1}, {"q": 2}], "m": {"x": {"p": 3}}});
        assert_eq!(
            seen(&doc, "/a/b~1c"),
            vec![("/a/b~1c".into(), Some(json!(1)))]
        );
        assert_eq!(seen(&doc, "/a/missing"), vec![("/a/missing".into(), None)]);
        assert_eq!(seen(&doc, "/nope/deeper"), vec![]);
        assert_eq!(
            seen(&doc, "/items/*/p"),
            vec![
                ("/items/0/p".into(), Some(json!(1))),
                ("/items/1/p".into(), None)
            ]
        );
        assert_eq!(
            seen(&doc, "/items/1"),
            vec![("/items/1".into(), Some(json!({"q": 2})))]
        );
        assert_eq!(seen(&doc, "/items/01"), vec![]);
        assert_eq!(
            seen(&doc, "/m/*/p"),
            vec![("/m/x/p".into(), Some(json!(3)))]
        );
    }

    #[test]
    fn bad_pointers() {
        assert!(parse("name").is_err());
        assert!(parse("/a~2").is_err());
        assert_eq!(parse("/a/*").unwrap(), vec![Seg::Key("a".into()), Seg::Any]);
    }
}
