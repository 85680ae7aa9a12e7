//! Proleptic Gregorian calendar arithmetic for years 0000–9999: the few
//! lines a date crate would bring, so seam needs none (ingest's
//! normalisation, budgets' UTC days). Instants are
//! seconds since the Unix epoch (UTC) plus nanoseconds.

/// A validated calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Date {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

/// A wall-clock time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Time {
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    pub nanos: u32,
}

pub fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Why a date or time is not one.
pub fn check_date(year: i64, month: u32, day: u32) -> Result<Date, String> {
    if !(0..=9999).contains(&year) {
        return Err(format!("year {year} is out of range (0000–9999)"));
    }
    if !(1..=12).contains(&month) {
        return Err(format!("month {month} does not exist"));
    }
    let last = days_in_month(year, month);
    if day == 0 || day > last {
        return Err(format!("day {day} does not exist in {year:04}-{month:02}"));
    }
    Ok(Date { year, month, day })
}

pub fn check_time(hour: u32, minute: u32, second: u32, nanos: u32) -> Result<Time, String> {
    if hour > 23 {
        return Err(format!("hour {hour} does not exist"));
    }
    if minute > 59 {
        return Err(format!("minute {minute} does not exist"));
    }
    // A leap second (60) is accepted and folded into the next second.
    if second > 60 {
        return Err(format!("second {second} does not exist"));
    }
    Ok(Time {
        hour,
        minute,
        second,
        nanos,
    })
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(d: Date) -> i64 {
    let y = if d.month <= 2 { d.year - 1 } else { d.year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(d.month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
pub fn civil_from_days(z: i64) -> Date {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Date { year, month, day }
}

/// Seconds since the epoch of a local date and time at `offset_secs` east
/// of UTC.
pub fn to_unix(date: Date, time: Time, offset_secs: i64) -> i64 {
    days_from_civil(date) * 86_400
        + i64::from(time.hour) * 3600
        + i64::from(time.minute) * 60
        + i64::from(time.second)
        - offset_secs
}

/// RFC 3339 in UTC with `Z`; fractional seconds only when there are some,
/// without trailing zeros. `None` outside years 0000–9999.
pub fn format_utc(secs: i64, nanos: u32) -> Option<String> {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let d = civil_from_days(days);
    if !(0..=9999).contains(&d.year) {
        return None;
    }
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let mut out = format!(
        "{:04}-{:02}-{:02}T{h:02}:{m:02}:{s:02}",
        d.year, d.month, d.day
    );
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_days() {
        for (y, m, d, days) in [
            (1970, 1, 1, 0),
            (2000, 3, 1, 11_017),
            (2026, 11, 3, 20_760),
            (1969, 12, 31, -1),
            (2024, 2, 29, 19_782),
        ] {
            let date = check_date(y, m, d).unwrap();
            assert_eq!(days_from_civil(date), days, "{y}-{m}-{d}");
            assert_eq!(civil_from_days(days), date);
        }
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(check_date(2026, 2, 29).is_err());
        assert!(check_date(2024, 2, 29).is_ok());
        assert!(check_date(1900, 2, 29).is_err());
        assert!(check_date(2026, 13, 1).is_err());
        assert!(check_date(2026, 4, 31).is_err());
        assert!(check_time(24, 0, 0, 0).is_err());
    }

    #[test]
    fn formats_utc() {
        assert_eq!(format_utc(0, 0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_utc(1_793_714_700, 120_000_000).unwrap(),
            "2026-11-03T14:05:00.12Z"
        );
    }
}
