//! The `--faults` spec: parsing, documentation and the per-request decision.

use std::time::Duration;

/// Documentation of the `--faults` spec, shown by `seam simulate --help`.
pub const FAULTS_HELP: &str = "\
Fault injection (--faults SPEC). Faults apply to the chat routes:
POST /v1/chat/completions (OpenAI), its Azure OpenAI twin
POST /openai/deployments/DEPLOYMENT/chat/completions?api-version=V,
POST /v1/messages (Anthropic) and
POST /v1beta/models/MODEL:generateContent|streamGenerateContent (Gemini).
Each route answers an error fault in its own wire format (Anthropic's 503 is
its 529 overloaded_error; Gemini's 429 carries a RetryInfo detail).

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
  stall=RATE[:DUR]       a streamed answer sends its first chunks, then goes
                         silent for DUR (default 60s) without closing, then
                         the connection is dropped mid-stream; a request that
                         does not stream is held like `timeout`
  pace=RATE:DUR          wait DUR (or a range, 5ms..20ms, sampled once per
                         request) between the chunks of a streamed answer.
                         Stacks with every other fault, like latency.
  malformed=RATE         HTTP 200, but the JSON content is broken (truncated,
                         trailing comma or missing closing bracket)
  violate=RATE           HTTP 200, valid JSON that violates the requested schema
                         (a required property dropped, a wrong type, or a value
                         outside an enum)
  fabricate=RATE         HTTP 200, valid JSON whose quote/evidence/citation
                         strings are invented instead of copied from the prompt
  waver=RATE             HTTP 200, valid JSON with its decisive values changed
                         to other valid ones (every enum value moved, numbers
                         nudged 10-50 %, booleans flipped, an array's last
                         item dropped; free text kept), as a model that makes
                         a value up differs from one sample to the next
  fenced=RATE            HTTP 200, content wrapped in ```json ... ``` fences
  refuse=RATE            a content-filter refusal in the protocol's own shape:
                         OpenAI answers 200 with `message.refusal` set and null
                         content under a json_schema response format, else
                         finish_reason content_filter with empty content;
                         the Azure route answers 400 code content_filter
                         (innererror ResponsibleAIPolicyViolation);
                         Anthropic answers 200 with stop_reason refusal and no
                         content; Gemini answers 200 with finishReason SAFETY,
                         no parts and a HIGH safety rating. Streams end the
                         same way.

Content faults (malformed, violate, fabricate, waver, fenced) change JSON outputs
(json_schema, json_object and tool-call arguments); plain-text answers are
returned unchanged. Where a tool call's input is a JSON object on the wire
(Anthropic tool_use.input, Gemini functionCall.args) only violate,
fabricate and waver apply to it, except in an Anthropic stream, where malformed and
fenced break the streamed partial_json.

At most one fault other than latency and pace hits a request. They are checked
in the order reset, timeout, stall, 429, 503, 500, malformed, violate,
fabricate, waver, fenced, refuse;
probability rates take disjoint slices of one roll, so they add up (keep their
sum at or below 100%). Rolls are seeded from --seed and the request counter.

Examples:
  seam simulate --faults '429=10%:2,503=5%,reset=2%,latency=1.0:20ms..80ms'
  seam simulate --faults '503=#2'          # every conversation: two 503s, then success
  seam simulate --faults 'violate=#1,fenced=20%'
  seam simulate --faults 'timeout=1%:30s,malformed=0.05'
  seam simulate --faults 'stall=#1:30s,pace=1.0:20ms'  # first stream stalls

Faults can be changed while the simulator runs: POST /sim/faults with a SPEC
as the body replaces them (an empty body heals; #N counts start again), and
GET /sim/faults shows the spec in force:
  curl -d '503=100%' http://127.0.0.1:8787/sim/faults   # the provider is down
  curl -d '' http://127.0.0.1:8787/sim/faults           # ... and back

GET /sim/stats counts chat requests per protocol, 429s from --limit
(rate_limited), and streams open, completed and cancelled (the client left
before the last chunk).
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
    /// Stream the first chunks, go silent this long, then drop the
    /// connection; a non-streaming request is held like `Timeout`.
    Stall(Duration),
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
    /// Decisive values changed to other valid ones.
    Waver,
    /// Content wrapped in markdown fences.
    Fenced,
    /// A content-filter refusal instead of an answer.
    Refuse,
}

impl Fault {
    /// Position in the fixed check order.
    fn order(self) -> u8 {
        match self {
            Fault::Reset => 0,
            Fault::Timeout(_) => 1,
            Fault::Stall(_) => 2,
            Fault::RateLimited(_) => 3,
            Fault::Unavailable(_) => 4,
            Fault::ServerError => 5,
            Fault::Malformed => 6,
            Fault::Violate => 7,
            Fault::Fabricate => 8,
            Fault::Waver => 9,
            Fault::Fenced => 10,
            Fault::Refuse => 11,
        }
    }
}

/// Added latency (before answering, or between stream chunks): a rate and a
/// uniform range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub rate: Rate,
    pub min: Duration,
    pub max: Duration,
}

