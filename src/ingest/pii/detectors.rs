//! One detector per kind: a regex finds candidates, a validator (checksum,
//! ranges, edges, context) keeps the real ones. Overlapping detections are
//! settled longest first, then by how specific the kind is.

use std::sync::LazyLock;

use regex::Regex;

use super::checks;
use super::policy::{Checksum, PiiPolicy};

/// The built-in detectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Email,
    Phone,
    Card,
    Iban,
    Ip,
    Ssn,
}

impl Builtin {
    pub const ALL: [Builtin; 6] = [
        Builtin::Email,
        Builtin::Phone,
        Builtin::Card,
        Builtin::Iban,
        Builtin::Ip,
        Builtin::Ssn,
    ];

    /// The name in config.
    pub fn name(self) -> &'static str {
        match self {
            Builtin::Email => "email",
            Builtin::Phone => "phone",
            Builtin::Card => "card",
            Builtin::Iban => "iban",
            Builtin::Ip => "ip",
            Builtin::Ssn => "ssn",
        }
    }

    /// The placeholder kind.
    pub fn kind(self) -> &'static str {
        match self {
            Builtin::Email => "EMAIL",
            Builtin::Phone => "PHONE",
            Builtin::Card => "CARD",
            Builtin::Iban => "IBAN",
            Builtin::Ip => "IP",
            Builtin::Ssn => "SSN",
        }
    }

    pub fn parse(name: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.name() == name)
    }

    /// Lower wins among detections of the same length.
    fn rank(self) -> u8 {
        match self {
            Builtin::Iban => 1,
            Builtin::Card => 2,
            Builtin::Ssn => 3,
            Builtin::Email => 4,
            Builtin::Ip => 5,
            Builtin::Phone => 6,
        }
    }

    fn find(self, text: &str, out: &mut Vec<Found>) {
        let mut push = |start, end| {
            out.push(Found {
                start,
                end,
                kind: self.kind().to_string(),
                rank: self.rank(),
            })
        };
        match self {
            Builtin::Email => email(text, &mut push),
            Builtin::Phone => phone(text, &mut push),
            Builtin::Card => card(text, &mut push),
            Builtin::Iban => iban(text, &mut push),
            Builtin::Ip => ip(text, &mut push),
            Builtin::Ssn => ssn(text, &mut push),
        }
    }
}

/// A detection: byte range and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub start: usize,
    pub end: usize,
    pub kind: String,
    rank: u8,
}

/// Every detection in `text`, without overlaps, in text order.
pub fn find(text: &str, policy: &PiiPolicy) -> Vec<Found> {
    let mut all = Vec::new();
    for b in &policy.builtins {
        b.find(text, &mut all);
    }
    for p in &policy.patterns {
        for m in p.regex.find_iter(text) {
            let ok = match p.checksum {
                None => true,
                Some(Checksum::Luhn) => checks::luhn(m.as_str()),
                Some(Checksum::Mod11) => checks::mod11(m.as_str()),
            };
            if ok && !m.as_str().is_empty() {
                all.push(Found {
                    start: m.start(),
                    end: m.end(),
                    kind: p.name.clone(),
                    rank: 0,
                });
            }
        }
    }
    all.sort_by_key(|f| (std::cmp::Reverse(f.end - f.start), f.rank, f.start));
    // Kept detections by start; they never overlap, so only the nearest
    // on each side can collide with a newcomer.
    let mut kept: std::collections::BTreeMap<usize, Found> = std::collections::BTreeMap::new();
    for f in all {
        let left_clear = kept
            .range(..=f.start)
            .next_back()
            .is_none_or(|(_, k)| k.end <= f.start);
        let right_clear = kept
            .range(f.start..)
            .next()
            .is_none_or(|(_, k)| k.start >= f.end);
        if left_clear && right_clear {
            kept.insert(f.start, f);
        }
    }
    kept.into_values().collect()
}

fn re(pattern: &str) -> Option<Regex> {
    Regex::new(pattern).ok()
}

static EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"[A-Za-z0-9._%+-][A-Za-z0-9._%+'-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
});
/// Runs of digits joined by single spaces or dashes.
static DIGIT_RUN: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"\d+(?:[ -]\d+)*"));
static IBAN: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]){10,34}"));
static IPV4: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"\d{1,3}(?:\.\d{1,3}){3}"));
static IPV6: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"[0-9A-Fa-f:]*:[0-9A-Fa-f]*:[0-9A-Fa-f:.]*"));
static SSN_DASHED: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"\d{3}[- ]\d{2}[- ]\d{4}"));
static SSN_BARE: LazyLock<Option<Regex>> = LazyLock::new(|| re(r"\d{9}"));
static SSN_CONTEXT: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"(?i)\b(?:ssn|social security(?: number| no\.?)?|ss#)\W{0,4}$"));
static PHONE: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // International: +CC then groups, a "(0)" trunk allowed.
        r"\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){1,6}\d",
        // 00CC international prefix.
        r"00[1-9]\d{0,2}(?:[ .-]\d{1,4}){2,6}",
        // North American: (555) 123-4567, 555-123-4567, 555.123.4567, 555 123 4567.
        r"(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[ .-])\d{3}[ .-]\d{4}",
        // Trunk-0 national forms: 020 7946 0958, 07700 900123, 06 12 34 56 78.
        r"\(?0\d{1,4}\)?(?:[ .-]\d{2,8}){1,4}",
    ]
    .iter()
    .filter_map(|p| re(p))
    .collect()
});
/// Words before a number that make it an identifier, not a phone.
static NOT_PHONE_CONTEXT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(
        r"(?i)(?:\b(?:order|invoice|inv|ref|reference|tracking|ticket|case|account|acct|sku|serial|part|item|po|no|nr|id|version|ver|v|build)\b\W{0,3}|#\s?)$",
    )
});
/// The start of an IBAN-like code (`NL97 ABNA `): what follows is its
/// tail, not a phone, even when the checksum fails.
static CODE_CONTEXT: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"[A-Z]{2}\d{2}(?: [A-Z0-9]{4})+ $"));
static VERSION_CONTEXT: LazyLock<Option<Regex>> =
    LazyLock::new(|| re(r"(?i)(?:\bv|\bversion|\bver\.?|\bbuild|\brelease)\s?$"));
static DATE_LIKE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    re(r"^(?:\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|\d{4}[-./]\d{1,2}[-./]\d{1,2})(?:\D|$)")
});

/// The character before byte `at`, and the one before that.
fn before(text: &str, at: usize) -> (Option<char>, Option<char>) {
    let mut it = text[..at].chars().rev();
    (it.next(), it.next())
}

/// Up to 40 bytes of text before `at` (for context checks).
fn context(text: &str, at: usize) -> &str {
    let mut from = at.saturating_sub(40);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    &text[from..at]
}

fn after(text: &str, at: usize) -> (Option<char>, Option<char>) {
    let mut it = text[at..].chars();
    (it.next(), it.next())
}

/// Whether a match edge touches a letter or digit, directly or through a
/// joiner (`ORD-5551234567`, `1.2.3.4.5`, `12/3456`); with `spaced`, a
/// space joins digits too (the match is part of a longer digit run).
fn glued((c1, c2): (Option<char>, Option<char>), spaced: bool) -> bool {
    match c1 {
        Some(c) if c.is_alphanumeric() => true,
        Some('-' | '.' | '/' | '_' | ':' | '@') => c2.is_some_and(char::is_alphanumeric),
        Some(' ') if spaced => c2.is_some_and(|c| c.is_ascii_digit()),
        _ => false,
    }
}

fn clean_edges(text: &str, start: usize, end: usize) -> bool {
    !glued(before(text, start), false) && !glued(after(text, end), false)
}

fn clean_edges_spaced(text: &str, start: usize, end: usize) -> bool {
    !glued(before(text, start), true) && !glued(after(text, end), true)
}

fn email(text: &str, push: &mut impl FnMut(usize, usize)) {
    let Some(re) = EMAIL.as_ref() else { return };
    for m in re.find_iter(text) {
        let s = m.as_str();
        let local = s.split('@').next().unwrap_or("");
        if local.starts_with('.') || local.ends_with('.') || s.contains("..") {
            continue;
        }
        push(m.start(), m.end());
    }
}

