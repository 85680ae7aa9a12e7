//! Token windowing: fit the prompt into the model's window minus the
//! output it reserves by cutting declared context fields, lowest priority
//! first, each its own way — `drop` (remove the field), `truncate_middle`
//! (keep the start and the end of a text), `keep_newest` (keep the last
//! items of a list, or the end of a text). Every cut is reported for the
//! audit (pointer, strategy, sizes — never the text).
//!
//! Counting is the caller's: it renders the prompt and counts it with the
//! model's own tokenizer, so the fit is exact for that model.

use serde_json::{Value, json};

/// How a field gives way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Drop,
    TruncateMiddle,
    KeepNewest,
}

impl Strategy {
    pub fn parse(s: &str) -> Option<Strategy> {
        match s {
            "drop" => Some(Strategy::Drop),
            "truncate_middle" => Some(Strategy::TruncateMiddle),
            "keep_newest" => Some(Strategy::KeepNewest),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Strategy::Drop => "drop",
            Strategy::TruncateMiddle => "truncate_middle",
            Strategy::KeepNewest => "keep_newest",
        }
    }
}

/// A declared context field (`[[pipelines.NAME.window]]`).
#[derive(Debug, Clone, PartialEq)]
pub struct WindowField {
    /// JSON pointer into the (redacted) input.
    pub pointer: String,
    pub strategy: Strategy,
    /// Lower gives way first.
    pub priority: i64,
}

/// The fitted input and, when anything was cut, the audit report.
#[derive(Debug)]
pub struct Fitted {
    pub input: Value,
    pub report: Option<Value>,
}

/// Binary-search probes per field.
const PROBES: u32 = 14;

/// Fit `input` so that `count(input) <= budget`, cutting `fields` in
/// priority order. Returns the best effort when even cutting everything
/// does not fit (the preflight then refuses the call with the numbers).
pub fn fit<E>(
    fields: &[WindowField],
    input: &Value,
    budget: u64,
    count: impl Fn(&Value) -> Result<u64, E>,
) -> Result<Fitted, E> {
    let before = count(input)?;
    if before <= budget || fields.is_empty() {
        return Ok(Fitted {
            input: input.clone(),
            report: None,
        });
    }
    let mut order: Vec<&WindowField> = fields.iter().collect();
    order.sort_by_key(|f| f.priority);
    let mut current = input.clone();
    let mut tokens = before;
    let mut cuts = Vec::new();
    for field in order {
        if tokens <= budget {
            break;
        }
        let Some(original) = current.pointer(&field.pointer).cloned() else {
            continue;
        };
        let size = size_of(&original);
        if size == 0 {
            continue;
        }
        // The largest `keep` (0..size) whose cut input fits; 0 = all cut.
        let with = |keep: usize| {
            let mut v = current.clone();
            if let Some(slot) = v.pointer_mut(&field.pointer) {
                *slot = cut(&original, field.strategy, keep);
            }
            v
        };
        let (mut lo, mut hi) = (0usize, size);
        let mut best = (with(0), None::<u64>);
        if field.strategy != Strategy::Drop {
            for _ in 0..PROBES {
                if lo >= hi {
                    break;
                }
                let mid = lo + (hi - lo).div_ceil(2);
                let candidate = with(mid);
                let n = count(&candidate)?;
                if n <= budget {
                    lo = mid;
                    best = (candidate, Some(n));
                } else {
                    hi = mid - 1;
                }
            }
            if lo == 0 {
                best = (with(0), None);
            }
        }
        let kept = if best.1.is_some() { lo } else { 0 };
        tokens = match best.1 {
            Some(n) => n,
            None => count(&best.0)?,
        };
        current = best.0;
        cuts.push(json!({
            "pointer": field.pointer,
            "strategy": field.strategy.as_str(),
            "unit": if original.is_array() { "items" } else { "chars" },
            "from": size,
            "to": kept,
        }));
    }
    Ok(Fitted {
        input: current,
        report: Some(json!({
            "budget": budget,
            "tokens_before": before,
            "tokens_after": tokens,
            "fits": tokens <= budget,
            "cut": cuts,
        })),
    })
}

/// Items of a list, characters of a text, 1 for anything else.
fn size_of(v: &Value) -> usize {
    match v {
        Value::Array(a) => a.len(),
        Value::String(s) => s.chars().count(),
        Value::Null => 0,
        _ => 1,
    }
}

