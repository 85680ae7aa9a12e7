//! Where in the TOML file a key lives, so every config problem can name its
//! file, line and key.

use std::ops::Range;

use toml_edit::{ImDocument, Item, Table, Value};

/// A parsed copy of the file kept only for looking up positions.
pub struct Locator {
    text: String,
    doc: Option<ImDocument<String>>,
}

impl Locator {
    pub fn new(text: &str) -> Self {
        Locator {
            text: text.to_string(),
            doc: ImDocument::parse(text.to_string()).ok(),
        }
    }

    /// 1-based line of a byte offset.
    pub fn line_at(&self, offset: usize) -> usize {
        line_at(&self.text, offset)
    }

    /// Line of the deepest existing key along `path` (so a missing key
    /// points at its table).
    pub fn line_of(&self, path: &[String]) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let span = span_of_path(doc.as_table(), path)?;
        Some(self.line_at(span.start))
    }

    /// The dotted key path that contains a byte offset.
    pub fn path_at(&self, offset: usize) -> Vec<String> {
        match &self.doc {
            Some(doc) => {
                let mut path = Vec::new();
                path_in_table(doc.as_table(), offset, &mut path);
                path
            }
            None => Vec::new(),
        }
    }
}

pub fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn span_of_path(table: &Table, path: &[String]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let (key, item) = table.get_key_value(first)?;
    let here = key.span().or_else(|| item.span());
    if rest.is_empty() {
        return here;
    }
    let deeper = match item {
        Item::Table(t) => span_of_path(t, rest),
        Item::Value(v) => span_of_value_path(v, rest),
        Item::ArrayOfTables(a) => {
            let idx: usize = rest[0].parse().ok()?;
            let t = a.get(idx)?;
            if rest.len() == 1 {
                t.span()
            } else {
                span_of_path(t, &rest[1..])
            }
        }
        Item::None => None,
    };
    deeper.or(here)
}

fn span_of_value_path(value: &Value, path: &[String]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let (here, child) = match value {
        Value::InlineTable(t) => {
            let v = t.get(first)?;
            (t.key(first).and_then(|k| k.span()).or_else(|| v.span()), v)
        }
        Value::Array(a) => {
            let v = a.get(first.parse::<usize>().ok()?)?;
            (v.span(), v)
        }
        _ => return None,
    };
    if rest.is_empty() {
        return here;
    }
    span_of_value_path(child, rest).or(here)
}

fn contains(span: Option<Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

fn path_in_table(table: &Table, offset: usize, path: &mut Vec<String>) -> bool {
    for (name, item) in table.iter() {
        let key_span = table.key(name).and_then(|k| k.span());
        path.push(name.to_string());
        let inside = match item {
            Item::Table(t) => path_in_table(t, offset, path) || contains(t.span(), offset),
            Item::Value(v) => path_in_value(v, offset, path) || contains(v.span(), offset),
            Item::ArrayOfTables(a) => a.iter().enumerate().any(|(i, t)| {
                path.push(i.to_string());
                let hit = path_in_table(t, offset, path) || contains(t.span(), offset);
                if !hit {
                    path.pop();
                }
                hit
            }),
            Item::None => false,
        };
        if inside || contains(key_span, offset) {
            return true;
        }
        path.pop();
    }
    false
}

fn path_in_value(value: &Value, offset: usize, path: &mut Vec<String>) -> bool {
    match value {
        Value::InlineTable(t) => {
            for (name, v) in t.iter() {
                path.push(name.to_string());
                let key_span = t.key(name).and_then(|k| k.span());
                if path_in_value(v, offset, path)
                    || contains(v.span(), offset)
                    || contains(key_span, offset)
                {
                    return true;
                }
                path.pop();
            }
            false
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.push(i.to_string());
                if path_in_value(v, offset, path) || contains(v.span(), offset) {
                    return true;
                }
                path.pop();
            }
            false
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "[server]\nlisten = \"x\"\n\n[pipelines.triage]\nmodel = \"m\"\nfallbacks = [\"a\", \"b\"]\n\n[pipelines.triage.sink]\nurl = \"u\"\n";

    fn p(s: &str) -> Vec<String> {
        s.split('.').map(str::to_string).collect()
    }

    #[test]
    fn finds_lines_of_keys() {
        let loc = Locator::new(TEXT);
        assert_eq!(loc.line_of(&p("server.listen")), Some(2));
        assert_eq!(loc.line_of(&p("pipelines.triage.model")), Some(5));
        assert_eq!(loc.line_of(&p("pipelines.triage.fallbacks.1")), Some(6));
        assert_eq!(loc.line_of(&p("pipelines.triage.sink.url")), Some(9));
        // A missing key points at its nearest existing parent.
        assert_eq!(loc.line_of(&p("pipelines.triage.sink.nope")), Some(8));
    }

    #[test]
    fn finds_path_at_offset() {
        let loc = Locator::new(TEXT);
        let off = TEXT.find("url").unwrap();
        assert_eq!(loc.path_at(off), p("pipelines.triage.sink.url"));
    }
}
