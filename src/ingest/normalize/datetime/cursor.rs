//! A byte cursor over ASCII date text: digits, names, times and zones.

use crate::civil::{self, Time};

/// A byte cursor over ASCII date text.
pub(super) struct Cursor<'a> {
    pub(super) b: &'a [u8],
    pub(super) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(s: &'a str) -> Self {
        Cursor {
            b: s.as_bytes(),
            pos: 0,
        }
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.b.len()
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    pub(super) fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.pos += 1;
        }
    }

    /// Between `min` and `max` digits.
    pub(super) fn digits(&mut self, min: usize, max: usize) -> Option<u32> {
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

    pub(super) fn word(&mut self) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.b[start..self.pos]).unwrap_or("")
    }

    /// `hh:mm[:ss[.frac]]` (or `hhmm[ss]` when `basic`), then `AM`/`PM`
    /// when `ampm`. `None`: not a time; `Some(Err)`: a time that does not
    /// exist.
    pub(super) fn time(&mut self, basic: bool, ampm: bool) -> Option<Result<Time, String>> {
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
    pub(super) fn zone(&mut self, names: bool) -> Option<i64> {
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
