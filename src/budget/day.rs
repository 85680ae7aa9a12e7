//! UTC calendar days as `YYYY-MM-DD` text, with the day arithmetic budgets
//! and the cost checks need (no time-zone library: budgets are UTC).

use std::time::{SystemTime, UNIX_EPOCH};

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    crate::civil::days_from_civil(crate::civil::Date {
        year: y,
        month: m,
        day: d,
    })
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let d = crate::civil::civil_from_days(z);
    (d.year, d.month, d.day)
}

/// A UTC calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(i64);

impl Day {
    pub fn today() -> Day {
        Day::of(SystemTime::now())
    }

    pub fn of(t: SystemTime) -> Day {
        let secs = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        Day(secs.div_euclid(86_400))
    }

    /// Parse `YYYY-MM-DD`, checking the date exists.
    pub fn parse(text: &str) -> Result<Day, String> {
        let bad = || format!("`{text}` is not a date like 2026-11-23");
        let parts: Vec<&str> = text.split('-').collect();
        let [y, m, d] = parts.as_slice() else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<u32>(), d.parse::<u32>()) else {
            return Err(bad());
        };
        let day = Day(days_from_civil(y, m, d));
        if !(1..=12).contains(&m) || day.ymd() != (y, m, d) {
            return Err(bad());
        }
        Ok(day)
    }

    fn ymd(self) -> (i64, u32, u32) {
        civil_from_days(self.0)
    }

    pub fn plus(self, days: i64) -> Day {
        Day(self.0 + days)
    }

    /// Whole days from `self` to `later`.
    pub fn until(self, later: Day) -> i64 {
        later.0 - self.0
    }

    /// `YYYY-MM`.
    pub fn month(self) -> String {
        let (y, m, _) = self.ymd();
        format!("{y:04}-{m:02}")
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn round_trips_and_rejects_bad_dates() {
        for text in ["1970-01-01", "2000-02-29", "2026-11-23", "2100-12-31"] {
            assert_eq!(Day::parse(text).unwrap().to_string(), text);
        }
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "26-01-01",
            "2026-1-01",
            "x",
        ] {
            assert!(Day::parse(bad).is_err(), "{bad}");
        }
        let d = Day::parse("2024-02-28").unwrap();
        assert_eq!(d.plus(1).to_string(), "2024-02-29");
        assert_eq!(d.plus(2).to_string(), "2024-03-01");
        assert_eq!(d.plus(-59).to_string(), "2023-12-31");
        assert_eq!(d.month(), "2024-02");
        assert_eq!(d.until(d.plus(30)), 30);
    }

    #[test]
    fn utc_day_of_a_time() {
        // 2026-11-23T23:59:59Z and one second later.
        let t = UNIX_EPOCH + Duration::from_secs(1_795_478_399);
        assert_eq!(Day::of(t).to_string(), "2026-11-23");
        assert_eq!(
            Day::of(t + Duration::from_secs(1)).to_string(),
            "2026-11-24"
        );
    }
}
