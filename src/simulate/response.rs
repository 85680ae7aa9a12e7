//! OpenAI Chat Completions responses: the JSON body and the SSE chunks.

use bytes::Bytes;
use fastrand::Rng;
use serde_json::{Value, json};

use super::openai::tokens;

pub const FINGERPRINT: &str = "fp_seam_sim";

/// What one choice says.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Text(String),
    ToolCall {
        id: String,
        name: String,
        arguments: String,
    },
    /// A structured-output refusal: `message.refusal` set, `content` null.
    Refusal(String),
    /// Stopped by the content filter before any content.
    Filtered,
}

impl Output {
    /// Completion tokens: ceil(chars/4), at least 1; none for a filtered
    /// answer.
    pub fn tokens(&self) -> u64 {
        let t = match self {
            Output::Text(s) | Output::Refusal(s) => tokens(s),
            Output::ToolCall {
                name, arguments, ..
            } => tokens(name) + tokens(arguments),
            Output::Filtered => return 0,
        };
        t.max(1)
    }

    /// Cut the output to about `max` tokens; returns whether it was cut.
    /// Refusals are never cut.
    pub fn truncate(&mut self, max: u64) -> bool {
        let s = match self {
            Output::Text(s) => s,
            Output::ToolCall { arguments, .. } => arguments,
            Output::Refusal(_) | Output::Filtered => return false,
        };
        if tokens(s) <= max {
            return false;
        }
        *s = s
            .chars()
            .take(usize::try_from(max.saturating_mul(4)).unwrap_or(usize::MAX))
            .collect();
        true
    }
}

/// One choice and why it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Choice {
    pub output: Output,
    pub finish_reason: &'static str,
}

/// The identity shared by a response and all its chunks.
pub struct Meta<'a> {
    pub id: &'a str,
    pub created: u64,
    pub model: &'a str,
}

/// The `usage` object.
pub fn usage(prompt: u64, completion: u64) -> Value {
    json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
    })
}

fn message(output: &Output) -> Value {
    match output {
        Output::Text(s) => {
            json!({"role": "assistant", "content": s, "refusal": null, "annotations": []})
        }
        Output::ToolCall {
            id,
            name,
            arguments,
        } => json!({
            "role": "assistant", "content": null, "refusal": null, "annotations": [],
            "tool_calls": [{"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}]
        }),
        Output::Refusal(r) => {
            json!({"role": "assistant", "content": null, "refusal": r, "annotations": []})
        }
        Output::Filtered => {
            json!({"role": "assistant", "content": "", "refusal": null, "annotations": []})
        }
    }
}

/// The non-streaming `chat.completion` object.
pub fn completion(meta: &Meta<'_>, choices: &[Choice], usage: Value) -> Value {
    let choices: Vec<Value> = choices
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"index": i, "message": message(&c.output), "logprobs": null, "finish_reason": c.finish_reason}))
        .collect();
    json!({
        "id": meta.id,
        "object": "chat.completion",
        "created": meta.created,
        "model": meta.model,
        "system_fingerprint": FINGERPRINT,
        "service_tier": "default",
        "choices": choices,
        "usage": usage,
    })
}

fn chunk(meta: &Meta<'_>, choices: Value, usage: Option<Value>, with_usage: bool) -> Bytes {
    let mut c = json!({
        "id": meta.id,
        "object": "chat.completion.chunk",
        "created": meta.created,
        "model": meta.model,
        "system_fingerprint": FINGERPRINT,
        "service_tier": "default",
        "choices": choices,
    });
    if with_usage && let Value::Object(o) = &mut c {
        o.insert("usage".into(), usage.unwrap_or(Value::Null));
    }
    Bytes::from(format!("data: {c}\n\n"))
}

fn delta(index: usize, delta: Value, finish: Option<&str>) -> Value {
    json!([{"index": index, "delta": delta, "logprobs": null, "finish_reason": finish}])
}

/// Split into pieces of a few characters (3 to 8), on character boundaries.
fn pieces(s: &str, rng: &mut Rng) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::with_capacity(chars.len() / 5 + 1);
    let mut i = 0;
    while i < chars.len() {
        let n = rng.usize(3..=8).min(chars.len() - i);
        out.push(chars[i..i + n].iter().collect());
        i += n;
    }
    out
}

