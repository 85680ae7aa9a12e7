//! Dates and times in the common formats → RFC 3339 in UTC (`Z`).
//!
//! Accepted: ISO 8601 / RFC 3339 (extended and basic, `T` or a space,
//! fractions with `.` or `,`, offsets `Z`, `±hh`, `±hhmm`, `±hh:mm`, or
//! none, then the declared offset; a date alone is midnight), RFC 2822
//! (`Tue, 3 Nov 2026 14:05:00 +0100`, zone names UT/GMT/Z and the US ones),
//! numeric dates `a/b/y` with `/`, `.` or `-` in the declared `order`
//! (2- or 4-digit years, optional time with AM/PM), and Unix time in
//! seconds or milliseconds. A numeric date is never guessed: without a
//! declared order it is an error.

mod cursor;
mod formats;

use serde_json::Value;

use crate::civil::{self, Date, Time};
use cursor::Cursor;

/// How a numeric date orders its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Dmy,
    Mdy,
    Ymd,
}

impl Order {
    pub fn parse(s: &str) -> Option<Order> {
        match s {
            "dmy" => Some(Order::Dmy),
            "mdy" => Some(Order::Mdy),
            "ymd" => Some(Order::Ymd),
            _ => None,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Order::Dmy => "day/month/year",
            Order::Mdy => "month/day/year",
            Order::Ymd => "year/month/day",
        }
    }
}

/// The unit of Unix timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unix {
    /// Seconds below 10^11 (until year 5138), milliseconds from there.
    Auto,
    Seconds,
    Millis,
}

impl Unix {
    pub fn parse(s: &str) -> Option<Unix> {
        match s {
            "auto" => Some(Unix::Auto),
            "s" => Some(Unix::Seconds),
            "ms" => Some(Unix::Millis),
            _ => None,
        }
    }
}

/// A `kind = "datetime"` rule.
#[derive(Debug, Clone, PartialEq)]
pub struct DateRule {
    /// Order of numeric dates such as `03/11/2026`; none: they are refused.
    pub order: Option<Order>,
    /// Offset east of UTC, in seconds, of times written without one.
    pub offset_secs: i64,
    /// JSON numbers are always Unix time (`Auto` unless declared); digit
    /// strings only when this is declared.
    pub unix: Option<Unix>,
}

/// Parse `±hh:mm`, `±hhmm`, `±hh` or `Z` into seconds east of UTC.
pub fn parse_offset(s: &str) -> Option<i64> {
    let mut c = Cursor::new(s);
    let off = c.zone(false)?;
    c.at_end().then_some(off)
}

/// Normalise one value, or say in plain words why it is not a date.
pub fn normalize(value: &Value, rule: &DateRule) -> Result<String, String> {
    match value {
        Value::Number(n) => {
            let Some(f) = n.as_f64() else {
                return Err(format!("`{n}` is not a Unix time"));
            };
            unix(f, rule.unix.unwrap_or(Unix::Auto), &n.to_string())
        }
        Value::String(s) => parse_text(s.trim(), rule),
        other => Err(format!(
            "a date or time must be a string or a number, not {}",
            super::type_name(other)
        )),
    }
}

fn parse_text(s: &str, rule: &DateRule) -> Result<String, String> {
    if s.is_empty() {
        return Err("an empty string is not a date (declare `empty` to accept it)".into());
    }
    if let Some(unit) = rule.unix
        && is_decimal(s)
    {
        let f: f64 = s.parse().map_err(|_| format!("`{s}` is not a Unix time"))?;
        return unix(f, unit, s);
    }
    let b = s.as_bytes();
    let lead = b.iter().take_while(|c| c.is_ascii_digit()).count();
    let extended = lead == 4 && b.get(4) == Some(&b'-') && iso_shape(b);
    let basic = lead == 8 && matches!(b.get(8), None | Some(b'T' | b't'));
    let parsed = if extended || basic {
        formats::iso(s, rule)
    } else if lead > 0 && matches!(b.get(lead), Some(b'/' | b'.' | b'-')) {
        formats::numeric(s, rule)
    } else if b.first().is_some_and(u8::is_ascii_alphabetic) || b.get(lead) == Some(&b' ') {
        formats::rfc2822(s, rule)
    } else {
        Err(String::new())
    };
    parsed.map_err(|why| {
        if why.is_empty() {
            format!(
                "`{s}` is not a date or time in a recognised format (ISO 8601, RFC 2822, a numeric date with a declared order, Unix time)"
            )
        } else {
            why
        }
    })
}

/// `YYYY-MM-DD…`: two-digit month and day.
fn iso_shape(b: &[u8]) -> bool {
    b.len() >= 10
        && b[5].is_ascii_digit()
        && b[6].is_ascii_digit()
        && b[7] == b'-'
        && b[8].is_ascii_digit()
        && b[9].is_ascii_digit()
}

fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let mut parts = digits.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next().unwrap_or("0");
    !int.is_empty()
        && int.bytes().all(|c| c.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|c| c.is_ascii_digit())
}

fn unix(f: f64, unit: Unix, shown: &str) -> Result<String, String> {
    let millis = match unit {
        Unix::Millis => true,
        Unix::Seconds => false,
        Unix::Auto => f.abs() >= 1e11,
    };
    let total_ms = if millis { f } else { f * 1000.0 };
    // Years 0000–9999 only (format_utc refuses the rest of this range).
    if !total_ms.is_finite() || total_ms.abs() >= 253_402_300_800_000.0 {
        return Err(format!("`{shown}` is out of range as a Unix time"));
    }
    let ms = total_ms.round() as i64;
    let secs = ms.div_euclid(1000);
    let nanos = (ms.rem_euclid(1000) as u32) * 1_000_000;
    civil::format_utc(secs, nanos)
        .ok_or_else(|| format!("`{shown}` is out of range as a Unix time"))
}

pub(super) fn finish(s: &str, date: Date, time: Time, offset: i64) -> Result<String, String> {
    // A leap second is folded into the next second.
    let secs = civil::to_unix(date, time, offset);
    civil::format_utc(secs, time.nanos)
        .ok_or_else(|| format!("`{s}` is out of range once converted to UTC"))
}

#[cfg(test)]
mod tests;
