//! The text formats: ISO 8601, numeric dates in a declared order, RFC 2822.

use super::cursor::Cursor;
use super::{DateRule, Order, finish};
use crate::civil::{self, Time};

pub(super) fn iso(s: &str, rule: &DateRule) -> Result<String, String> {
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

pub(super) fn numeric(s: &str, rule: &DateRule) -> Result<String, String> {
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

pub(super) fn rfc2822(s: &str, rule: &DateRule) -> Result<String, String> {
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
