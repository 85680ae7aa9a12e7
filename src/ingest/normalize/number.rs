//! Numbers written as text with a locale's separators → JSON numbers.
//!
//! `en` `1,234.56`, `de` `1.234,56`, `fr` `1 234,56` (space, no-break or
//! narrow no-break space), `ch` `1'234.56`, `in` `12,34,567.89` (lakh);
//! without a locale only `1234.56`. Negative as `-12`, `−12`, `(12)` or
//! `12-`; with `currency = true` a symbol or ISO code before or after is
//! dropped; with `percent = true` a trailing `%` divides by 100. Grouping
//! is checked: `1,23,4` is an error, never a guess.

use serde_json::{Number, Value};

/// The separators of a `locale`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// No grouping, `.` decimal.
    Plain,
    En,
    De,
    Fr,
    Ch,
    /// Indian grouping (lakh, crore), `.` decimal.
    In,
}

impl Locale {
    pub fn parse(s: &str) -> Option<Locale> {
        match s {
            "plain" => Some(Locale::Plain),
            "en" => Some(Locale::En),
            "de" => Some(Locale::De),
            "fr" => Some(Locale::Fr),
            "ch" => Some(Locale::Ch),
            "in" => Some(Locale::In),
            _ => None,
        }
    }

    fn decimal(self) -> char {
        match self {
            Locale::De | Locale::Fr => ',',
            _ => '.',
        }
    }

    fn is_group(self, c: char) -> bool {
        match self {
            Locale::Plain => false,
            Locale::En | Locale::In => c == ',',
            Locale::De => c == '.',
            Locale::Fr => matches!(c, ' ' | '\u{a0}' | '\u{202f}'),
            Locale::Ch => matches!(c, '\'' | '\u{2019}'),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Locale::Plain => "plain",
            Locale::En => "en",
            Locale::De => "de",
            Locale::Fr => "fr",
            Locale::Ch => "ch",
            Locale::In => "in",
        }
    }
}

/// A `kind = "number"` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberRule {
    pub locale: Locale,
    pub currency: bool,
    pub percent: bool,
}

const SYMBOLS: &[&str] = &[
    "R$", "Fr.", "kr", "zł", "$", "€", "£", "¥", "₹", "₽", "₩", "₺", "₪", "₫", "฿", "¢",
];

/// Normalise one value, or say in plain words why it is not a number.
pub fn normalize(value: &Value, rule: &NumberRule) -> Result<Value, String> {
    match value {
        Value::Number(_) => Ok(value.clone()),
        Value::String(s) => parse(s, rule).map(Value::Number),
        other => Err(format!(
            "a number must be a number or a string, not {}",
            super::type_name(other)
        )),
    }
}

fn parse(original: &str, rule: &NumberRule) -> Result<Number, String> {
    let not = |why: &str| {
        format!(
            "`{original}` is not a number in the `{}` locale: {why}",
            rule.locale.name()
        )
    };
    let mut s = original.trim();
    if s.is_empty() {
        return Err("an empty string is not a number (declare `empty` to accept it)".into());
    }
    let mut negative = false;
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        negative = true;
        s = inner.trim();
    }
    let mut percent = false;
    if rule.percent
        && let Some(rest) = s.strip_suffix('%')
    {
        percent = true;
        s = rest.trim_end();
    }
    if rule.currency {
        s = strip_currency(s);
    }
    let sign = |s: &mut &str, negative: &mut bool| -> Result<(), String> {
        let lead = s.chars().next();
        if matches!(lead, Some('-' | '\u{2212}' | '+')) {
            if *negative {
                return Err(not("it has two signs"));
            }
            *negative = lead != Some('+');
            let n = lead.map_or(0, char::len_utf8);
            *s = s[n..].trim_start();
        } else if let Some(rest) = s.strip_suffix('-') {
            if *negative {
                return Err(not("it has two signs"));
            }
            *negative = true;
            *s = rest.trim_end();
        }
        Ok(())
    };
    sign(&mut s, &mut negative)?;
    if rule.currency {
        s = strip_currency(s);
        if !negative {
            sign(&mut s, &mut negative)?;
        }
    }
    let (int, frac) = match s.split_once(rule.locale.decimal()) {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let mut digits = String::with_capacity(s.len() + 2);
    if negative {
        digits.push('-');
    }
    if int.is_empty() && frac.is_none() {
        return Err(not("there are no digits"));
    }
    grouped(int, rule.locale, &mut digits).map_err(|why| not(&why))?;
    if let Some(f) = frac {
        if f.is_empty() || !f.chars().all(|c| c.is_ascii_digit()) {
            return Err(not("the decimals must be digits only"));
        }
        if digits.trim_start_matches('-').is_empty() {
            digits.push('0');
        }
        digits.push('.');
        digits.push_str(f);
    }
    if frac.is_none()
        && !percent
        && let Ok(i) = digits.parse::<i64>()
    {
        return Ok(Number::from(i));
    }
    let f: f64 = digits.parse().map_err(|_| not("it is out of range"))?;
    let f = if percent { f / 100.0 } else { f };
    Number::from_f64(f).ok_or_else(|| not("it is out of range"))
}

