//! The `--faults` spec: parsing, documentation and the per-request decision.

use std::time::Duration;

/// Documentation of the `--faults` spec, shown by `seam simulate --help`.
pub const FAULTS_HELP: &str = "\
Fault injection (--faults SPEC). Faults apply only to POST /v1/chat/completions.

SPEC is a comma-separated list of KIND=RATE[:PARAM] items.

RATE is one of:
  0.3      a probability between 0 and 1
  30%      a percentage between 0% and 100%
  #N       the first N requests of each distinct conversation (a conversation
           is the model plus the first user message), which keeps tests
           deterministic under retries and concurrency

KIND and PARAM:
  latency=RATE:DUR       add DUR before answering; DUR is a duration (50ms, 1s)
                         or a range (20ms..80ms) sampled uniformly. Stacks with
                         every other fault.
  429=RATE[:SECS]        HTTP 429 with `retry-after: SECS` (default 1) and an
                         OpenAI error body with code rate_limit_exceeded
  500=RATE               HTTP 500 server_error
  503=RATE[:SECS]        HTTP 503 overloaded, with retry-after when SECS is given
  reset=RATE             the TCP connection is closed (RST) with no HTTP response
  timeout=RATE[:DUR]     hold the request for DUR (default 60s) without
                         answering, then close the connection
  malformed=RATE         HTTP 200, but the JSON content is broken (truncated,
                         trailing comma or missing closing bracket)
  violate=RATE           HTTP 200, valid JSON that violates the requested schema
                         (a required property dropped, a wrong type, or a value
                         outside an enum)
  fabricate=RATE         HTTP 200, valid JSON whose quote/evidence/citation
                         strings are invented instead of copied from the prompt
  fenced=RATE            HTTP 200, content wrapped in ```json ... ``` fences

Content faults (malformed, violate, fabricate, fenced) change JSON outputs
(json_schema, json_object and tool-call arguments); plain-text answers are
returned unchanged.

At most one fault other than latency hits a request. They are checked in the
order reset, timeout, 429, 503, 500, malformed, violate, fabricate, fenced;
probability rates take disjoint slices of one roll, so they add up (keep their
sum at or below 100%). Rolls are seeded from --seed and the request counter.

Examples:
  seam simulate --faults '429=10%:2,503=5%,reset=2%,latency=1.0:20ms..80ms'
  seam simulate --faults '503=#2'          # every conversation: two 503s, then success
  seam simulate --faults 'violate=#1,fenced=20%'
  seam simulate --faults 'timeout=1%:30s,malformed=0.05'
";

/// How often a fault fires.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    /// Each request independently, with this probability.
    Probability(f64),
    /// The first N requests of each distinct conversation.
    FirstN(u32),
}

/// A fault that replaces or alters the normal answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection with RST and no response.
    Reset,
    /// Hold the request this long, then close the connection.
    Timeout(Duration),
    /// HTTP 429 with this Retry-After (seconds).
    RateLimited(u64),
    /// HTTP 503, with an optional Retry-After (seconds).
    Unavailable(Option<u64>),
    /// HTTP 500.
    ServerError,
    /// Broken JSON content.
    Malformed,
    /// Valid JSON that violates the schema.
    Violate,
    /// Quotes that do not appear in the prompt.
    Fabricate,
    /// Content wrapped in markdown fences.
    Fenced,
}

impl Fault {
    /// Position in the fixed check order.
    fn order(self) -> u8 {
        match self {
            Fault::Reset => 0,
            Fault::Timeout(_) => 1,
            Fault::RateLimited(_) => 2,
            Fault::Unavailable(_) => 3,
            Fault::ServerError => 4,
            Fault::Malformed => 5,
            Fault::Violate => 6,
            Fault::Fabricate => 7,
            Fault::Fenced => 8,
        }
    }
}

/// Added latency: a rate and a uniform range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub rate: Rate,
    pub min: Duration,
    pub max: Duration,
}

/// A parsed `--faults` spec.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    pub(crate) latency: Option<Latency>,
    /// Error faults in check order.
    pub(crate) faults: Vec<(Fault, Rate)>,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    pub latency: Duration,
    pub fault: Option<Fault>,
}

impl FaultSpec {
    /// No faults at all.
    pub fn is_empty(&self) -> bool {
        self.latency.is_none() && self.faults.is_empty()
    }

    /// Whether any rule counts requests per conversation.
    pub(crate) fn uses_conversations(&self) -> bool {
        let latency = self.latency.iter().map(|l| l.rate);
        let faults = self.faults.iter().map(|(_, r)| *r);
        latency.chain(faults).any(|r| matches!(r, Rate::FirstN(_)))
    }

    /// Decide the faults of one request; `conv_index` is the 0-based index of
    /// this request within its conversation.
    pub(crate) fn decide(&self, rng: &mut fastrand::Rng, conv_index: u32) -> Decision {
        let mut decision = Decision::default();
        if let Some(lat) = &self.latency {
            let hit = match lat.rate {
                Rate::FirstN(n) => conv_index < n,
                Rate::Probability(p) => rng.f64() < p,
            };
            if hit {
                let span = lat.max.saturating_sub(lat.min).as_nanos();
                let extra = if span == 0 {
                    0
                } else {
                    rng.u64(0..=u64::try_from(span).unwrap_or(u64::MAX))
                };
                decision.latency = lat.min + Duration::from_nanos(extra);
            }
        }
        let roll = rng.f64();
        let mut cumulative = 0.0;
        for (fault, rate) in &self.faults {
            let hit = match rate {
                Rate::FirstN(n) => conv_index < *n,
                Rate::Probability(p) => {
                    cumulative += p;
                    roll < cumulative
                }
            };
            if hit {
                decision.fault = Some(*fault);
                break;
            }
        }
        decision
    }
}

