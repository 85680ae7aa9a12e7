//! Validators that turn a regex candidate into a detection: checksums and
//! range rules. Each takes the candidate text and answers yes or no.

use std::net::Ipv6Addr;

/// Luhn (mod 10) over the digits of `s`, ignoring anything else.
pub fn luhn(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() < 2 {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether 13–19 digits start like a payment card (an issuer prefix in use:
/// Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay, Maestro).
pub fn card_prefix(digits: &str) -> bool {
    let n = |len: usize| digits.get(..len).and_then(|p| p.parse::<u32>().ok());
    let len = digits.len();
    match digits.as_bytes().first() {
        Some(b'4') => matches!(len, 13 | 16 | 19),
        Some(b'3') => {
            matches!(n(2), Some(34 | 37)) && len == 15
                || matches!(n(2), Some(35)) && (16..=19).contains(&len)
                || matches!(n(2), Some(30 | 36 | 38 | 39)) && (14..=19).contains(&len)
        }
        Some(b'5') => (16..=19).contains(&len),
        Some(b'2') => matches!(n(4), Some(2221..=2720)) && len == 16,
        Some(b'6') => (16..=19).contains(&len),
        _ => false,
    }
}

/// Length of an IBAN by its country (ISO 13616 registry, common countries).
pub fn iban_length(country: &str) -> Option<usize> {
    let len = match country {
        "AD" => 24,
        "AE" => 23,
        "AL" => 28,
        "AT" => 20,
        "AZ" => 28,
        "BA" => 20,
        "BE" => 16,
        "BG" => 22,
        "BH" => 22,
        "BR" => 29,
        "CH" => 21,
        "CR" => 22,
        "CY" => 28,
        "CZ" => 24,
        "DE" => 22,
        "DK" => 18,
        "DO" => 28,
        "EE" => 20,
        "EG" => 29,
        "ES" => 24,
        "FI" => 18,
        "FO" => 18,
        "FR" => 27,
        "GB" => 22,
        "GE" => 22,
        "GI" => 23,
        "GL" => 18,
        "GR" => 27,
        "GT" => 28,
        "HR" => 21,
        "HU" => 28,
        "IE" => 22,
        "IL" => 23,
        "IS" => 26,
        "IT" => 27,
        "JO" => 30,
        "KW" => 30,
        "KZ" => 20,
        "LB" => 28,
        "LI" => 21,
        "LT" => 20,
        "LU" => 20,
        "LV" => 21,
        "MC" => 27,
        "MD" => 24,
        "ME" => 22,
        "MK" => 19,
        "MR" => 27,
        "MT" => 31,
        "MU" => 30,
        "NL" => 18,
        "NO" => 15,
        "PK" => 24,
        "PL" => 28,
        "PS" => 29,
        "PT" => 25,
        "QA" => 29,
        "RO" => 24,
        "RS" => 22,
        "SA" => 24,
        "SE" => 24,
        "SI" => 19,
        "SK" => 24,
        "SM" => 27,
        "TN" => 24,
        "TR" => 26,
        "UA" => 29,
        "VG" => 24,
        "XK" => 20,
        _ => return None,
    };
    Some(len)
}

/// IBAN check: the country's length and mod 97 = 1 (ISO 7064), spaces
/// ignored.
pub fn iban(s: &str) -> bool {
    let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(country) = compact.get(..2) else {
        return false;
    };
    if iban_length(country) != Some(compact.len())
        || !compact
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// A US Social Security number by the SSA's rules: area not 000, 666 or
/// 900–999; group not 00; serial not 0000. `s` holds nine digits, with or
/// without separators.
pub fn ssn(s: &str) -> bool {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 9 {
        return false;
    }
    let (area, rest) = digits.split_at(3);
    let (group, serial) = rest.split_at(2);
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// Dotted quad with each octet 0–255 and no leading zeros.
pub fn ipv4(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.chars().all(|c| c.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|v| v <= 255)
        })
}

/// An IPv6 address as the standard library parses it.
pub fn ipv6(s: &str) -> bool {
    s.parse::<Ipv6Addr>().is_ok()
}

/// Mod 11 with weights 10, 9, …, 2 over all digits but the last, which is
/// the check digit (11 − sum mod 11; 11 → 0, 10 → invalid): the NHS
/// number's scheme.
pub fn mod11(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    let Some((&check, body)) = digits.split_last() else {
        return false;
    };
    if body.is_empty() {
        return false;
    }
    let n = body.len() as u32 + 1;
    let sum: u32 = body
        .iter()
        .enumerate()
        .map(|(i, &d)| d * (n - i as u32))
        .sum();
    match 11 - sum % 11 {
        11 => check == 0,
        10 => false,
        c => check == c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums() {
        assert!(luhn("4111 1111 1111 1111"));
        assert!(!luhn("4111 1111 1111 1112"));
        assert!(card_prefix("4111111111111111"));
        assert!(!card_prefix("1234567812345670"));
        assert!(iban("DE89 3704 0044 0532 0130 00"));
        assert!(iban("GB82WEST12345698765432"));
        assert!(!iban("GB82WEST12345698765433"));
        assert!(!iban("DE89 3704 0044 0532 0130 0"));
        assert!(ssn("123-45-6789"));
        assert!(!ssn("000-45-6789") || !ssn("666-45-6789"));
        assert!(!ssn("912-45-6789"));
        assert!(!ssn("123-00-6789"));
        assert!(!ssn("123-45-0000"));
        assert!(ipv4("192.168.0.1"));
        assert!(!ipv4("192.168.0.256"));
        assert!(!ipv4("01.2.3.4"));
        assert!(ipv6("2001:db8::1"));
        assert!(!ipv6("12:30:45"));
        assert!(mod11("943 476 5919"));
        assert!(!mod11("943 476 5918"));
    }
}
