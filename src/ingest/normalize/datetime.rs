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

use serde_json::Value;

use super::civil::{self, Date, Time};

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
        iso(s, rule)
    } else if lead > 0 && matches!(b.get(lead), Some(b'/' | b'.' | b'-')) {
        numeric(s, rule)
    } else if b.first().is_some_and(u8::is_ascii_alphabetic) || b.get(lead) == Some(&b' ') {
        rfc2822(s, rule)
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

fn finish(s: &str, date: Date, time: Time, offset: i64) -> Result<String, String> {
    // A leap second is folded into the next second.
    let secs = civil::to_unix(date, time, offset);
    civil::format_utc(secs, time.nanos)
        .ok_or_else(|| format!("`{s}` is out of range once converted to UTC"))
}

fn iso(s: &str, rule: &DateRule) -> Result<String, String> {
    let bad = || format!("`{s}` is not an ISO 8601 date or time");
    let mut c = Cursor::new(s);
    let basic = s.as_bytes().get(4) != Some(&b'-');
    let year = c.digits(4, 4).ok_or_else(bad)?;
    if !basic && !c.eat(b'-') {
        return Err(bad());
    }
    let month = c.digits(2, 2).ok_or_else(bad)?;
    if !basic && !c.eat(b'-') {
        return Err(bad());
    }
    let day = c.digits(2, 2).ok_or_else(bad)?;
    let date = civil::check_date(i64::from(year), month, day)
        .map_err(|why| format!("`{s}` is not a date: {why}"))?;
    if c.at_end() {
        return finish(s, date, Time::default(), rule.offset_secs);
    }
    if !(c.eat(b'T') || c.eat(b't') || (!basic && c.eat(b' '))) {
        return Err(bad());
    }
    let time = c.time(basic, false).ok_or_else(bad)?;
    let time = time.map_err(|why| format!("`{s}` is not a time: {why}"))?;
    let offset = if c.at_end() {
        rule.offset_secs
    } else {
        c.zone(false).ok_or_else(bad)?
    };
    if !c.at_end() {
        return Err(bad());
    }
    finish(s, date, time, offset)
}

fn numeric(s: &str, rule: &DateRule) -> Result<String, String> {
    let mut c = Cursor::new(s);
    let start = c.pos;
    let a = c.digits(1, 4).ok_or_else(String::new)?;
    let a_len = c.pos - start;
    let sep = c.peek().ok_or_else(String::new)?;
    c.pos += 1;
    let b = c.digits(1, 2).ok_or_else(String::new)?;
    if !c.eat(sep) {
        return Err(String::new());
    }
    let start = c.pos;
    let last = c.digits(1, 4).ok_or_else(String::new)?;
    let last_len = c.pos - start;
    let (order, year, y_len, month, day) = if a_len == 4 {
        (Order::Ymd, a, 4, b, last)
    } else {
        let Some(order) = rule.order else {
            return Err(format!(
                "`{s}` is a numeric date whose order is ambiguous: declare `order = \"dmy\"`, `\"mdy\"` or `\"ymd\"`"
            ));
        };
        match order {
            Order::Dmy => (order, last, last_len, b, a),
            Order::Mdy => (order, last, last_len, a, b),
            Order::Ymd => (order, a, a_len, b, last),
        }
    };
    let not_in_order =
        |why: String| format!("`{s}` is not a date in {} order: {why}", order.words());
    let year = match y_len {
        4 => i64::from(year),
        // POSIX: 69–99 are 1969–1999, 00–68 are 2000–2068.
        2 if year >= 69 => 1900 + i64::from(year),
        2 => 2000 + i64::from(year),
        _ => return Err(not_in_order("the year must have 2 or 4 digits".into())),
    };
    if (a_len == 4 || order == Order::Ymd) && last_len > 2 {
        return Err(not_in_order("the day must have 1 or 2 digits".into()));
    }
    if order != Order::Ymd && a_len > 2 {
        return Err(not_in_order(
            "the first part must have 1 or 2 digits".into(),
        ));
    }
    let date = civil::check_date(year, month, day).map_err(not_in_order)?;
    if c.at_end() {
        return finish(s, date, Time::default(), rule.offset_secs);
    }
    if !(c.eat(b'T') || c.eat(b' ')) {
        return Err(not_in_order("unexpected text after the date".into()));
    }
    c.spaces();
    let bad_time = || format!("`{s}` has a time that cannot be read");
    let time = c
        .time(false, true)
        .ok_or_else(bad_time)?
        .map_err(|why| format!("`{s}` is not a time: {why}"))?;
    c.spaces();
    let offset = if c.at_end() {
        rule.offset_secs
    } else {
        c.zone(true).ok_or_else(bad_time)?
    };
    if !c.at_end() {
        return Err(bad_time());
    }
    finish(s, date, time, offset)
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const DAY_NAMES: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The index of `word` as an abbreviation or a full name (any case).
fn name_index(word: &str, short: &[&str], long: &[&str]) -> Option<usize> {
    short
        .iter()
        .position(|d| d.eq_ignore_ascii_case(word))
        .or_else(|| long.iter().position(|d| d.eq_ignore_ascii_case(word)))
}

fn rfc2822(s: &str, rule: &DateRule) -> Result<String, String> {
    let bad = || String::new();
    let mut c = Cursor::new(s);
    let weekday = if c.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
        let name = c.word();
        let idx = name_index(name, &DAYS, &DAY_NAMES).ok_or_else(bad)?;
        if !c.eat(b',') {
            return Err(bad());
        }
        c.spaces();
        Some(idx)
    } else {
        None
    };
    let day = c.digits(1, 2).ok_or_else(bad)?;
    c.spaces();
    let name = c.word();
    let month = name_index(name, &MONTHS, &MONTH_NAMES).ok_or_else(bad)? as u32 + 1;
    c.spaces();
    let start = c.pos;
    let year = c.digits(2, 4).ok_or_else(bad)?;
    let year = match c.pos - start {
        4 => i64::from(year),
        // RFC 2822 obsolete years: 00–49 → 2000s, 50–99 → 1900s, 3 digits + 1900.
        2 if year < 50 => 2000 + i64::from(year),
        _ => 1900 + i64::from(year),
    };
    let date = civil::check_date(year, month, day)
        .map_err(|why| format!("`{s}` is not an RFC 2822 date: {why}"))?;
    if let Some(w) = weekday {
        let actual = civil::days_from_civil(date).rem_euclid(7) as usize;
        if actual != w {
            return Err(format!(
                "`{s}` is not an RFC 2822 date: {year:04}-{month:02}-{day:02} is a {}, not a {}",
                DAYS[actual], DAYS[w]
            ));
        }
    }
    c.spaces();
    if c.at_end() {
        return finish(s, date, Time::default(), rule.offset_secs);
    }
    let time = c
        .time(false, false)
        .ok_or_else(bad)?
        .map_err(|why| format!("`{s}` is not a time: {why}"))?;
    c.spaces();
    let offset = if c.at_end() {
        rule.offset_secs
    } else {
        c.zone(true).ok_or_else(bad)?
    };
    c.spaces();
    // A trailing comment such as `(UTC)` or `(CET)` says nothing more.
    if c.peek() == Some(b'(') && s.ends_with(')') {
        c.pos = c.b.len();
    }
    if !c.at_end() {
        return Err(bad());
    }
    finish(s, date, time, offset)
}

/// A byte cursor over ASCII date text.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        Cursor {
            b: s.as_bytes(),
            pos: 0,
        }
    }

    fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// Between `min` and `max` digits.
    fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.pos;
        let mut n: u32 = 0;
        while self.pos - start < max {
            match self.peek() {
                Some(c) if c.is_ascii_digit() => {
                    n = n * 10 + u32::from(c - b'0');
                    self.pos += 1;
                }
                _ => break,
            }
        }
        (self.pos - start >= min).then_some(n)
    }

    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.b[start..self.pos]).unwrap_or("")
    }

    /// `hh:mm[:ss[.frac]]` (or `hhmm[ss]` when `basic`), then `AM`/`PM`
    /// when `ampm`. `None`: not a time; `Some(Err)`: a time that does not
    /// exist.
    fn time(&mut self, basic: bool, ampm: bool) -> Option<Result<Time, String>> {
        let hour = self.digits(if basic { 2 } else { 1 }, 2)?;
        if !basic && !self.eat(b':') {
            return None;
        }
        let minute = self.digits(2, 2)?;
        let mut second = 0;
        let mut nanos = 0;
        let has_seconds = if basic {
            self.peek().is_some_and(|c| c.is_ascii_digit())
        } else {
            self.eat(b':')
        };
        if has_seconds {
            second = self.digits(2, 2)?;
            if self.eat(b'.') || self.eat(b',') {
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.pos += 1;
                }
                let frac = &self.b[start..self.pos];
                if frac.is_empty() {
                    return None;
                }
                for (i, d) in frac.iter().take(9).enumerate() {
                    nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
                }
            }
        }
        let mut hour = hour;
        if ampm {
            let save = self.pos;
            self.spaces();
            let w = self.word();
            let pm = if w.eq_ignore_ascii_case("pm") {
                Some(true)
            } else if w.eq_ignore_ascii_case("am") {
                Some(false)
            } else {
                self.pos = save;
                None
            };
            if let Some(pm) = pm {
                if !(1..=12).contains(&hour) {
                    return Some(Err(format!(
                        "hour {hour} does not exist on a 12-hour clock"
                    )));
                }
                hour = hour % 12 + if pm { 12 } else { 0 };
            }
        }
        Some(civil::check_time(hour, minute, second, nanos))
    }

    /// `Z`, `±hh`, `±hhmm`, `±hh:mm`, or (when `names`) an RFC 2822 zone name.
    fn zone(&mut self, names: bool) -> Option<i64> {
        if self.eat(b'Z') || self.eat(b'z') {
            return Some(0);
        }
        let sign = match self.peek()? {
            b'+' => 1,
            b'-' => -1,
            c if names && c.is_ascii_alphabetic() => {
                let hours = match self.word().to_ascii_uppercase().as_str() {
                    "UT" | "UTC" | "GMT" => 0,
                    "EST" => -5,
                    "EDT" => -4,
                    "CST" => -6,
                    "CDT" => -5,
                    "MST" => -7,
                    "MDT" => -6,
                    "PST" => -8,
                    "PDT" => -7,
                    _ => return None,
                };
                return Some(hours * 3600);
            }
            _ => return None,
        };
        self.pos += 1;
        let h = self.digits(2, 2)?;
        let m = if self.eat(b':') {
            self.digits(2, 2)?
        } else {
            self.digits(2, 2).unwrap_or(0)
        };
        if h > 23 || m > 59 {
            return None;
        }
        Some(sign * i64::from(h * 3600 + m * 60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(order: Option<Order>, offset: &str, unix: Option<Unix>) -> DateRule {
        DateRule {
            order,
            offset_secs: parse_offset(offset).unwrap(),
            unix,
        }
    }

    #[test]
    fn every_accepted_format() {
        let utc = rule(None, "Z", None);
        let dmy = rule(Some(Order::Dmy), "Z", None);
        let mdy = rule(Some(Order::Mdy), "Z", None);
        let berlin = rule(Some(Order::Dmy), "+01:00", None);
        let secs = rule(None, "Z", Some(Unix::Seconds));
        let ms = rule(None, "Z", Some(Unix::Millis));
        let auto = rule(None, "Z", Some(Unix::Auto));
        let cases: &[(&DateRule, Value, &str)] = &[
            // ISO 8601 / RFC 3339
            (&utc, json!("2026-11-03T14:05:00Z"), "2026-11-03T14:05:00Z"),
            (
                &utc,
                json!("2026-11-03T14:05:00+01:00"),
                "2026-11-03T13:05:00Z",
            ),
            (
                &utc,
                json!("2026-11-03t14:05:00.250-0230"),
                "2026-11-03T16:35:00.25Z",
            ),
            (&utc, json!("2026-11-03 14:05"), "2026-11-03T14:05:00Z"),
            (
                &utc,
                json!("2026-11-03T14:05:00,5+05"),
                "2026-11-03T09:05:00.5Z",
            ),
            (&utc, json!("2026-11-03"), "2026-11-03T00:00:00Z"),
            (&berlin, json!("2026-11-03"), "2026-11-02T23:00:00Z"),
            (
                &berlin,
                json!("2026-11-03T14:05:00"),
                "2026-11-03T13:05:00Z",
            ),
            (&utc, json!("20261103T140500Z"), "2026-11-03T14:05:00Z"),
            (&utc, json!("20261103"), "2026-11-03T00:00:00Z"),
            (
                &utc,
                json!("  2026-01-01T00:00:00-01:00 "),
                "2026-01-01T01:00:00Z",
            ),
            // RFC 2822
            (
                &utc,
                json!("Tue, 3 Nov 2026 14:05:00 +0100"),
                "2026-11-03T13:05:00Z",
            ),
            (&utc, json!("3 Nov 2026 14:05 GMT"), "2026-11-03T14:05:00Z"),
            (
                &utc,
                json!("Tue, 03 Nov 26 09:05:00 EST"),
                "2026-11-03T14:05:00Z",
            ),
            (&berlin, json!("3 Nov 2026"), "2026-11-02T23:00:00Z"),
            (
                &utc,
                json!("Tue, 3 Nov 2026 14:05:00 +0000 (UTC)"),
                "2026-11-03T14:05:00Z",
            ),
            (
                &utc,
                json!("Tuesday, 3 November 2026 14:05 +01:00"),
                "2026-11-03T13:05:00Z",
            ),
            (&utc, json!("2026-12-31T23:59:60Z"), "2027-01-01T00:00:00Z"),
            (&utc, json!(-1), "1969-12-31T23:59:59Z"),
            // Numeric with a declared order
            (&dmy, json!("03/11/2026"), "2026-11-03T00:00:00Z"),
            (&dmy, json!("3.11.2026 14:05"), "2026-11-03T14:05:00Z"),
            (&dmy, json!("03-11-26"), "2026-11-03T00:00:00Z"),
            (&dmy, json!("31/12/99"), "1999-12-31T00:00:00Z"),
            (&mdy, json!("11/03/2026"), "2026-11-03T00:00:00Z"),
            (&mdy, json!("11/3/2026 2:05 PM"), "2026-11-03T14:05:00Z"),
            (&mdy, json!("11/3/2026 12:30:15 am"), "2026-11-03T00:30:15Z"),
            (
                &berlin,
                json!("03.11.2026 14:05:00"),
                "2026-11-03T13:05:00Z",
            ),
            (&utc, json!("2026/11/3"), "2026-11-03T00:00:00Z"),
            // Unix time
            (&utc, json!(1_793_714_700), "2026-11-03T14:05:00Z"),
            (
                &utc,
                json!(1_793_714_700_123_i64),
                "2026-11-03T14:05:00.123Z",
            ),
            (&utc, json!(1_793_714_700.5), "2026-11-03T14:05:00.5Z"),
            (&secs, json!("1793714700"), "2026-11-03T14:05:00Z"),
            (&ms, json!("1793714700000"), "2026-11-03T14:05:00Z"),
            (&ms, json!(1_793_714_700_000_i64), "2026-11-03T14:05:00Z"),
            (&auto, json!("1793714700000"), "2026-11-03T14:05:00Z"),
            (&utc, json!(0), "1970-01-01T00:00:00Z"),
        ];
        for (rule, input, want) in cases {
            assert_eq!(
                normalize(input, rule).as_deref(),
                Ok(*want),
                "{input} with {rule:?}"
            );
        }
    }

    #[test]
    fn every_error_in_plain_words() {
        let utc = rule(None, "Z", None);
        let dmy = rule(Some(Order::Dmy), "Z", None);
        let mdy = rule(Some(Order::Mdy), "Z", None);
        let cases: &[(&DateRule, Value, &str)] = &[
            (
                &dmy,
                json!("31/13/2026"),
                "`31/13/2026` is not a date in day/month/year order: month 13 does not exist",
            ),
            (
                &mdy,
                json!("13/31/2026"),
                "`13/31/2026` is not a date in month/day/year order: month 13 does not exist",
            ),
            (
                &dmy,
                json!("29/02/2026"),
                "day 29 does not exist in 2026-02",
            ),
            (&utc, json!("03/11/2026"), "order is ambiguous"),
            (
                &utc,
                json!("2026-02-30"),
                "`2026-02-30` is not a date: day 30 does not exist",
            ),
            (
                &utc,
                json!("2026-11-03T25:00:00Z"),
                "hour 25 does not exist",
            ),
            (
                &utc,
                json!("2026-11-03T14:05:00+25:00"),
                "is not an ISO 8601 date or time",
            ),
            (
                &utc,
                json!("2026-11-03T14:05:00 nonsense"),
                "is not an ISO 8601 date or time",
            ),
            (
                &utc,
                json!("Mon, 3 Nov 2026 14:05:00 +0100"),
                "is a Tue, not a Mon",
            ),
            (
                &utc,
                json!("next tuesday"),
                "not a date or time in a recognised format",
            ),
            (
                &utc,
                json!("1793714700"),
                "not a date or time in a recognised format",
            ),
            (&utc, json!(""), "an empty string is not a date"),
            (
                &utc,
                json!(true),
                "must be a string or a number, not a boolean",
            ),
            (&utc, json!(1e300), "out of range"),
            (
                &mdy,
                json!("11/3/2026 13:05 PM"),
                "hour 13 does not exist on a 12-hour clock",
            ),
            (&dmy, json!("03/11/202"), "the year must have 2 or 4 digits"),
        ];
        for (rule, input, want) in cases {
            let got = normalize(input, rule).unwrap_err();
            assert!(got.contains(want), "{input}: {got:?} lacks {want:?}");
        }
    }

    #[test]
    fn offsets() {
        assert_eq!(parse_offset("Z"), Some(0));
        assert_eq!(parse_offset("+01:00"), Some(3600));
        assert_eq!(parse_offset("-0530"), Some(-19_800));
        assert_eq!(parse_offset("+1"), None);
        assert_eq!(parse_offset("Europe/Berlin"), None);
    }
}