/// Parse a `--faults` spec; the error names the offending item and why.
pub fn parse_faults(spec: &str) -> Result<FaultSpec, String> {
    let mut out = FaultSpec::default();
    let mut seen: Vec<String> = Vec::new();
    for (i, raw) in spec.split(',').enumerate() {
        let item = raw.trim();
        if item.is_empty() {
            if spec.trim().is_empty() {
                continue;
            }
            return Err(format!("fault item {} is empty (stray comma?)", i + 1));
        }
        let fail = |why: String| format!("fault item {} `{item}`: {why}", i + 1);
        let (kind, rest) = item
            .split_once('=')
            .ok_or_else(|| fail("expected KIND=RATE[:PARAM]".to_string()))?;
        let kind = kind.trim().to_ascii_lowercase();
        let (rate, param) = match rest.split_once(':') {
            Some((r, p)) => (r.trim(), Some(p.trim())),
            None => (rest.trim(), None),
        };
        if seen.contains(&kind) {
            return Err(fail(format!("fault `{kind}` is given twice")));
        }
        let rate = parse_rate(rate).map_err(&fail)?;
        let no_param = |f: Fault| match param {
            None => Ok(f),
            Some(p) => Err(fail(format!("`{kind}` takes no parameter, got `{p}`"))),
        };
        let fault = match kind.as_str() {
            "latency" => {
                let p = param.ok_or_else(|| {
                    fail("latency needs a duration, e.g. latency=1.0:50ms or 20ms..80ms".into())
                })?;
                let (min, max) = parse_range(p).map_err(&fail)?;
                out.latency = Some(Latency { rate, min, max });
                seen.push(kind);
                continue;
            }
            "429" => Fault::RateLimited(match param {
                Some(p) => parse_secs(p).map_err(&fail)?,
                None => 1,
            }),
            "503" => Fault::Unavailable(match param {
                Some(p) => Some(parse_secs(p).map_err(&fail)?),
                None => None,
            }),
            "500" => no_param(Fault::ServerError)?,
            "reset" => no_param(Fault::Reset)?,
            "timeout" => Fault::Timeout(match param {
                Some(p) => parse_duration(p).map_err(&fail)?,
                None => Duration::from_secs(60),
            }),
            "malformed" => no_param(Fault::Malformed)?,
            "violate" => no_param(Fault::Violate)?,
            "fabricate" => no_param(Fault::Fabricate)?,
            "fenced" => no_param(Fault::Fenced)?,
            other => {
                return Err(fail(format!(
                    "unknown fault kind `{other}` (expected latency, 429, 500, 503, reset, \
                     timeout, malformed, violate, fabricate or fenced)"
                )));
            }
        };
        seen.push(kind);
        out.faults.push((fault, rate));
    }
    out.faults.sort_by_key(|(f, _)| f.order());
    let total: f64 = out
        .faults
        .iter()
        .filter_map(|(_, r)| match r {
            Rate::Probability(p) => Some(*p),
            Rate::FirstN(_) => None,
        })
        .sum();
    if total > 1.0 + 1e-9 {
        return Err(format!(
            "fault rates add up to {:.1}%, more than 100% (at most one fault hits a request)",
            total * 100.0
        ));
    }
    Ok(out)
}

fn parse_rate(s: &str) -> Result<Rate, String> {
    if let Some(n) = s.strip_prefix('#') {
        return n
            .trim()
            .parse::<u32>()
            .map(Rate::FirstN)
            .map_err(|_| format!("rate `{s}`: expected #N with N a whole number"));
    }
    let (num, scale) = match s.strip_suffix('%') {
        Some(p) => (p.trim(), 100.0),
        None => (s, 1.0),
    };
    let v: f64 = num.parse().map_err(|_| {
        format!("rate `{s}`: expected a probability (0.3), a percentage (30%) or #N")
    })?;
    let p = v / scale;
    if !p.is_finite() || !(0.0..=1.0).contains(&p) {
        return Err(format!("rate `{s}` is outside 0..1 (0%..100%)"));
    }
    Ok(Rate::Probability(p))
}

fn parse_secs(s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .map_err(|_| format!("`{s}`: expected Retry-After as whole seconds, e.g. 2"))
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    if s.is_empty() || s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{s}`: expected a duration with a unit, e.g. 50ms or 2s"
        ));
    }
    humantime::parse_duration(s).map_err(|e| format!("`{s}`: not a duration ({e})"))
}

fn parse_range(s: &str) -> Result<(Duration, Duration), String> {
    match s.split_once("..") {
        Some((a, b)) => {
            let (lo, hi) = (parse_duration(a.trim())?, parse_duration(b.trim())?);
            if lo > hi {
                return Err(format!("range `{s}` ends before it starts"));
            }
            Ok((lo, hi))
        }
        None => {
            let d = parse_duration(s)?;
            Ok((d, d))
        }
    }
}

#[cfg(test)]
#[path = "faults_tests.rs"]
mod tests;
