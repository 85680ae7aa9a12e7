//! Integers and numbers within JSON Schema bounds.

use fastrand::Rng;
use serde_json::{Map, Number, Value};

/// An integer within the bounds and `multipleOf`, in a range typical of the field name.
pub fn integer(rng: &mut Rng, map: &Map<String, Value>, name: Option<&str>) -> Value {
    let b = Bounds::of(map);
    let (dlo, dhi) = default_range(name, true);
    let lo = match b.lo {
        Some(l) if b.lo_ex => l.floor() as i64 + 1,
        Some(l) => l.ceil() as i64,
        None => match b.hi {
            Some(h) if h < dlo => (h - (dhi - dlo)).floor() as i64,
            _ => dlo as i64,
        },
    };
    let hi = match b.hi {
        Some(h) if b.hi_ex => h.ceil() as i64 - 1,
        Some(h) => h.floor() as i64,
        None if lo as f64 > dhi => lo.saturating_add((dhi - dlo) as i64),
        None => dhi as i64,
    };
    let step = map
        .get("multipleOf")
        .and_then(Value::as_f64)
        .filter(|m| *m > 0.0)
        .map_or(1, integer_step);
    let (kmin, kmax) = (
        lo.div_euclid(step) + i64::from(lo.rem_euclid(step) != 0),
        hi.div_euclid(step),
    );
    if kmin > kmax {
        return Value::from(lo);
    }
    Value::from(rng.i64(kmin..=kmax).saturating_mul(step))
}

/// A number within the bounds and `multipleOf`, in a range typical of the field name.
pub fn number(rng: &mut Rng, map: &Map<String, Value>, name: Option<&str>) -> Value {
    let b = Bounds::of(map);
    let (dlo, dhi) = default_range(name, false);
    let lo = b.lo.unwrap_or(match b.hi {
        Some(h) if h < dlo => h - (dhi - dlo),
        _ => dlo,
    });
    let hi =
        b.hi.unwrap_or(if lo > dhi { lo + (dhi - dlo) } else { dhi });
    let v = match map
        .get("multipleOf")
        .and_then(Value::as_f64)
        .filter(|m| *m > 0.0)
    {
        Some(m) => {
            let mut kmin = (lo / m).ceil();
            if b.lo_ex && kmin * m <= lo {
                kmin += 1.0;
            }
            let mut kmax = (hi / m).floor();
            if b.hi_ex && kmax * m >= hi {
                kmax -= 1.0;
            }
            if kmin > kmax {
                lo
            } else {
                let k = rng.i64(kmin as i64..=kmax as i64) as f64;
                round_to(k * m, decimals(m))
            }
        }
        None => {
            let v = round_to(lo + rng.f64() * (hi - lo), 2);
            let bad = v < lo || v > hi || (b.lo_ex && v <= lo) || (b.hi_ex && v >= hi);
            if bad { (lo + hi) / 2.0 } else { v }
        }
    };
    Number::from_f64(v).map_or(Value::from(0), Value::Number)
}

/// Numeric bounds, with draft-4 boolean exclusivity folded in.
struct Bounds {
    lo: Option<f64>,
    lo_ex: bool,
    hi: Option<f64>,
    hi_ex: bool,
}

impl Bounds {
    fn of(map: &Map<String, Value>) -> Bounds {
        let (lo, lo_ex) = bound(map, "minimum", "exclusiveMinimum", |a, b| a >= b);
        let (hi, hi_ex) = bound(map, "maximum", "exclusiveMaximum", |a, b| a <= b);
        Bounds {
            lo,
            lo_ex,
            hi,
            hi_ex,
        }
    }
}

fn bound(
    map: &Map<String, Value>,
    inc: &str,
    exc: &str,
    tighter: fn(f64, f64) -> bool,
) -> (Option<f64>, bool) {
    let inclusive = map.get(inc).and_then(Value::as_f64);
    match map.get(exc) {
        Some(Value::Number(n)) => match (n.as_f64(), inclusive) {
            (Some(e), Some(i)) if !tighter(e, i) => (Some(i), false),
            (Some(e), _) => (Some(e), true),
            (None, i) => (i, false),
        },
        Some(Value::Bool(true)) => (inclusive, inclusive.is_some()),
        _ => (inclusive, false),
    }
}

fn default_range(name: Option<&str>, integer: bool) -> (f64, f64) {
    let n = name.unwrap_or("").to_ascii_lowercase();
    let has = |keys: &[&str]| keys.iter().any(|k| n.contains(k));
    if has(&["confidence", "probability", "likelihood", "score", "ratio"]) {
        if integer { (0.0, 100.0) } else { (0.0, 1.0) }
    } else if has(&["rating", "stars", "priority", "severity", "level", "rank"]) {
        (1.0, 5.0)
    } else if has(&["age"]) && !has(&["page", "usage", "message"]) {
        (18.0, 80.0)
    } else if has(&["year"]) {
        (2020.0, 2025.0)
    } else if has(&["count", "quantity", "qty", "number_of", "num_"]) {
        (1.0, 10.0)
    } else if has(&[
        "price", "amount", "total", "cost", "balance", "salary", "fee",
    ]) {
        (5.0, 500.0)
    } else {
        (0.0, 100.0)
    }
}

/// The smallest positive integer that is a multiple of `m`.
fn integer_step(m: f64) -> i64 {
    (1..=1000)
        .find(|k| {
            let q = *k as f64 / m;
            (q - q.round()).abs() < 1e-9
        })
        .unwrap_or(1)
        .max(1)
}

fn decimals(m: f64) -> i32 {
    let s = format!("{m}");
    if s.contains('e') {
        return 12;
    }
    s.split_once('.').map_or(0, |(_, f)| f.len() as i32)
}

fn round_to(v: f64, decimals: i32) -> f64 {
    let p = 10f64.powi(decimals.clamp(0, 12));
    (v * p).round() / p
}
