//! Reading a Message: content blocks, stop reason and usage.

use serde::Deserialize;
use serde_json::Value;

use crate::infer::{ChatResponse, ProviderError, ToolCall, Usage, finish};

#[derive(Deserialize)]
pub struct WireMessage {
    pub id: Option<String>,
    #[serde(default)]
    pub content: Vec<WireBlock>,
    pub stop_reason: Option<String>,
    #[serde(default)]
    pub usage: WireUsage,
}

/// A content block; kinds seam does not use (thinking, server tools) are
/// read and skipped.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WireBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    #[serde(other)]
    Other,
}

/// Anthropic's counts: `input_tokens` excludes the cached tokens.
#[derive(Deserialize, Default, Debug, Clone, Copy)]
pub struct WireUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// seam's usage, whose `input_tokens` includes the cached tokens.
    pub fn usage(&self) -> Usage {
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let write = self.cache_creation_input_tokens.unwrap_or(0);
        Usage {
            input_tokens: self.input_tokens.unwrap_or(0) + read + write,
            output_tokens: self.output_tokens.unwrap_or(0),
            cache_read_tokens: read,
            cache_write_tokens: write,
        }
    }
}

/// The neutral finish reason of a `stop_reason`, or the content-filter
/// error a refusal is.
pub fn finish_reason(stop_reason: &str) -> Result<String, ProviderError> {
    Ok(match stop_reason {
        "end_turn" | "stop_sequence" => finish::STOP,
        "max_tokens" | "model_context_window_exceeded" => finish::LENGTH,
        "tool_use" => finish::TOOL_CALLS,
        "refusal" => {
            return Err(ProviderError::ContentFilter {
                message: "the model refused to answer (stop_reason: refusal)".into(),
            });
        }
        other => other,
    }
    .to_string())
}

/// The response; under a forced tool (`forced` names it) the tool's input
/// becomes the content.
pub fn response_of(wire: WireMessage, forced: Option<&str>) -> Result<ChatResponse, ProviderError> {
    let mut finish_reason = wire.stop_reason.as_deref().map(finish_reason).transpose()?;
    let mut content = String::new();
    let mut tool_calls = Vec::new();
    let mut answer = None;
    for block in wire.content {
        match block {
            WireBlock::Text { text } => content.push_str(&text),
            WireBlock::ToolUse { id, name, input } => {
                if answer.is_none() && forced == Some(name.as_str()) {
                    answer = Some(input.to_string());
                } else {
                    tool_calls.push(ToolCall {
                        id,
                        name,
                        arguments: input.to_string(),
                    });
                }
            }
            WireBlock::Other => {}
        }
    }
    if let Some(json) = answer {
        content = json;
        if finish_reason.as_deref() == Some(finish::TOOL_CALLS) {
            finish_reason = Some(finish::STOP.into());
        }
    }
    Ok(ChatResponse {
        content,
        tool_calls,
        usage: wire.usage.usage(),
        finish_reason,
        response_id: wire.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(v: Value, forced: Option<&str>) -> Result<ChatResponse, ProviderError> {
        response_of(serde_json::from_value(v).unwrap(), forced)
    }

    #[test]
    fn text_blocks_concatenate_and_cache_tokens_count_as_input() {
        let r = read(
            json!({
                "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-5-20250929",
                "content": [{"type": "thinking", "thinking": "hm", "signature": "x"},
                            {"type": "text", "text": "Hello"}, {"type": "text", "text": ", world"}],
                "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": 12, "cache_creation_input_tokens": 2048,
                          "cache_read_input_tokens": 4096, "output_tokens": 6}
            }),
            None,
        )
        .unwrap();
        assert_eq!(r.content, "Hello, world");
        assert_eq!(r.finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            r.response_id.as_deref(),
            Some("msg_01XFDUDYJgAACzvnptvVoYEL")
        );
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 12 + 2048 + 4096,
                output_tokens: 6,
                cache_read_tokens: 4096,
                cache_write_tokens: 2048
            }
        );
    }

    #[test]
    fn tool_use_blocks_become_tool_calls() {
        let r = read(
            json!({
                "id": "msg_1", "content": [
                    {"type": "text", "text": "I'll check."},
                    {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
                     "input": {"location": "San Francisco, CA"}}],
                "stop_reason": "tool_use", "usage": {"input_tokens": 5, "output_tokens": 7}
            }),
            None,
        )
        .unwrap();
        assert_eq!(r.content, "I'll check.");
        assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!(
            r.tool_calls,
            vec![ToolCall {
                id: "toolu_01A09q90qw90lq917835lq9".into(),
                name: "get_weather".into(),
                arguments: r#"{"location":"San Francisco, CA"}"#.into()
            }]
        );
    }

    #[test]
    fn the_forced_tool_input_is_the_answer() {
        let r = read(
            json!({
                "id": "msg_2", "content": [{"type": "tool_use", "id": "toolu_9", "name": "triage",
                    "input": {"category": "billing", "priority": "high"}}],
                "stop_reason": "tool_use", "usage": {"input_tokens": 50, "output_tokens": 20}
            }),
            Some("triage"),
        )
        .unwrap();
        let v: Value = serde_json::from_str(&r.content).unwrap();
        assert_eq!(v, json!({"category": "billing", "priority": "high"}));
        assert!(r.tool_calls.is_empty());
        assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn stop_reasons_map_and_refusals_are_errors() {
        for (wire, neutral) in [
            ("end_turn", "stop"),
            ("stop_sequence", "stop"),
            ("max_tokens", "length"),
            ("tool_use", "tool_calls"),
            ("pause_turn", "pause_turn"),
        ] {
            assert_eq!(finish_reason(wire).unwrap(), neutral);
        }
        let e = read(
            json!({"id": "m", "content": [], "stop_reason": "refusal", "usage": {"input_tokens": 1, "output_tokens": 0}}),
            None,
        )
        .unwrap_err();
        assert_eq!(e.type_name(), "content_filtered");
    }
}
