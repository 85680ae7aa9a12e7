//! Streaming: Anthropic's typed SSE events as seam's stream events.

use std::collections::HashMap;

use serde::Deserialize;

use super::error::classify_type;
use super::response::{WireUsage, finish_reason};
use crate::infer::stream::SseEvent;
use crate::infer::{ProviderError, StreamEvent, finish};

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: usize,
        content_block: StartBlock,
    },
    ContentBlockDelta {
        index: usize,
        delta: Delta,
    },
    MessageDelta {
        #[serde(default)]
        delta: MessageDelta,
        #[serde(default)]
        usage: Option<WireUsage>,
    },
    Error {
        error: WireError,
    },
    /// `content_block_stop`, `message_stop`, `ping` and kinds added later.
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct StartMessage {
    id: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StartBlock {
    ToolUse {
        id: String,
        name: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Delta {
    #[serde(rename = "text_delta")]
    Text { text: String },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: String },
    /// Thinking and signature deltas.
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default)]
struct MessageDelta {
    stop_reason: Option<String>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

/// What a content block carries.
enum Block {
    /// A tool call, the `n`th of the answer.
    Call(usize),
    /// The forced tool: its input JSON is the answer text.
    Answer,
}

/// Per-stream state: which content block is which tool call.
pub struct StreamState {
    forced: Option<String>,
    blocks: HashMap<usize, Block>,
    calls: usize,
}

impl StreamState {
    pub fn new(forced: Option<String>) -> Self {
        StreamState {
            forced,
            blocks: HashMap::new(),
            calls: 0,
        }
    }

    /// The stream events of one SSE event.
    pub fn events(&mut self, ev: &SseEvent) -> Vec<Result<StreamEvent, ProviderError>> {
        let wire: WireEvent = match serde_json::from_str(&ev.data) {
            Ok(w) => w,
            Err(e) => {
                return vec![Err(ProviderError::BadResponse(format!(
                    "unreadable stream event `{}`: {e}",
                    ev.event
                )))];
            }
        };
        let mut out = Vec::new();
        match wire {
            WireEvent::MessageStart { message } => {
                if let Some(id) = message.id {
                    out.push(Ok(StreamEvent::Id(id)));
                }
                if let Some(u) = message.usage {
                    out.push(Ok(StreamEvent::Usage(u.usage())));
                }
            }
            WireEvent::ContentBlockStart {
                index,
                content_block: StartBlock::ToolUse { id, name },
            } => {
                if self.blocks.values().all(|b| !matches!(b, Block::Answer))
                    && self.forced.as_deref() == Some(name.as_str())
                {
                    self.blocks.insert(index, Block::Answer);
                } else {
                    let n = self.calls;
                    self.calls += 1;
                    self.blocks.insert(index, Block::Call(n));
                    out.push(Ok(StreamEvent::ToolCall {
                        index: n,
                        id: Some(id),
                        name: Some(name),
                        arguments: String::new(),
                    }));
                }
            }
            WireEvent::ContentBlockStart { .. } => {}
            WireEvent::ContentBlockDelta { index, delta } => match delta {
                // Under a forced tool the answer is the tool's input alone,
                // as in a complete response.
                Delta::Text { text } if self.forced.is_none() && !text.is_empty() => {
                    out.push(Ok(StreamEvent::Text(text)));
                }
                Delta::InputJson { partial_json } if !partial_json.is_empty() => {
                    match self.blocks.get(&index) {
                        Some(Block::Answer) => out.push(Ok(StreamEvent::Text(partial_json))),
                        Some(Block::Call(n)) => out.push(Ok(StreamEvent::ToolCall {
                            index: *n,
                            id: None,
                            name: None,
                            arguments: partial_json,
                        })),
                        None => {}
                    }
                }
                _ => {}
            },
            WireEvent::MessageDelta { delta, usage } => {
                if let Some(u) = usage {
                    out.push(Ok(StreamEvent::Usage(u.usage())));
                }
                if let Some(reason) = delta.stop_reason {
                    out.push(finish_reason(&reason).map(|r| {
                        let answered = self.blocks.values().any(|b| matches!(b, Block::Answer));
                        if answered && r == finish::TOOL_CALLS {
                            StreamEvent::Finish(finish::STOP.into())
                        } else {
                            StreamEvent::Finish(r)
                        }
                    }));
                }
            }
            WireEvent::Error { error } => out.push(Err(classify_type(&error.kind, error.message))),
            WireEvent::Other => {}
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::Usage;
    use crate::infer::stream::{Collector, SseParser};

    /// A recorded stream (from Anthropic's streaming docs), tool use included.
    const TOOL_STREAM: &str = "event: message_start
data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_014p7gG3wDgGV9EUtLvnow3U\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":2000,\"output_tokens\":2},\"content\":[],\"stop_reason\":null}}

event: content_block_start
data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}

event: ping
data: {\"type\": \"ping\"}

event: content_block_delta
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Okay, let's check\"}}

event: content_block_delta
data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\" the weather.\"}}

event: content_block_stop
data: {\"type\":\"content_block_stop\",\"index\":0}

event: content_block_start
data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\",\"input\":{}}}

event: content_block_delta
data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}

event: content_block_delta
data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}

event: content_block_delta
data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\" \\\"San Francisco, CA\\\"}\"}}

event: content_block_stop
data: {\"type\":\"content_block_stop\",\"index\":1}

event: message_delta
data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}

event: message_stop
data: {\"type\":\"message_stop\"}

";

    fn run(text: &str, forced: Option<&str>) -> Vec<Result<StreamEvent, ProviderError>> {
        let mut parser = SseParser::default();
        let mut state = StreamState::new(forced.map(str::to_string));
        parser
            .push(text.as_bytes())
            .iter()
            .flat_map(|ev| state.events(ev))
            .collect()
    }

    fn collect(events: Vec<Result<StreamEvent, ProviderError>>) -> crate::infer::ChatResponse {
        let mut c = Collector::default();
        for ev in events {
            c.push(&ev.unwrap());
        }
        assert!(c.usage_seen());
        c.finish()
    }

    #[test]
    fn text_and_tool_use_events_map() {
        let events = run(TOOL_STREAM, None);
        assert_eq!(
            events[..3]
                .iter()
                .map(|e| e.clone().unwrap())
                .collect::<Vec<_>>(),
            vec![
                StreamEvent::Id("msg_014p7gG3wDgGV9EUtLvnow3U".into()),
                StreamEvent::Usage(Usage {
                    input_tokens: 2472,
                    output_tokens: 2,
                    cache_read_tokens: 2000,
                    cache_write_tokens: 0
                }),
                StreamEvent::Text("Okay, let's check".into()),
            ]
        );
        assert!(events.iter().any(|e| e.as_ref().ok()
            == Some(&StreamEvent::ToolCall {
                index: 0,
                id: Some("toolu_01T1x1fJ34qAmk2tNTrN7Up6".into()),
                name: Some("get_weather".into()),
                arguments: String::new(),
            })));
        let r = collect(events);
        assert_eq!(r.content, "Okay, let's check the weather.");
        assert_eq!(r.tool_calls.len(), 1);
        assert_eq!(
            r.tool_calls[0].arguments,
            r#"{"location": "San Francisco, CA"}"#
        );
        assert_eq!(r.finish_reason.as_deref(), Some("tool_calls"));
        assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (2472, 89));
        assert_eq!(r.usage.cache_read_tokens, 2000);
    }

    #[test]
    fn the_forced_tool_streams_as_text() {
        let r = collect(run(
            &TOOL_STREAM.replace("get_weather", "triage"),
            Some("triage"),
        ));
        assert_eq!(r.content, r#"{"location": "San Francisco, CA"}"#);
        assert!(r.tool_calls.is_empty());
        assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn error_events_and_refusals_are_classified() {
        let text = "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}\n\n";
        let events = run(text, None);
        let e = events[0].clone().unwrap_err();
        assert_eq!(e.type_name(), "provider_overloaded");
        assert!(e.class().retryable());
        assert!(e.to_string().contains("Overloaded"));

        let refusal = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"refusal\"},\"usage\":{\"output_tokens\":3}}\n\n";
        let events = run(refusal, None);
        assert!(matches!(events[0], Ok(StreamEvent::Usage(_))));
        assert!(matches!(
            events[1],
            Err(ProviderError::ContentFilter { .. })
        ));
    }
}