/// The groups of a digit run: (start, end) byte offsets.
fn groups(text: &str, start: usize, end: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut g = start;
    for (i, c) in text[start..end].char_indices() {
        if !c.is_ascii_digit() {
            out.push((g, start + i));
            g = start + i + 1;
        }
    }
    out.push((g, end));
    out
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// Card numbers: 13–19 digits, in one group or several, with an issuer
/// prefix and a valid Luhn check digit. Any window of a longer run of
/// digit groups is tried, longest first.
fn card(text: &str, push: &mut impl FnMut(usize, usize)) {
    let Some(re) = DIGIT_RUN.as_ref() else { return };
    for m in re.find_iter(text) {
        let gs = groups(text, m.start(), m.end());
        card_windows(text, &gs, push);
    }
}

/// Left to right, the longest valid window starting at each group; a
/// window found is skipped past (linear in the run's length).
fn card_windows(text: &str, gs: &[(usize, usize)], push: &mut impl FnMut(usize, usize)) {
    let mut i = 0;
    while i < gs.len() {
        let mut best = None;
        for j in i..gs.len() {
            let (start, end) = (gs[i].0, gs[j].1);
            let d = digits(&text[start..end]);
            if d.len() > 19 {
                break;
            }
            if d.len() < 13 || !checks::card_prefix(&d) || !checks::luhn(&d) {
                continue;
            }
            // Inside a run the neighbours are digit groups; only the run's
            // own edges must be clean.
            if (i == 0 && glued(before(text, start), false))
                || (j + 1 == gs.len() && glued(after(text, end), false))
            {
                continue;
            }
            best = Some(j);
        }
        match best {
            Some(j) => {
                push(gs[i].0, gs[j].1);
                i = j + 1;
            }
            None => i += 1,
        }
    }
}

/// IBAN: country code, check digits, then exactly the country's length,
/// spaces allowed; mod 97 must hold.
fn iban(text: &str, push: &mut impl FnMut(usize, usize)) {
    let Some(re) = IBAN.as_ref() else { return };
    let mut from = 0;
    while let Some(m) = re.find_at(text, from) {
        from = m.start() + 1;
        let s = m.as_str();
        let Some(len) = checks::iban_length(&s[..2]) else {
            continue;
        };
        let mut n = 0;
        let mut end = None;
        for (i, c) in s.char_indices() {
            if c.is_ascii_alphanumeric() {
                n += 1;
                if n == len {
                    end = Some(m.start() + i + 1);
                    break;
                }
            }
        }
        let Some(end) = end else { continue };
        let (b, _) = before(text, m.start());
        let (a, _) = after(text, end);
        if b.is_some_and(char::is_alphanumeric) || a.is_some_and(char::is_alphanumeric) {
            continue;
        }
        if checks::iban(&text[m.start()..end]) {
            push(m.start(), end);
            from = end;
        }
    }
}

fn ip(text: &str, push: &mut impl FnMut(usize, usize)) {
    if let Some(re) = IPV4.as_ref() {
        for m in re.find_iter(text) {
            let version = VERSION_CONTEXT
                .as_ref()
                .is_some_and(|c| c.is_match(context(text, m.start())));
            if !version && clean_edges(text, m.start(), m.end()) && checks::ipv4(m.as_str()) {
                push(m.start(), m.end());
            }
        }
    }
    if let Some(re) = IPV6.as_ref() {
        for m in re.find_iter(text) {
            let mut s = m.as_str();
            let mut end = m.end();
            while (s.ends_with('.') || (s.ends_with(':') && !s.ends_with("::"))) && !s.is_empty() {
                s = &s[..s.len() - 1];
                end -= 1;
            }
            let (b1, _) = before(text, m.start());
            let (a1, _) = after(text, end);
            if b1.is_some_and(char::is_alphanumeric) || a1.is_some_and(char::is_alphanumeric) {
                continue;
            }
            if s.matches(':').count() >= 2 && checks::ipv6(s) {
                push(m.start(), end);
            }
        }
    }
}

/// US SSN: ddd-dd-dddd (or spaces) by the SSA's rules; nine bare digits
/// only right after an "SSN" label.
fn ssn(text: &str, push: &mut impl FnMut(usize, usize)) {
    if let Some(re) = SSN_DASHED.as_ref() {
        for m in re.find_iter(text) {
            let s = m.as_str();
            let same_sep = s.as_bytes().get(3) == s.as_bytes().get(6);
            if same_sep && clean_edges_spaced(text, m.start(), m.end()) && checks::ssn(s) {
                push(m.start(), m.end());
            }
        }
    }
    if let (Some(re), Some(ctx)) = (SSN_BARE.as_ref(), SSN_CONTEXT.as_ref()) {
        for m in re.find_iter(text) {
            if clean_edges(text, m.start(), m.end())
                && ctx.is_match(context(text, m.start()))
                && checks::ssn(m.as_str())
            {
                push(m.start(), m.end());
            }
        }
    }
}

/// Phone numbers: international (+CC, 00CC) and common national forms,
/// 7–15 digits, not a date, not labelled as an order or other number.
fn phone(text: &str, push: &mut impl FnMut(usize, usize)) {
    for (i, re) in PHONE.iter().enumerate() {
        for m in re.find_iter(text) {
            let s = m.as_str();
            let d = digits(s);
            let ok = match i {
                0 | 1 => (8..=15).contains(&d.len()),
                2 => {
                    let d = d.strip_prefix('1').filter(|r| r.len() == 10).unwrap_or(&d);
                    d.len() == 10 && d.as_bytes()[0] >= b'2' && d.as_bytes()[3] >= b'2'
                }
                _ => {
                    (9..=11).contains(&d.len())
                        && s.contains([' ', '-', '.', ')'])
                        && !d.starts_with("00")
                }
            };
            if !ok
                || !clean_edges_spaced(text, m.start(), m.end())
                || DATE_LIKE.as_ref().is_some_and(|r| r.is_match(s))
                || NOT_PHONE_CONTEXT
                    .as_ref()
                    .is_some_and(|r| r.is_match(context(text, m.start())))
                || CODE_CONTEXT
                    .as_ref()
                    .is_some_and(|r| r.is_match(context(text, m.start())))
            {
                continue;
            }
            push(m.start(), m.end());
        }
    }
}
