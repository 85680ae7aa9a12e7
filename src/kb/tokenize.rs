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

#[cfg(test)]
mod tests {
    use super::*;

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
