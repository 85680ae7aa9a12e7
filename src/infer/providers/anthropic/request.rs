//! The request body: seam's messages as Anthropic content blocks.

use serde_json::{Map, Value, json};

use crate::infer::structured::{self, StructuredMode};
use crate::infer::{ChatMessage, ChatRequest, ResponseFormat, Role, Tool, ToolChoice};

/// System text at least this long is marked for prompt caching (Anthropic
/// caches prefixes of 1024+ tokens, about 4 characters each).
pub const CACHE_SYSTEM_CHARS: usize = 4096;

/// The forced tool's name when the request's schema is enforced by a tool.
pub fn forced_tool(req: &ChatRequest<'_>) -> Option<String> {
    match req.schema() {
        Some((name, _, StructuredMode::Tool)) => Some(tool_name(name)),
        _ => None,
    }
}

/// A tool name Anthropic accepts (`^[a-zA-Z0-9_-]{1,64}$`).
fn tool_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if clean.is_empty() {
        "answer".into()
    } else {
        clean
    }
}

/// The body of a request, in the wire format.
pub fn request_body(req: &ChatRequest<'_>) -> Value {
    // Anthropic enforces a schema only through a tool; every other mode,
    // and plain JSON, is asked for in the prompt.
    let any_object = json!({"type": "object"});
    let prompt_schema = match req.format {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(&any_object),
        ResponseFormat::JsonSchema {
            mode: StructuredMode::Tool,
            ..
        } => None,
        ResponseFormat::JsonSchema { schema, .. } => Some(schema),
    };
    let prompted;
    let messages = match prompt_schema {
        Some(schema) => {
            prompted = structured::with_prompt_instruction(req.messages, schema);
            &prompted[..]
        }
        None => req.messages,
    };

    let mut body = json!({
        "model": req.model,
        "max_tokens": req.max_tokens,
        "messages": wire_messages(messages),
    });
    if let Some(system) = system_blocks(messages) {
        body["system"] = system;
    }
    if let Some(t) = req.temperature {
        body["temperature"] = json!(t);
    }
    if !req.stop.is_empty() {
        body["stop_sequences"] = json!(req.stop);
    }
    let mut tools: Vec<Value> = req.tools.iter().map(wire_tool).collect();
    let mut tool_choice = match req.tool_choice {
        ToolChoice::Auto => None,
        ToolChoice::None => Some(json!({"type": "none"})),
        ToolChoice::Required => Some(json!({"type": "any"})),
        ToolChoice::Named(n) => Some(json!({"type": "tool", "name": n})),
    };
    if let Some((name, schema, StructuredMode::Tool)) = req.schema() {
        let name = tool_name(name);
        tools.push(json!({
            "name": name,
            "description": "Record the answer.",
            "input_schema": schema,
        }));
        tool_choice = Some(json!({"type": "tool", "name": name}));
    }
    if !tools.is_empty() {
        body["tools"] = json!(tools);
        if let Some(choice) = tool_choice {
            body["tool_choice"] = choice;
        }
    }
    body
}

/// Every system message joined into one text block, marked for caching
/// when long.
fn system_blocks(messages: &[ChatMessage]) -> Option<Value> {
    let texts: Vec<&str> = messages
        .iter()
        .filter(|m| m.role == Role::System && !m.content.is_empty())
        .map(|m| m.content.as_str())
        .collect();
    if texts.is_empty() {
        return None;
    }
    let text = texts.join("\n\n");
    let mut block = json!({"type": "text", "text": text});
    if text.len() >= CACHE_SYSTEM_CHARS {
        block["cache_control"] = json!({"type": "ephemeral"});
    }
    Some(json!([block]))
}

/// User and assistant turns, alternating: tool results travel in user
/// turns, and consecutive turns of one role are merged.
fn wire_messages(messages: &[ChatMessage]) -> Vec<Value> {
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for m in messages {
        let (role, blocks) = match m.role {
            Role::System => continue,
            Role::User => ("user", text_block(&m.content).into_iter().collect()),
            Role::Assistant => ("assistant", assistant_blocks(m)),
            Role::Tool => ("user", vec![tool_result(m)]),
        };
        if blocks.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some((last, prev)) if *last == role => prev.extend(blocks),
            _ => out.push((role, blocks)),
        }
    }
    out.into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect()
}

/// Anthropic rejects empty text blocks, so empty text is left out.
fn text_block(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| json!({"type": "text", "text": text}))
}

fn assistant_blocks(m: &ChatMessage) -> Vec<Value> {
    let mut blocks: Vec<Value> = text_block(&m.content).into_iter().collect();
    for call in &m.tool_calls {
        blocks.push(json!({
            "type": "tool_use",
            "id": call.id,
            "name": call.name,
            "input": arguments_object(&call.arguments),
        }));
    }
    blocks
}

/// A call's arguments as the object `input` must be; arguments that are
/// not a JSON object (a model's broken output) become `{}`.
fn arguments_object(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(v @ Value::Object(_)) => v,
        _ => Value::Object(Map::new()),
    }
}

fn tool_result(m: &ChatMessage) -> Value {
    let mut block = json!({
        "type": "tool_result",
        "tool_use_id": m.tool_call_id.clone().unwrap_or_default(),
    });
    if !m.content.is_empty() {
        block["content"] = json!(m.content);
    }
    block
}

