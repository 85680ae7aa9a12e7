//! Anthropic Messages responses: the `message` object and its SSE events.

use bytes::Bytes;
use fastrand::Rng;
use serde_json::{Value, json};

use crate::simulate::answer::pieces;
use crate::simulate::openai::tokens;

/// One content block of the answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    Text(String),
    ToolUse {
        id: String,
        name: String,
        /// The `input` object of the non-streamed message.
        input: Value,
        /// The JSON text a stream sends as `partial_json` pieces; differs
        /// from `input` only under the malformed/fenced faults or a cut.
        partial_json: String,
    },
}

impl Block {
    fn tokens(&self) -> u64 {
        match self {
            Block::Text(t) => tokens(t),
            Block::ToolUse {
                name, partial_json, ..
            } => tokens(name) + tokens(partial_json),
        }
    }

    fn json(&self) -> Value {
        match self {
            Block::Text(t) => json!({"type": "text", "text": t}),
            Block::ToolUse {
                id, name, input, ..
            } => json!({"type": "tool_use", "id": id, "name": name, "input": input}),
        }
    }
}

/// Input token accounting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct InputUsage {
    /// Tokens neither written to nor read from the prompt cache.
    pub input: u64,
    pub cache_creation: u64,
    pub cache_read: u64,
}

/// A whole answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    pub id: String,
    pub model: String,
    pub blocks: Vec<Block>,
    pub stop_reason: &'static str,
    pub stop_sequence: Option<String>,
    pub usage: InputUsage,
}

impl Reply {
    /// Output tokens, at least 1.
    pub(crate) fn output_tokens(&self) -> u64 {
        self.blocks.iter().map(Block::tokens).sum::<u64>().max(1)
    }

    fn usage_json(&self, output: u64) -> Value {
        json!({
            "input_tokens": self.usage.input,
            "cache_creation_input_tokens": self.usage.cache_creation,
            "cache_read_input_tokens": self.usage.cache_read,
            "output_tokens": output,
        })
    }

    fn message(&self, content: Vec<Value>, stop: bool, output: u64) -> Value {
        json!({
            "id": self.id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": content,
            "stop_reason": if stop { Value::from(self.stop_reason) } else { Value::Null },
            "stop_sequence": if stop { json!(self.stop_sequence) } else { Value::Null },
            "usage": self.usage_json(output),
        })
    }

    /// The non-streamed `message` object.
    pub(crate) fn json(&self) -> Value {
        let content = self.blocks.iter().map(Block::json).collect();
        self.message(content, true, self.output_tokens())
    }

    /// The SSE events of a streamed answer, in Anthropic's order:
    /// message_start, per block content_block_start (a ping after the
    /// first, or after message_start when there are no blocks), deltas and
    /// content_block_stop, then message_delta and message_stop.
    pub(crate) fn sse_events(&self, rng: &mut Rng) -> Vec<Bytes> {
        let mut events = vec![event(
            "message_start",
            &json!({"type": "message_start", "message": self.message(Vec::new(), false, 1)}),
        )];
        if self.blocks.is_empty() {
            events.push(event("ping", &json!({"type": "ping"})));
        }
        for (index, block) in self.blocks.iter().enumerate() {
            let (start, kind, key, text) = match block {
                Block::Text(t) => (json!({"type": "text", "text": ""}), "text_delta", "text", t),
                Block::ToolUse {
                    id,
                    name,
                    partial_json,
                    ..
                } => (
                    json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                    "input_json_delta",
                    "partial_json",
                    partial_json,
                ),
            };
            events.push(event(
                "content_block_start",
                &json!({"type": "content_block_start", "index": index, "content_block": start}),
            ));
            if index == 0 {
                events.push(event("ping", &json!({"type": "ping"})));
            }
            for piece in pieces(text, rng, 3..=12) {
                events.push(event(
                    "content_block_delta",
                    &json!({"type": "content_block_delta", "index": index,
                            "delta": {"type": kind, key: piece}}),
                ));
            }
            events.push(event(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
            ));
        }
        events.push(event(
            "message_delta",
            &json!({"type": "message_delta",
                    "delta": {"stop_reason": self.stop_reason, "stop_sequence": self.stop_sequence},
                    "usage": {"output_tokens": self.output_tokens()}}),
        ));
        events.push(event("message_stop", &json!({"type": "message_stop"})));
        events
    }
}

fn event(name: &str, data: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}
