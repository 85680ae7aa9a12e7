//! The one tokenizer of the knowledge base: lower-cased runs of Unicode
//! letters and digits; everything else separates. No stemming, no stop
//! words (BM25's idf discounts common words).

/// The terms of `text`, in order.
pub fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Common English function words, left out of a query's BM25 terms (a
/// question's "what", "how", "my" would otherwise rank chunks by chance).
const STOP: &[&str] = &[
    "a", "about", "after", "all", "am", "an", "and", "any", "are", "as", "at", "be", "can",
    "could", "do", "does", "for", "from", "get", "has", "have", "how", "i", "if", "in", "into",
    "is", "it", "its", "me", "my", "of", "on", "or", "our", "should", "so", "that", "the", "their",
    "them", "then", "there", "they", "this", "to", "up", "us", "was", "we", "what", "when",
    "where", "which", "who", "why", "will", "with", "would", "you", "your",
];

/// The terms of a query: [`terms`] without stop words (all of them when
/// nothing else is left).
pub fn query_terms(text: &str) -> Vec<String> {
    let all = terms(text);
    let kept: Vec<String> = all
        .iter()
        .filter(|t| !STOP.contains(&t.as_str()))
        .cloned()
        .collect();
    if kept.is_empty() { all } else { kept }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_drop_stop_words_unless_nothing_is_left() {
        assert_eq!(query_terms("What happens to my card?"), ["happens", "card"]);
        assert_eq!(query_terms("what is it"), ["what", "is", "it"]);
    }

    #[test]
    fn words_lowercased_punctuation_splits() {
        assert_eq!(
            terms("SSO (SAML 2.0) — Okta's setup, naïve café!"),
            [
                "sso", "saml", "2", "0", "okta", "s", "setup", "naïve", "café"
            ]
        );
        assert!(terms(" \n-- ").is_empty());
    }
}