fn wire_tool(t: &Tool) -> Value {
    let mut tool = json!({"name": t.name, "input_schema": t.parameters});
    if let Some(d) = &t.description {
        tool["description"] = json!(d);
    }
    tool
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::ToolCall;
    use std::time::Duration;

    fn req<'a>(msgs: &'a [ChatMessage], format: ResponseFormat<'a>) -> ChatRequest<'a> {
        ChatRequest::simple(
            "claude-sonnet-4-5",
            msgs,
            format,
            512,
            0.2,
            Duration::from_secs(1),
        )
    }

    fn tool_msg(id: &str, content: &str) -> ChatMessage {
        let mut m = ChatMessage::user(content);
        m.role = Role::Tool;
        m.tool_call_id = Some(id.into());
        m
    }

    #[test]
    fn system_messages_join_at_the_top_level() {
        let msgs = [
            ChatMessage::system("be brief"),
            ChatMessage::user("hi"),
            ChatMessage::system("answer in French"),
        ];
        let mut r = req(&msgs, ResponseFormat::Text);
        r.stop = &[];
        let b = request_body(&r);
        assert_eq!(
            b["system"],
            json!([{"type": "text", "text": "be brief\n\nanswer in French"}])
        );
        assert_eq!(
            b["messages"],
            json!([{"role": "user", "content": [{"type": "text", "text": "hi"}]}])
        );
        assert_eq!(b["max_tokens"], 512);
        assert_eq!(b["temperature"], 0.2);
        assert_eq!(b["model"], "claude-sonnet-4-5");
        assert!(b.get("tools").is_none() && b.get("tool_choice").is_none());
    }

    #[test]
    fn long_system_text_is_marked_for_caching() {
        let long = "x".repeat(CACHE_SYSTEM_CHARS);
        let msgs = [ChatMessage::system(long), ChatMessage::user("hi")];
        let b = request_body(&req(&msgs, ResponseFormat::Text));
        assert_eq!(
            b["system"][0]["cache_control"],
            json!({"type": "ephemeral"})
        );
        let msgs = [ChatMessage::system("short"), ChatMessage::user("hi")];
        let b = request_body(&req(&msgs, ResponseFormat::Text));
        assert!(b["system"][0].get("cache_control").is_none());
    }

    #[test]
    fn tool_use_and_results_alternate_and_merge() {
        let mut assistant = ChatMessage::assistant("Let me look.");
        assistant.tool_calls = vec![
            ToolCall {
                id: "toolu_1".into(),
                name: "lookup".into(),
                arguments: r#"{"q":"a"}"#.into(),
            },
            ToolCall {
                id: "toolu_2".into(),
                name: "lookup".into(),
                arguments: "not json".into(),
            },
        ];
        let msgs = [
            ChatMessage::user("first"),
            ChatMessage::user("second"),
            assistant,
            tool_msg("toolu_1", "42"),
            tool_msg("toolu_2", ""),
            ChatMessage::user("and now?"),
            ChatMessage::assistant(""),
        ];
        let stop = ["END".to_string()];
        let mut r = req(&msgs, ResponseFormat::Text);
        r.stop = &stop;
        let b = request_body(&r);
        assert_eq!(b["stop_sequences"], json!(["END"]));
        assert_eq!(
            b["messages"],
            json!([
                {"role": "user", "content": [
                    {"type": "text", "text": "first"}, {"type": "text", "text": "second"}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {"q": "a"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "lookup", "input": {}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "42"},
                    {"type": "tool_result", "tool_use_id": "toolu_2"},
                    {"type": "text", "text": "and now?"}]},
            ])
        );
    }

    #[test]
    fn tools_and_each_tool_choice() {
        let msgs = [ChatMessage::user("q")];
        let tools = [Tool {
            name: "lookup".into(),
            description: Some("Find a customer".into()),
            parameters: json!({"type": "object", "properties": {"q": {"type": "string"}}}),
        }];
        let cases = [
            (ToolChoice::Auto, None),
            (ToolChoice::None, Some(json!({"type": "none"}))),
            (ToolChoice::Required, Some(json!({"type": "any"}))),
            (
                ToolChoice::Named("lookup".into()),
                Some(json!({"type": "tool", "name": "lookup"})),
            ),
        ];
        for (choice, wire) in cases {
            let mut r = req(&msgs, ResponseFormat::Text);
            r.tools = &tools;
            r.tool_choice = &choice;
            let b = request_body(&r);
            assert_eq!(
                b["tools"],
                json!([{"name": "lookup", "description": "Find a customer", "input_schema": tools[0].parameters}])
            );
            assert_eq!(b.get("tool_choice"), wire.as_ref(), "{choice:?}");
        }
    }

    #[test]
    fn structured_modes_force_a_tool_or_prompt() {
        let msgs = [ChatMessage::system("triage"), ChatMessage::user("ticket")];
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let b = request_body(&req(
            &msgs,
            ResponseFormat::JsonSchema {
                name: "ticket triage",
                schema: &schema,
                mode: StructuredMode::Tool,
            },
        ));
        assert_eq!(b["tools"][0]["name"], "ticket_triage");
        assert_eq!(b["tools"][0]["input_schema"], schema);
        assert_eq!(
            b["tool_choice"],
            json!({"type": "tool", "name": "ticket_triage"})
        );
        assert_eq!(b["system"][0]["text"], "triage");

        for mode in [StructuredMode::Prompt, StructuredMode::JsonObject] {
            let b = request_body(&req(
                &msgs,
                ResponseFormat::JsonSchema {
                    name: "t",
                    schema: &schema,
                    mode,
                },
            ));
            assert!(b.get("tools").is_none(), "{mode:?}");
            let system = b["system"][0]["text"].as_str().unwrap();
            assert!(
                system.starts_with("triage\n\nAnswer with one JSON value"),
                "{system}"
            );
            assert!(system.contains(r#""a":{"type":"string"}"#), "{system}");
        }
        let b = request_body(&req(&msgs, ResponseFormat::JsonObject));
        assert!(
            b["system"][0]["text"]
                .as_str()
                .unwrap()
                .contains("JSON Schema")
        );
    }
}
