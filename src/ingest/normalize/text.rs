//! Text: Unicode NFC and control characters stripped (tab, line feed and
//! carriage return kept); declared `text` fields are also trimmed.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// Whether `c` is a C0 or C1 control character (or DEL) other than
/// `\t`, `\n`, `\r`.
fn is_stripped(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// NFC with control characters removed; `None` when `s` is already clean,
/// so the common case allocates nothing.
pub fn clean(s: &str) -> Option<String> {
    let has_control = s.chars().any(is_stripped);
    let nfc = is_nfc_quick(s.chars()) == IsNormalized::Yes;
    if !has_control && nfc {
        return None;
    }
    let stripped = s.chars().filter(|c| !is_stripped(*c));
    let out: String = if nfc {
        stripped.collect()
    } else {
        stripped.nfc().collect()
    };
    (out != s).then_some(out)
}

/// A declared `text` field: cleaned and trimmed.
pub fn normalize(s: &str) -> String {
    let cleaned = clean(s);
    let s = cleaned.as_deref().unwrap_or(s);
    s.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfc_and_controls() {
        let cases: &[(&str, Option<&str>)] = &[
            ("plain", None),
            ("Zoë", None),
            ("Zoe\u{308}", Some("Zoë")),
            ("a\u{0}b\u{7}c\u{1b}[0m\u{7f}\u{85}\u{9b}", Some("abc[0m")),
            ("line\nnext\ttab\r\n", None),
            ("\u{212b}", Some("\u{c5}")),
            ("e\u{301}\u{0}", Some("é")),
        ];
        for (input, want) in cases {
            assert_eq!(clean(input).as_deref(), *want, "{input:?}");
        }
    }

    #[test]
    fn declared_text_is_trimmed() {
        assert_eq!(normalize("  Zoe\u{308} \u{0}\n"), "Zoë");
        assert_eq!(normalize("ok"), "ok");
    }
}
