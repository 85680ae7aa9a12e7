//! Plausible strings built from the words of the prompt.

use std::ops::RangeInclusive;

use fastrand::Rng;

const FALLBACK: &str = "The customer reported an issue with their account and asked for a quick \
                        update on the status of the request";
const FIRST: &[&str] = &[
    "alex", "sam", "maria", "jordan", "li", "priya", "noah", "emma",
];
const LAST: &[&str] = &[
    "morgan", "garcia", "chen", "smith", "kumar", "novak", "okafor", "berg",
];
const CITIES: &[&str] = &["Lisbon", "Denver", "Osaka", "Nairobi", "Oslo", "Austin"];
const MAX_WORDS: usize = 4096;

/// The words of one text (usually the last user message), kept as spans so
/// that quotes can be copied verbatim.
#[derive(Debug, Clone)]
pub struct Words {
    text: String,
    lower: String,
    spans: Vec<(usize, usize)>,
    /// Source references (`doc.md#3`) a citation may name.
    refs: Vec<String>,
}

impl Words {
    /// Split `text` into words; an empty text falls back to a stock sentence.
    pub fn new(text: &str) -> Words {
        let spans = split(text);
        if spans.is_empty() {
            let text = FALLBACK.to_string();
            return Words {
                lower: text.to_lowercase(),
                spans: split(&text),
                refs: refs_in(text.as_str()),
                text,
            };
        }
        Words {
            text: text.to_string(),
            lower: text.to_lowercase(),
            spans,
            refs: refs_in(text),
        }
    }

    /// Take the source references from `prompt` (the whole prompt, where
    /// the ids of its sources are printed outside the quoted blocks).
    pub fn citing(mut self, prompt: &str) -> Words {
        self.refs = refs_in(prompt);
        self
    }

    fn word(&self, i: usize) -> &str {
        let (a, b) = self.spans[i % self.spans.len()];
        &self.text[a..b]
    }

    /// `n` consecutive words from a seeded position (wrapping around).
    fn window(&self, rng: &mut Rng, n: RangeInclusive<usize>) -> Vec<&str> {
        let n = rng.usize(n);
        let len = self.spans.len();
        let start = if len > n { rng.usize(0..=len - n) } else { 0 };
        (start..start + n.max(1)).map(|i| self.word(i)).collect()
    }

    /// One word, lowercased.
    pub fn one(&self, rng: &mut Rng) -> String {
        let long: Vec<usize> = (0..self.spans.len())
            .filter(|&i| self.word(i).len() > 3)
            .collect();
        let i = if long.is_empty() {
            rng.usize(0..self.spans.len())
        } else {
            long[rng.usize(0..long.len())]
        };
        self.word(i).to_lowercase()
    }

    /// A few words joined by spaces.
    pub fn phrase(&self, rng: &mut Rng, n: RangeInclusive<usize>) -> String {
        self.window(rng, n).join(" ")
    }

    /// A sentence of `n` words: capitalised, ending with a full stop.
    pub fn sentence(&self, rng: &mut Rng, n: RangeInclusive<usize>) -> String {
        let mut s = capitalise(&self.phrase(rng, n));
        s.push('.');
        s
    }

    /// Up to `n` words copied verbatim from one line of the text: a start
    /// too close to the line's end moves back, so the quote has `n` words
    /// or the whole line.
    pub fn quote(&self, rng: &mut Rng, n: RangeInclusive<usize>) -> String {
        let len = self.spans.len();
        let n = rng.usize(n).clamp(1, len);
        let mut start = rng.usize(0..=len - n);
        let same_line =
            |i: usize, j: usize| !self.text[self.spans[i].0..self.spans[j].1].contains('\n');
        // Words of the start's line from the start on, at most n.
        let mut end = start;
        while end + 1 < len && end + 1 < start + n && same_line(start, end + 1) {
            end += 1;
        }
        while end + 1 - start < n && start > 0 && same_line(start - 1, end) {
            start -= 1;
        }
        let (a, _) = self.spans[start];
        let (_, b) = self.spans[end];
        self.text[a..b].to_string()
    }

    /// A source reference from the text (a token like `billing.md#2`:
    /// something, `#`, digits), seeded; `None` when there is none.
    pub fn source_ref(&self, rng: &mut Rng) -> Option<String> {
        if self.refs.is_empty() {
            return None;
        }
        Some(self.refs[rng.usize(0..self.refs.len())].clone())
    }

    /// Whether `needle` occurs as a word (case-insensitive).
    pub fn contains_word(&self, needle: &str) -> bool {
        (0..self.spans.len()).any(|i| self.word(i).eq_ignore_ascii_case(needle))
    }

    /// Whether `needle` occurs anywhere in the text (case-insensitive).
    pub fn mentions(&self, needle: &str) -> bool {
        !needle.is_empty() && self.lower.contains(&needle.to_lowercase())
    }
}

