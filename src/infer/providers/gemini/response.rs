//! Reading a GenerateContentResponse, whole or as one streamed chunk.

use serde::Deserialize;
use serde_json::Value;

use crate::infer::{ChatResponse, ProviderError, StreamEvent, ToolCall, Usage, finish};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireResponse {
    #[serde(default)]
    candidates: Vec<WireCandidate>,
    prompt_feedback: Option<WireFeedback>,
    usage_metadata: Option<WireUsage>,
    response_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCandidate {
    content: Option<WireContent>,
    finish_reason: Option<String>,
    finish_message: Option<String>,
}

#[derive(Deserialize)]
struct WireContent {
    #[serde(default)]
    parts: Vec<WirePart>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePart {
    text: Option<String>,
    #[serde(default)]
    thought: bool,
    function_call: Option<WireFunctionCall>,
}

#[derive(Deserialize)]
struct WireFunctionCall {
    name: String,
    #[serde(default)]
    args: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireFeedback {
    block_reason: Option<String>,
    block_reason_message: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WireUsage {
    #[serde(default)]
    prompt_token_count: u64,
    #[serde(default)]
    candidates_token_count: u64,
    #[serde(default)]
    thoughts_token_count: u64,
    #[serde(default)]
    cached_content_token_count: u64,
}

impl WireUsage {
    fn usage(&self) -> Usage {
        Usage {
            // promptTokenCount already includes the cached tokens.
            input_tokens: self.prompt_token_count,
            output_tokens: self.candidates_token_count + self.thoughts_token_count,
            cache_read_tokens: self.cached_content_token_count,
            cache_write_tokens: 0,
        }
    }
}

/// Finish reasons that mean the safety system withheld the answer.
const BLOCKED: [&str; 7] = [
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "IMAGE_SAFETY",
    "IMAGE_PROHIBITED_CONTENT",
];

/// What one response (or chunk) holds, before it becomes a response or
/// stream events.
struct Parts {
    text: String,
    calls: Vec<(String, String)>,
    finish: Option<String>,
    usage: Option<Usage>,
    id: Option<String>,
}

/// Reads the first candidate; a blocked prompt or answer is an error.
fn parts_of(wire: WireResponse) -> Result<Parts, ProviderError> {
    if let Some(reason) = wire
        .prompt_feedback
        .as_ref()
        .and_then(|f| f.block_reason.as_deref())
    {
        let detail = wire
            .prompt_feedback
            .as_ref()
            .and_then(|f| f.block_reason_message.clone())
            .unwrap_or_default();
        return Err(ProviderError::ContentFilter {
            message: format!("the prompt was blocked (blockReason: {reason}) {detail}")
                .trim_end()
                .to_string(),
        });
    }
    let mut parts = Parts {
        text: String::new(),
        calls: Vec::new(),
        finish: None,
        usage: wire.usage_metadata.map(|u| u.usage()),
        id: wire.response_id,
    };
    let Some(candidate) = wire.candidates.into_iter().next() else {
        return Ok(parts);
    };
    if let Some(reason) = candidate.finish_reason.as_deref()
        && BLOCKED.contains(&reason)
    {
        let detail = candidate.finish_message.unwrap_or_default();
        return Err(ProviderError::ContentFilter {
            message: format!("the answer was withheld (finishReason: {reason}) {detail}")
                .trim_end()
                .to_string(),
        });
    }
    for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
        if part.thought {
            continue;
        }
        if let Some(t) = part.text {
            parts.text.push_str(&t);
        }
        if let Some(call) = part.function_call {
            let args = call
                .args
                .unwrap_or_else(|| Value::Object(Default::default()));
            parts.calls.push((call.name, args.to_string()));
        }
    }
    parts.finish = candidate.finish_reason;
    Ok(parts)
}

/// The neutral finish reason: STOP with calls to the request's own
/// functions is `tool_calls` (a forced answer alone is `stop`).
fn finish_reason(reason: &str, calls: bool) -> String {
    match reason {
        "STOP" if calls => finish::TOOL_CALLS,
        "STOP" => finish::STOP,
        "MAX_TOKENS" => finish::LENGTH,
        other => other,
    }
    .to_string()
}

/// The response; under a forced function (`forced` names it) its
/// arguments become the content.
pub fn response_of(
    wire: WireResponse,
    forced: Option<&str>,
) -> Result<ChatResponse, ProviderError> {
    let parts = parts_of(wire)?;
    let mut content = parts.text;
    let mut answered = false;
    let mut tool_calls = Vec::new();
    for (name, args) in parts.calls {
        if !answered && forced == Some(name.as_str()) {
            content = args;
            answered = true;
        } else {
            let id = format!("call_{}", tool_calls.len());
            tool_calls.push(ToolCall {
                id,
                name,
                arguments: args,
            });
        }
    }
    Ok(ChatResponse {
        finish_reason: parts
            .finish
            .map(|r| finish_reason(&r, !tool_calls.is_empty())),
        content,
        tool_calls,
        usage: parts.usage.unwrap_or_default(),
        response_id: parts.id,
    })
}

/// Streaming state: Gemini sends each function call whole, so calls are
/// numbered across chunks.
pub struct ChunkState {
    forced: Option<String>,
    calls: usize,
    answered: bool,
    id_sent: bool,
}

impl ChunkState {
    pub fn new(forced: Option<String>) -> Self {
        ChunkState {
            forced,
            calls: 0,
            answered: false,
            id_sent: false,
        }
    }

    /// The stream events of one chunk.
    pub fn events(&mut self, chunk: WireResponse) -> Vec<Result<StreamEvent, ProviderError>> {
        let parts = match parts_of(chunk) {
            Ok(p) => p,
            Err(e) => return vec![Err(e)],
        };
        let mut out = Vec::new();
        if let Some(id) = parts.id
            && !self.id_sent
        {
            self.id_sent = true;
            out.push(StreamEvent::Id(id));
        }
        // Under a forced function the answer is its arguments alone, as in
        // a complete response.
        if !parts.text.is_empty() && self.forced.is_none() {
            out.push(StreamEvent::Text(parts.text));
        }
        for (name, args) in parts.calls {
            if !self.answered && self.forced.as_deref() == Some(name.as_str()) {
                self.answered = true;
                out.push(StreamEvent::Text(args));
            } else {
                let n = self.calls;
                self.calls += 1;
                out.push(StreamEvent::ToolCall {
                    index: n,
                    id: Some(format!("call_{n}")),
                    name: Some(name),
                    arguments: args,
                });
            }
        }
        if let Some(u) = parts.usage {
            out.push(StreamEvent::Usage(u));
        }
        if let Some(reason) = parts.finish {
            out.push(StreamEvent::Finish(finish_reason(&reason, self.calls > 0)));
        }
        out.into_iter().map(Ok).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::stream::{Collector, SseParser};
    use serde_json::json;

    fn read(v: Value, forced: Option<&str>) -> Result<ChatResponse, ProviderError> {
        response_of(serde_json::from_value(v).unwrap(), forced)
    }

    #[test]
    fn text_parts_concatenate_skipping_thoughts_with_usage() {
        let r = read(
            json!({
                "candidates": [{"content": {"role": "model", "parts": [
                    {"text": "Let me think", "thought": true},
                    {"text": "{\"category\": "}, {"text": "\"billing\"}"}]},
                    "finishReason": "STOP", "index": 0,
                    "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}]}],
                "usageMetadata": {"promptTokenCount": 1200, "candidatesTokenCount": 12, "totalTokenCount": 1312,
                    "cachedContentTokenCount": 1024, "thoughtsTokenCount": 100,
                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1200}]},
                "modelVersion": "gemini-2.5-flash",
                "responseId": "mAitaLmkHPPlz7IPvtfUqQ4"
            }),
            None,
        )
        .unwrap();
        assert_eq!(r.content, r#"{"category": "billing"}"#);
        assert_eq!(r.finish_reason.as_deref(), Some("stop"));
        assert_eq!(r.response_id.as_deref(), Some("mAitaLmkHPPlz7IPvtfUqQ4"));
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 1200,
                output_tokens: 112,
                cache_read_tokens: 1024,
                cache_write_tokens: 0
            }
        );
    }

    #[test]
    fn function_calls_get_ids_and_the_forced_one_is_the_answer() {
        let wire = json!({
            "candidates": [{"content": {"role": "model", "parts": [
                {"functionCall": {"name": "get_order", "args": {"id": "A1"}}},
                {"functionCall": {"name": "now"}}]},
                "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5}
        });
        let r = read(wire.clone(), None).unwrap();
        assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            r.tool_calls,
            vec![
                ToolCall {
                    id: "call_0".into(),
                    name: "get_order".into(),
                    arguments: r#"{"id":"A1"}"#.into()
                },
                ToolCall {
                    id: "call_1".into(),
                    name: "now".into(),
                    arguments: "{}".into()
                },
            ]
        );
        let r = read(wire, Some("get_order")).unwrap();
        assert_eq!(r.content, r#"{"id":"A1"}"#);
        assert_eq!(
            (r.tool_calls.len(), r.tool_calls[0].id.as_str()),
            (1, "call_0")
        );
        assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
        let only = json!({"candidates": [{"content": {"parts": [
            {"functionCall": {"name": "triage", "args": {"a": "b"}}}]}, "finishReason": "STOP"}]});
        let r = read(only, Some("triage")).unwrap();
        assert_eq!(
            (r.content.as_str(), r.finish_reason.as_deref()),
            (r#"{"a":"b"}"#, Some("stop"))
        );
    }

    #[test]
    fn finish_reasons_and_safety_blocks() {
        let r = read(
            json!({"candidates": [{"content": {"parts": [{"text": "cut"}]}, "finishReason": "MAX_TOKENS"}]}),
            None,
        )
        .unwrap();
        assert_eq!(r.finish_reason.as_deref(), Some("length"));
        let r = read(
            json!({"candidates": [{"finishReason": "MALFORMED_FUNCTION_CALL"}]}),
            None,
        )
        .unwrap();
        assert_eq!(r.finish_reason.as_deref(), Some("MALFORMED_FUNCTION_CALL"));
        for reason in [
            "SAFETY",
            "RECITATION",
            "BLOCKLIST",
            "PROHIBITED_CONTENT",
            "SPII",
        ] {
            let e = read(json!({"candidates": [{"finishReason": reason, "index": 0,
                "safetyRatings": [{"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true}]}]}), None)
            .unwrap_err();
            assert!(matches!(e, ProviderError::ContentFilter { .. }), "{reason}");
            assert!(e.to_string().contains(reason));
        }
        let e = read(
            json!({"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
                   "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}}),
            None,
        )
        .unwrap_err();
        assert_eq!(e.type_name(), "content_filtered");
        assert!(e.to_string().contains("blockReason: SAFETY"));
    }

    /// Recorded `streamGenerateContent?alt=sse` output.
    const STREAM: &str = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"The\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"totalTokenCount\": 9},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"yjCtaOqzOdqKz7IP0dGVkAM\"}\r\n\r\ndata: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" sky is blue.\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 5,\"totalTokenCount\": 14},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"yjCtaOqzOdqKz7IP0dGVkAM\"}\r\n\r\ndata: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"lookup\",\"args\": {\"q\": \"sky\"}}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": 11,\"totalTokenCount\": 31,\"thoughtsTokenCount\": 11},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"yjCtaOqzOdqKz7IP0dGVkAM\"}\r\n\r\n";

    fn run(text: &str, forced: Option<&str>) -> Vec<Result<StreamEvent, ProviderError>> {
        let mut state = ChunkState::new(forced.map(str::to_string));
        SseParser::default()
            .push(text.as_bytes())
            .into_iter()
            .flat_map(|ev| state.events(serde_json::from_str(&ev.data).unwrap()))
            .collect()
    }

    #[test]
    fn chunks_map_to_stream_events() {
        let events: Vec<StreamEvent> = run(STREAM, None).into_iter().map(Result::unwrap).collect();
        assert_eq!(events[0], StreamEvent::Id("yjCtaOqzOdqKz7IP0dGVkAM".into()));
        assert_eq!(events[1], StreamEvent::Text("The".into()));
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, StreamEvent::Id(_)))
                .count(),
            1
        );
        let mut c = Collector::default();
        events.iter().for_each(|e| c.push(e));
        let r = c.finish();
        assert_eq!(r.content, "The sky is blue.");
        assert_eq!(r.tool_calls[0].id, "call_0");
        assert_eq!(r.tool_calls[0].arguments, r#"{"q":"sky"}"#);
        assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (9, 22));
    }

    #[test]
    fn a_forced_call_streams_as_text_and_a_block_is_an_error() {
        let text = STREAM.replace("The", "").replace(" sky is blue.", "");
        let mut c = Collector::default();
        for e in run(&text, Some("lookup")) {
            c.push(&e.unwrap());
        }
        let r = c.finish();
        assert_eq!(r.content, r#"{"q":"sky"}"#);
        assert!(r.tool_calls.is_empty());
        assert_eq!(r.finish_reason.as_deref(), Some("stop"));

        let blocked = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"\"}]}, \"finishReason\": \"SAFETY\"}]}\n\n";
        assert!(matches!(
            run(blocked, None)[0],
            Err(ProviderError::ContentFilter { .. })
        ));
    }
}