/// `original` cut down to `keep` units by `strategy`.
fn cut(original: &Value, strategy: Strategy, keep: usize) -> Value {
    match (strategy, original) {
        (Strategy::Drop, _) => Value::Null,
        (_, _) if keep == 0 => Value::Null,
        (_, Value::Array(a)) => {
            let start = a.len().saturating_sub(keep);
            let kept = match strategy {
                // The middle of a list is cut from its older end.
                Strategy::TruncateMiddle | Strategy::KeepNewest => &a[start..],
                Strategy::Drop => &a[..0],
            };
            Value::Array(kept.to_vec())
        }
        (Strategy::KeepNewest, Value::String(s)) => {
            let n = s.chars().count();
            let tail: String = s.chars().skip(n.saturating_sub(keep)).collect();
            Value::String(format!("[… {} characters cut …]{tail}", n - keep.min(n)))
        }
        (Strategy::TruncateMiddle, Value::String(s)) => {
            let n = s.chars().count();
            let head = keep.div_ceil(2);
            let tail = keep - head;
            let start: String = s.chars().take(head).collect();
            let end: String = s.chars().skip(n.saturating_sub(tail)).collect();
            Value::String(format!(
                "{start}[… {} characters cut …]{end}",
                n - keep.min(n)
            ))
        }
        (_, other) => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// About four characters a token, like the byte-bound tokenizers.
    fn count(v: &Value) -> Result<u64, ()> {
        Ok((v.to_string().len() as u64).div_ceil(4))
    }

    fn field(pointer: &str, strategy: Strategy, priority: i64) -> WindowField {
        WindowField {
            pointer: pointer.into(),
            strategy,
            priority,
        }
    }

    #[test]
    fn what_fits_is_left_alone() {
        let input = json!({"body": "short"});
        let f = fit(&[field("/body", Strategy::Drop, 1)], &input, 100, count).unwrap();
        assert_eq!(f.input, input);
        assert!(f.report.is_none());
    }

    #[test]
    fn lowest_priority_goes_first_and_only_as_much_as_needed() {
        let history: Vec<Value> = (0..50)
            .map(|i| json!(format!("message number {i}")))
            .collect();
        let input = json!({"body": "b".repeat(400), "history": history, "kb": "k".repeat(400)});
        let fields = [
            field("/history", Strategy::KeepNewest, 2),
            field("/kb", Strategy::Drop, 1),
            field("/body", Strategy::TruncateMiddle, 3),
        ];
        let f = fit(&fields, &input, 300, count).unwrap();
        let report = f.report.unwrap();
        assert!(count(&f.input).unwrap() <= 300, "{report}");
        assert_eq!(f.input["kb"], Value::Null, "dropped first");
        let kept = f.input["history"].as_array().unwrap();
        assert!(!kept.is_empty() && kept.len() < 50);
        assert_eq!(kept.last().unwrap(), "message number 49", "the newest stay");
        assert_eq!(f.input["body"], input["body"], "the body was not needed");
        assert_eq!(report["cut"].as_array().unwrap().len(), 2);
        assert_eq!(report["cut"][1]["unit"], "items");
        assert!(
            !report.to_string().contains("message number"),
            "no text in the report"
        );
    }

    #[test]
    fn a_text_keeps_its_start_and_end_when_cut_in_the_middle() {
        let body = format!("START {} END", "x".repeat(2000));
        let f = fit(
            &[field("/body", Strategy::TruncateMiddle, 1)],
            &json!({"body": body}),
            200,
            count,
        )
        .unwrap();
        let text = f.input["body"].as_str().unwrap();
        assert!(text.starts_with("START") && text.ends_with("END"), "{text}");
        assert!(text.contains("characters cut"));
        assert!(count(&f.input).unwrap() <= 200);
    }

    #[test]
    fn when_nothing_is_left_to_cut_the_report_says_it_does_not_fit() {
        let input = json!({"body": "b".repeat(4000), "fixed": "f".repeat(4000)});
        let f = fit(
            &[field("/body", Strategy::KeepNewest, 1)],
            &input,
            500,
            count,
        )
        .unwrap();
        assert_eq!(f.report.unwrap()["fits"], false);
    }
}