/// Tokens like `billing.md#2` (something, `#`, digits), in order, once each.
fn refs_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in text.split_whitespace() {
        let t = t.trim_matches(|c: char| "[](){}<>,;:\"'`".contains(c));
        let is_ref = t.rsplit_once('#').is_some_and(|(head, n)| {
            !head.is_empty() && !n.is_empty() && n.chars().all(|c| c.is_ascii_digit())
        });
        if is_ref && !out.iter().any(|o| o == t) {
            out.push(t.to_string());
        }
    }
    out
}

fn split(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let inside = c.is_alphanumeric() || ((c == '\'' || c == '-') && start.is_some());
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                push_word(text, s, i, &mut spans);
                start = None;
            }
            _ => {}
        }
        if spans.len() >= MAX_WORDS {
            return spans;
        }
    }
    if let Some(s) = start {
        push_word(text, s, text.len(), &mut spans);
    }
    spans
}

fn push_word(text: &str, s: usize, mut e: usize, spans: &mut Vec<(usize, usize)>) {
    while e > s && text[..e].ends_with(['\'', '-']) {
        e -= 1;
    }
    if e > s {
        spans.push((s, e));
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A string for a field named `name` with an optional `format`, fitted to
/// `min..=max` characters.
pub fn string_value(
    words: &Words,
    rng: &mut Rng,
    name: Option<&str>,
    format: Option<&str>,
    min: usize,
    max: Option<usize>,
) -> String {
    let s = match format {
        Some(f) => formatted(words, rng, f).unwrap_or_else(|| by_name(words, rng, name, max)),
        None => by_name(words, rng, name, max),
    };
    fit(s, words, rng, min, max)
}

fn formatted(words: &Words, rng: &mut Rng, format: &str) -> Option<String> {
    let s = match format {
        "date" => date(rng),
        "date-time" => format!("{}T{}Z", date(rng), time(rng)),
        "time" => format!("{}Z", time(rng)),
        "email" | "idn-email" => email(rng),
        "uri" | "url" | "iri" | "uri-reference" | "iri-reference" => {
            format!(
                "https://example.com/{}/{}",
                slug(&words.one(rng)),
                rng.u32(100..10_000)
            )
        }
        "uri-template" => "https://example.com/items/{id}".to_string(),
        "uuid" => uuid(rng),
        "hostname" | "idn-hostname" => format!("{}.example.com", slug(&words.one(rng))),
        "ipv4" => format!("192.0.2.{}", rng.u8(1..255)),
        "ipv6" => format!("2001:db8::{:x}", rng.u16(1..)),
        "duration" => format!("PT{}M", rng.u8(1..60)),
        "regex" => "^[a-z]+$".to_string(),
        "json-pointer" => format!("/{}", slug(&words.one(rng))),
        "relative-json-pointer" => "0".to_string(),
        _ => return None,
    };
    Some(s)
}

fn by_name(words: &Words, rng: &mut Rng, name: Option<&str>, max: Option<usize>) -> String {
    let n = name.unwrap_or("").to_ascii_lowercase();
    let has = |keys: &[&str]| keys.iter().any(|k| n.contains(k));
    let long = max.is_none_or(|m| m >= 40);
    if has(&["email"]) {
        return email(rng);
    }
    if has(&["url", "uri", "link", "website", "href"]) {
        return format!("https://example.com/{}", slug(&words.one(rng)));
    }
    if has(&["uuid", "guid"]) {
        return uuid(rng);
    }
    // Citations name a source the prompt shows (`doc.md#3`) when it has any.
    if has(&["source"])
        && let Some(r) = words.source_ref(rng)
    {
        return r;
    }
    if n == "id" || n.ends_with("_id") || name.is_some_and(|o| o.ends_with("Id")) {
        return format!("id_{:08x}", rng.u32(..));
    }
    if n.ends_with("_at") || has(&["timestamp", "datetime"]) {
        return format!("{}T{}Z", date(rng), time(rng));
    }
    if has(&["date", "deadline", "birthday"]) {
        return date(rng);
    }
    if has(&["phone", "mobile"]) {
        return format!("+1-555-01{:02}", rng.u8(0..100));
    }
    if has(&["quote", "evidence", "excerpt", "citation"]) {
        return words.quote(rng, 6..=12);
    }
    if has(&["company", "organization", "organisation", "employer"]) {
        return format!("{} Corp", capitalise(&words.one(rng)));
    }
    if n.ends_with("name") || n == "author" || n == "assignee" || n == "customer" {
        let f = FIRST[rng.usize(0..FIRST.len())];
        let l = LAST[rng.usize(0..LAST.len())];
        return format!("{} {}", capitalise(f), capitalise(l));
    }
    if has(&["city"]) {
        return CITIES[rng.usize(0..CITIES.len())].to_string();
    }
    if has(&["country"]) {
        return "US".to_string();
    }
    if has(&["currency"]) {
        return "USD".to_string();
    }
    if has(&["language", "lang", "locale"]) {
        return "en".to_string();
    }
    let sentence_keys = [
        "summary",
        "description",
        "reason",
        "rationale",
        "explanation",
        "answer",
        "response",
        "reply",
        "body",
        "message",
        "content",
        "text",
        "note",
        "comment",
        "justification",
        "analysis",
        "detail",
        "feedback",
        "instructions",
        "resolution",
        "suggestion",
    ];
    if long && has(&sentence_keys) {
        return words.sentence(rng, 8..=16);
    }
    if has(&["title", "subject", "headline", "topic", "heading"]) {
        return capitalise(&words.phrase(rng, 3..=6));
    }
    if has(&[
        "category", "label", "kind", "type", "tag", "keyword", "status", "intent",
    ]) {
        return words.one(rng);
    }
    words.phrase(rng, 2..=4)
}

/// Fit `s` to `min..=max` characters, preferring to cut at a word boundary.
fn fit(mut s: String, words: &Words, rng: &mut Rng, min: usize, max: Option<usize>) -> String {
    let mut guard = 0;
    while s.chars().count() < min && guard < 1000 {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&words.phrase(rng, 4..=4));
        guard += 1;
    }
    let Some(max) = max else { return s };
    if s.chars().count() <= max {
        return s;
    }
    let cut: String = s.chars().take(max).collect();
    if let Some(space) = cut.rfind(' ') {
        let shorter = cut[..space].trim_end_matches([',', ';', ':']).to_string();
        let n = shorter.chars().count();
        if n >= min && n * 2 >= max {
            return shorter;
        }
    }
    if cut.ends_with(' ') && cut.trim_end().chars().count() >= min {
        return cut.trim_end().to_string();
    }
    cut
}

fn slug(s: &str) -> String {
    let out: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if out.is_empty() {
        "item".to_string()
    } else {
        out
    }
}

fn date(rng: &mut Rng) -> String {
    format!("2024-{:02}-{:02}", rng.u8(1..=12), rng.u8(1..=28))
}

fn time(rng: &mut Rng) -> String {
    format!(
        "{:02}:{:02}:{:02}",
        rng.u8(0..24),
        rng.u8(0..60),
        rng.u8(0..60)
    )
}

fn email(rng: &mut Rng) -> String {
    let f = FIRST[rng.usize(0..FIRST.len())];
    let l = LAST[rng.usize(0..LAST.len())];
    format!("{f}.{l}@example.com")
}

fn uuid(rng: &mut Rng) -> String {
    let a = rng.u128(..);
    let a = (a & !(0xF << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let h = format!("{a:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_cited_from_the_text() {
        let w = Words::new("billing.md#2\nRefunds take five days.\n[sso.md#10] x#y #3");
        let mut rng = Rng::with_seed(1);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..40 {
            seen.insert(w.source_ref(&mut rng).unwrap());
        }
        assert_eq!(
            seen.into_iter().collect::<Vec<_>>(),
            ["billing.md#2", "sso.md#10"]
        );
        assert!(Words::new("no refs here").source_ref(&mut rng).is_none());
        let cited = Words::new("quoted text only").citing("see a.md#1 and <b.txt#2>");
        let r = cited.source_ref(&mut rng).unwrap();
        assert!(r == "a.md#1" || r == "b.txt#2", "{r}");
    }

    #[test]
    fn quotes_stay_on_one_line_with_enough_words() {
        let text = "one two three four five six seven eight\nnine ten eleven twelve thirteen fourteen fifteen sixteen\nend";
        let w = Words::new(text);
        let mut rng = Rng::with_seed(5);
        for _ in 0..200 {
            let q = w.quote(&mut rng, 4..=4);
            assert!(!q.contains('\n'), "{q:?}");
            assert!(q == "end" || q.split(' ').count() == 4, "{q:?}");
            assert!(text.contains(&q));
        }
    }

    #[test]
    fn quotes_are_verbatim_and_fit_respects_bounds() {
        let text =
            "Hi team,\nI was charged twice for my March invoice. Please refund the extra charge!";
        let w = Words::new(text);
        let mut rng = Rng::with_seed(3);
        for _ in 0..50 {
            let q = w.quote(&mut rng, 6..=6);
            assert!(text.contains(&q), "{q}");
            let s = string_value(&w, &mut rng, Some("summary"), None, 10, Some(30));
            let n = s.chars().count();
            assert!((10..=30).contains(&n), "{s}");
        }
        let s = string_value(&w, &mut rng, Some("summary"), None, 0, Some(200));
        assert!(s.ends_with('.') && s.split(' ').count() >= 8, "{s}");
        let id = uuid(&mut rng);
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(
            Words::new("  !! ")
                .phrase(&mut rng, 3..=3)
                .split(' ')
                .count()
                == 3
        );
    }
}