impl Latency {
    /// The delay for one request: zero unless the rate hits.
    fn sample(&self, rng: &mut fastrand::Rng, conv_index: u32) -> Duration {
        let hit = match self.rate {
            Rate::FirstN(n) => conv_index < n,
            Rate::Probability(p) => rng.f64() < p,
        };
        if !hit {
            return Duration::ZERO;
        }
        let span = self.max.saturating_sub(self.min).as_nanos();
        let extra = if span == 0 {
            0
        } else {
            rng.u64(0..=u64::try_from(span).unwrap_or(u64::MAX))
        };
        self.min + Duration::from_nanos(extra)
    }
}

/// A parsed `--faults` spec.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    pub(crate) latency: Option<Latency>,
    /// Delay between the chunks of a streamed answer.
    pub(crate) pace: Option<Latency>,
    /// Error faults in check order.
    pub(crate) faults: Vec<(Fault, Rate)>,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    pub latency: Duration,
    /// Delay between stream chunks.
    pub pace: Duration,
    pub fault: Option<Fault>,
}

impl FaultSpec {
    /// No faults at all.
    pub fn is_empty(&self) -> bool {
        self.latency.is_none() && self.pace.is_none() && self.faults.is_empty()
    }

    /// Whether any rule counts requests per conversation.
    pub(crate) fn uses_conversations(&self) -> bool {
        let latency = self.latency.iter().chain(&self.pace).map(|l| l.rate);
        let faults = self.faults.iter().map(|(_, r)| *r);
        latency.chain(faults).any(|r| matches!(r, Rate::FirstN(_)))
    }

    /// Decide the faults of one request; `conv_index` is the 0-based index of
    /// this request within its conversation.
    pub(crate) fn decide(&self, rng: &mut fastrand::Rng, conv_index: u32) -> Decision {
        let mut decision = Decision::default();
        if let Some(lat) = &self.latency {
            decision.latency = lat.sample(rng, conv_index);
        }
        if let Some(pace) = &self.pace {
            decision.pace = pace.sample(rng, conv_index);
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
            "latency" | "pace" => {
                let p = param.ok_or_else(|| {
                    fail(format!(
                        "{kind} needs a duration, e.g. {kind}=1.0:50ms or 20ms..80ms"
                    ))
                })?;
                let (min, max) = parse_range(p).map_err(&fail)?;
                let lat = Some(Latency { rate, min, max });
                if kind == "latency" {
                    out.latency = lat;
                } else {
                    out.pace = lat;
                }
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
            "stall" => Fault::Stall(match param {
                Some(p) => parse_duration(p).map_err(&fail)?,
                None => Duration::from_secs(60),
            }),
            "malformed" => no_param(Fault::Malformed)?,
            "violate" => no_param(Fault::Violate)?,
            "fabricate" => no_param(Fault::Fabricate)?,
            "waver" => no_param(Fault::Waver)?,
            "fenced" => no_param(Fault::Fenced)?,
            "refuse" => no_param(Fault::Refuse)?,
            other => {
                return Err(fail(format!(
                    "unknown fault kind `{other}` (expected latency, pace, 429, 500, 503, \
                     reset, timeout, stall, malformed, violate, fabricate, waver, fenced or refuse)"
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