/// The SSE events of a streamed completion, `[DONE]` included.
pub fn sse_events(
    meta: &Meta<'_>,
    choices: &[Choice],
    usage: Option<Value>,
    rng: &mut Rng,
) -> Vec<Bytes> {
    let with_usage = usage.is_some();
    let mut events = Vec::new();
    for (i, c) in choices.iter().enumerate() {
        match &c.output {
            Output::Text(s) => {
                let first = json!({"role": "assistant", "content": "", "refusal": null});
                events.push(chunk(meta, delta(i, first, None), None, with_usage));
                for p in pieces(s, rng) {
                    events.push(chunk(
                        meta,
                        delta(i, json!({"content": p}), None),
                        None,
                        with_usage,
                    ));
                }
            }
            Output::Refusal(s) => {
                let first = json!({"role": "assistant", "content": null, "refusal": ""});
                events.push(chunk(meta, delta(i, first, None), None, with_usage));
                for p in pieces(s, rng) {
                    events.push(chunk(
                        meta,
                        delta(i, json!({"refusal": p}), None),
                        None,
                        with_usage,
                    ));
                }
            }
            Output::Filtered => {
                let first = json!({"role": "assistant", "content": "", "refusal": null});
                events.push(chunk(meta, delta(i, first, None), None, with_usage));
            }
            Output::ToolCall {
                id,
                name,
                arguments,
            } => {
                let first = json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [
                    {"index": 0, "id": id, "type": "function", "function": {"name": name, "arguments": ""}}]});
                events.push(chunk(meta, delta(i, first, None), None, with_usage));
                for p in pieces(arguments, rng) {
                    let d = json!({"tool_calls": [{"index": 0, "function": {"arguments": p}}]});
                    events.push(chunk(meta, delta(i, d, None), None, with_usage));
                }
            }
        }
        events.push(chunk(
            meta,
            delta(i, json!({}), Some(c.finish_reason)),
            None,
            with_usage,
        ));
    }
    if let Some(u) = usage {
        events.push(chunk(meta, json!([]), Some(u), true));
    }
    events.push(Bytes::from_static(b"data: [DONE]\n\n"));
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_events(events: &[Bytes]) -> Vec<Value> {
        let all: String = events
            .iter()
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .collect();
        assert!(all.ends_with("data: [DONE]\n\n"));
        all.split("\n\n")
            .filter(|e| !e.is_empty() && *e != "data: [DONE]")
            .map(|e| serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap())
            .collect()
    }

    #[test]
    fn stream_reassembles_to_the_content() {
        let meta = Meta {
            id: "chatcmpl-x",
            created: 1,
            model: "m",
        };
        let choices = [Choice {
            output: Output::Text("{\"a\": \"héllo wörld\"}".into()),
            finish_reason: "stop",
        }];
        let events = sse_events(&meta, &choices, Some(usage(5, 6)), &mut Rng::with_seed(1));
        let chunks = parse_events(&events);
        assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        assert_eq!(text, "{\"a\": \"héllo wörld\"}");
        let last = &chunks[chunks.len() - 1];
        assert_eq!(last["choices"], json!([]));
        assert_eq!(last["usage"]["total_tokens"], 11);
        assert_eq!(
            chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
            "stop"
        );
        assert!(
            chunks
                .iter()
                .all(|c| c["object"] == "chat.completion.chunk" && c["id"] == "chatcmpl-x")
        );
    }

    #[test]
    fn tool_call_stream_and_truncation() {
        let meta = Meta {
            id: "c",
            created: 1,
            model: "m",
        };
        let out = Output::ToolCall {
            id: "call_1".into(),
            name: "f".into(),
            arguments: "{\"x\":1}".into(),
        };
        let events = sse_events(
            &meta,
            &[Choice {
                output: out,
                finish_reason: "tool_calls",
            }],
            None,
            &mut Rng::with_seed(2),
        );
        let chunks = parse_events(&events);
        let args: String = chunks
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
            })
            .collect();
        assert_eq!(args, "{\"x\":1}");
        assert!(chunks.iter().all(|c| c.get("usage").is_none()));
        let mut t = Output::Text("a".repeat(100));
        assert_eq!(t.tokens(), 25);
        assert!(t.truncate(10));
        assert_eq!(t.tokens(), 10);
        assert_eq!(Output::Text(String::new()).tokens(), 1);
    }

    #[test]
    fn refusals_render_and_stream() {
        let meta = Meta {
            id: "c",
            created: 1,
            model: "m",
        };
        let refused = Choice {
            output: Output::Refusal("I'm sorry, I can't help with that.".into()),
            finish_reason: "stop",
        };
        let filtered = Choice {
            output: Output::Filtered,
            finish_reason: "content_filter",
        };
        let body = completion(&meta, &[refused.clone(), filtered.clone()], usage(3, 9));
        let m = &body["choices"][0]["message"];
        assert_eq!(m["content"], Value::Null);
        assert_eq!(m["refusal"], "I'm sorry, I can't help with that.");
        assert_eq!(body["choices"][1]["message"]["content"], "");
        assert_eq!(body["choices"][1]["finish_reason"], "content_filter");
        assert_eq!(Output::Filtered.tokens(), 0);
        let mut r = refused.output.clone();
        assert!(!r.truncate(1));

        let chunks = parse_events(&sse_events(&meta, &[refused], None, &mut Rng::with_seed(4)));
        let said: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["refusal"].as_str())
            .collect();
        assert_eq!(said, "I'm sorry, I can't help with that.");
        assert!(chunks.iter().all(|c| {
            c["choices"][0]["delta"]
                .get("content")
                .is_none_or(Value::is_null)
        }));
        assert_eq!(
            chunks[chunks.len() - 1]["choices"][0]["finish_reason"],
            "stop"
        );
        let chunks = parse_events(&sse_events(
            &meta,
            &[filtered],
            None,
            &mut Rng::with_seed(4),
        ));
        assert_eq!(chunks.len(), 2);
        assert_eq!(chunks[1]["choices"][0]["finish_reason"], "content_filter");
    }
}