/// The integer part's digits, its grouping checked, appended to `out`.
fn grouped(int: &str, locale: Locale, out: &mut String) -> Result<(), String> {
    let groups: Vec<&str> = int.split(|c| locale.is_group(c)).collect();
    for g in &groups {
        if let Some(c) = g.chars().find(|c| !c.is_ascii_digit()) {
            return Err(format!(
                "`{c}` is not a digit or a separator of this locale"
            ));
        }
    }
    if groups.len() > 1 {
        let last = groups.len() - 1;
        let ok = groups.iter().enumerate().all(|(i, g)| match (locale, i) {
            (_, 0) => (1..=if locale == Locale::In && last > 1 {
                2
            } else {
                3
            })
                .contains(&g.len()),
            (Locale::In, i) if i < last => g.len() == 2,
            _ => g.len() == 3,
        });
        if !ok {
            return Err("the digit grouping is wrong".into());
        }
    }
    for g in groups {
        out.push_str(g);
    }
    Ok(())
}

/// Drop a currency symbol or a three-letter code at either end.
fn strip_currency(s: &str) -> &str {
    let mut s = s;
    for sym in SYMBOLS {
        if let Some(rest) = s.strip_prefix(sym) {
            s = rest.trim_start();
            break;
        }
    }
    for sym in SYMBOLS {
        if let Some(rest) = s.strip_suffix(sym) {
            s = rest.trim_end();
            break;
        }
    }
    let is_code = |w: &str| w.len() == 3 && w.bytes().all(|b| b.is_ascii_uppercase());
    if s.len() > 3 && s.is_char_boundary(3) && is_code(&s[..3]) {
        s = s[3..].trim_start();
    }
    if s.len() > 3 && s.is_char_boundary(s.len() - 3) && is_code(&s[s.len() - 3..]) {
        s = s[..s.len() - 3].trim_end();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(locale: &str, currency: bool, percent: bool) -> NumberRule {
        NumberRule {
            locale: Locale::parse(locale).unwrap(),
            currency,
            percent,
        }
    }

    #[test]
    fn every_accepted_form() {
        let cases: &[(&str, bool, bool, Value, Value)] = &[
            ("plain", false, false, json!("1234.56"), json!(1234.56)),
            ("plain", false, false, json!(" -12 "), json!(-12)),
            ("plain", false, false, json!(12.5), json!(12.5)),
            ("en", false, false, json!("1,234.56"), json!(1234.56)),
            ("en", false, false, json!("1,234,567"), json!(1_234_567)),
            ("en", false, false, json!("1234.5"), json!(1234.5)),
            ("en", false, false, json!(".5"), json!(0.5)),
            ("de", false, false, json!("1.234,56"), json!(1234.56)),
            ("de", false, false, json!("1.234"), json!(1234)),
            ("de", false, false, json!("-0,5"), json!(-0.5)),
            ("fr", false, false, json!("1 234,56"), json!(1234.56)),
            (
                "fr",
                false,
                false,
                json!("1\u{202f}234\u{a0}567,8"),
                json!(1_234_567.8),
            ),
            ("ch", false, false, json!("1'234.56"), json!(1234.56)),
            ("ch", false, false, json!("1\u{2019}234"), json!(1234)),
            (
                "in",
                false,
                false,
                json!("12,34,567.89"),
                json!(1_234_567.89),
            ),
            ("in", false, false, json!("1,23,45,678"), json!(12_345_678)),
            ("in", false, false, json!("999"), json!(999)),
            ("in", false, false, json!("1,234"), json!(1234)),
            ("en", false, false, json!("(12)"), json!(-12)),
            ("en", false, false, json!("12-"), json!(-12)),
            ("en", false, false, json!("\u{2212}12"), json!(-12)),
            ("en", false, false, json!("+12"), json!(12)),
            ("en", true, false, json!("$1,234.50"), json!(1234.5)),
            ("en", true, false, json!("-$12"), json!(-12)),
            ("en", true, false, json!("$-12"), json!(-12)),
            ("en", true, false, json!("($1,000.00)"), json!(-1000.0)),
            ("de", true, false, json!("1.234,56 €"), json!(1234.56)),
            ("de", true, false, json!("EUR 1.234,56"), json!(1234.56)),
            ("ch", true, false, json!("CHF 1'234.50"), json!(1234.5)),
            ("ch", true, false, json!("1'234.50 Fr."), json!(1234.5)),
            ("in", true, false, json!("₹12,34,567"), json!(1_234_567)),
            ("en", false, true, json!("12.5%"), json!(0.125)),
            ("de", false, true, json!("7 %"), json!(0.07)),
            ("de", true, false, json!("12€"), json!(12)),
            ("de", true, false, json!("€12"), json!(12)),
            ("en", true, false, json!("12 USD"), json!(12)),
        ];
        for (locale, currency, percent, input, want) in cases {
            let got = normalize(input, &rule(locale, *currency, *percent));
            assert_eq!(got.as_ref(), Ok(want), "{input} in {locale}");
        }
    }

    #[test]
    fn every_error_in_plain_words() {
        let cases: &[(&str, bool, bool, Value, &str)] = &[
            (
                "en",
                false,
                false,
                json!("1,23,4"),
                "`1,23,4` is not a number in the `en` locale: the digit grouping is wrong",
            ),
            ("en", false, false, json!("1,2345"), "grouping is wrong"),
            ("de", false, false, json!("1.23"), "grouping is wrong"),
            ("in", false, false, json!("12,345,678"), "grouping is wrong"),
            ("plain", false, false, json!("1,234"), "`,` is not a digit"),
            ("en", false, false, json!("$12"), "`$` is not a digit"),
            ("en", false, false, json!("12%"), "`%` is not a digit"),
            (
                "en",
                false,
                false,
                json!("1.2.3"),
                "decimals must be digits only",
            ),
            (
                "en",
                false,
                false,
                json!("12."),
                "decimals must be digits only",
            ),
            ("en", false, false, json!("-(12)"), "`(` is not a digit"),
            ("en", false, false, json!("(-12)"), "two signs"),
            ("en", false, false, json!("-"), "no digits"),
            (
                "en",
                false,
                false,
                json!(""),
                "an empty string is not a number",
            ),
            ("en", false, false, json!("twelve"), "`t` is not a digit"),
            ("de", false, false, json!("12€"), "`€` is not a digit"),
            ("de", false, false, json!("1€2€"), "`€` is not a digit"),
            ("en", true, false, json!("USD"), "`U` is not a digit"),
            ("en", false, false, json!([1]), "not an array"),
        ];
        for (locale, currency, percent, input, want) in cases {
            let got = normalize(input, &rule(locale, *currency, *percent)).unwrap_err();
            assert!(
                got.contains(want),
                "{input} in {locale}: {got:?} lacks {want:?}"
            );
        }
    }
}
