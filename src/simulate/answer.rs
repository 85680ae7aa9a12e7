//! Answer content shared by the three front-ends: schema instances with
//! content faults, plain text, stop sequences and ids.

use fastrand::Rng;
use serde_json::{Value, json};

use super::State;
use super::faults::Fault;
use super::generate::instance::instance;
use super::generate::mutate::{fabricate, fenced, malformed, violate};
use super::generate::text::Words;
use super::generate::waver::waver;
use super::openai::tokens;

/// The answer seed of a request: its content hash mixed with `--seed`.
pub(crate) fn base_seed(hash: &[u8; 32], seed: u64) -> u64 {
    super::mix(
        u64::from_le_bytes([
            hash[0], hash[1], hash[2], hash[3], hash[4], hash[5], hash[6], hash[7],
        ]),
        seed,
    )
}

/// A schema instance where the wire needs a JSON value (tool input, function
/// args): `violate` and `fabricate` apply, `malformed` and `fenced` cannot.
pub(crate) fn structured_value(
    state: &State,
    schema: &Value,
    words: &Words,
    seed: u64,
    fault: Option<Fault>,
    frng: &mut Rng,
) -> Value {
    let validator = state.validators.get(schema);
    let value = instance(schema, words, seed, validator.as_deref());
    match fault {
        Some(Fault::Violate) => violate(&value, schema, frng, validator.as_deref()),
        Some(Fault::Waver) => waver(&value, schema, frng, validator.as_deref()),
        Some(Fault::Fabricate) => {
            let mut value = value;
            fabricate(&mut value, frng);
            value
        }
        _ => value,
    }
}

/// Apply the text-only content faults (`malformed`, `fenced`) to JSON text.
pub(crate) fn break_text(json: String, fault: Option<Fault>, frng: &mut Rng) -> String {
    match fault {
        Some(Fault::Malformed) => malformed(&json, frng),
        Some(Fault::Fenced) => fenced(&json),
        _ => json,
    }
}

/// A schema instance as JSON text, with any content fault applied.
pub(crate) fn structured_text(
    state: &State,
    schema: &Value,
    words: &Words,
    seed: u64,
    fault: Option<Fault>,
    frng: &mut Rng,
) -> String {
    let value = structured_value(state, schema, words, seed, fault, frng);
    break_text(value.to_string(), fault, frng)
}

/// Some JSON object, for JSON mode without a schema.
pub(crate) fn json_object_text(
    words: &Words,
    rng: &mut Rng,
    fault: Option<Fault>,
    frng: &mut Rng,
) -> String {
    let mut value = json!({
        "answer": words.sentence(rng, 8..=14),
        "confidence": f64::from(rng.u8(60..=99)) / 100.0,
    });
    if fault == Some(Fault::Fabricate) {
        fabricate(&mut value, frng);
    }
    break_text(value.to_string(), fault, frng)
}

const OPENERS: &[&str] = &[
    "Thanks for the details.",
    "Here is a short answer.",
    "Understood.",
    "Based on the information provided:",
];

/// A short prose answer built from the prompt's words.
pub(crate) fn text_answer(words: &Words, rng: &mut Rng) -> String {
    let opener = OPENERS[rng.usize(0..OPENERS.len())];
    let a = words.sentence(rng, 8..=14);
    let b = words.sentence(rng, 5..=9);
    format!("{opener} {a} {b}")
}

/// `n` random ASCII letters and digits.
pub(crate) fn alnum(rng: &mut Rng, n: usize) -> String {
    (0..n).map(|_| rng.alphanumeric()).collect()
}

/// The text a model should answer from: what the user texts delimit as data
/// (`<untrusted>…</untrusted>`, the convention seam's prompts use), or else
/// the last user text.
pub(crate) fn source_text<'a>(
    user_texts: impl DoubleEndedIterator<Item = &'a str> + Clone,
) -> String {
    const OPEN: &str = "<untrusted>";
    const CLOSE: &str = "</untrusted>";
    let mut blocks = Vec::new();
    for text in user_texts.clone() {
        let mut rest = text;
        while let Some(start) = rest.find(OPEN) {
            let after = &rest[start + OPEN.len()..];
            let Some(end) = after.find(CLOSE) else { break };
            blocks.push(after[..end].trim());
            rest = &after[end + CLOSE.len()..];
        }
    }
    if blocks.is_empty() {
        user_texts.last().unwrap_or("").to_string()
    } else {
        // One line each: a quote (cut at a line end) never spans two blocks.
        blocks.join("\n")
    }
}

/// Cut `text` before the earliest stop sequence it contains; returns that
/// sequence.
pub(crate) fn cut_at_stop(text: &mut String, stops: &[String]) -> Option<String> {
    let (at, stop) = stops
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()).map(|at| (at, s)))
        .min_by_key(|(at, _)| *at)?;
    let stop = stop.clone();
    text.truncate(at);
    Some(stop)
}

/// Cut `text` to about `max` tokens; returns whether it was cut.
pub(crate) fn truncate_tokens(text: &mut String, max: u64) -> bool {
    if tokens(text) <= max {
        return false;
    }
    let keep = usize::try_from(max.saturating_mul(4)).unwrap_or(usize::MAX);
    *text = text.chars().take(keep).collect();
    true
}

/// The tool a model "decides" to call: one the prompt mentions, else a
/// seeded pick. `None` only when there are no tools.
pub(crate) fn pick_tool<'n>(
    names: impl Iterator<Item = &'n str> + Clone,
    words: &Words,
    rng: &mut Rng,
) -> Option<&'n str> {
    let mentioned = names
        .clone()
        .find(|n| words.mentions(n) || words.mentions(&n.replace('_', " ")));
    let all: Vec<&str> = names.collect();
    mentioned.or_else(|| all.get(rng.usize(0..all.len().max(1))).copied())
}

/// Split into pieces of `len` characters each (sampled per piece), on
/// character boundaries.
pub(crate) fn pieces(s: &str, rng: &mut Rng, len: std::ops::RangeInclusive<usize>) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let n = rng.usize(len.clone()).max(1).min(chars.len() - i);
        out.push(chars[i..i + n].iter().collect());
        i += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_sequences_cut_at_the_earliest() {
        let mut t = "alpha beta gamma delta".to_string();
        let hit = cut_at_stop(&mut t, &["delta".into(), "beta".into(), String::new()]);
        assert_eq!(hit.as_deref(), Some("beta"));
        assert_eq!(t, "alpha ");
        let mut t = "alpha".to_string();
        assert_eq!(cut_at_stop(&mut t, &["zzz".into()]), None);
        assert_eq!(t, "alpha");
    }

    #[test]
    fn source_text_prefers_untrusted_blocks() {
        let texts = [
            "a <untrusted> one </untrusted> b",
            "<untrusted>two</untrusted>",
        ];
        assert_eq!(source_text(texts.iter().copied()), "one\ntwo");
        assert_eq!(source_text(["first", "last"].into_iter()), "last");
        assert_eq!(source_text(std::iter::empty()), "");
    }

    #[test]
    fn pieces_rejoin_and_truncation_counts_tokens() {
        let s = "héllo wörld, a longer sentence";
        let p = pieces(s, &mut Rng::with_seed(3), 3..=8);
        assert!(p.len() > 3);
        assert_eq!(p.concat(), s);
        let mut t = "a".repeat(100);
        assert!(truncate_tokens(&mut t, 10));
        assert_eq!(t.len(), 40);
        assert!(!truncate_tokens(&mut t, 10));
    }
}
