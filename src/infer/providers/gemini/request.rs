//! The request body: seam's messages as Gemini `contents` of parts.

use serde_json::{Map, Value, json};

use super::schema::to_gemini;
use crate::infer::structured::{self, StructuredMode};
use crate::infer::{ChatMessage, ChatRequest, ResponseFormat, Role, Tool, ToolChoice};

/// How the request asks for JSON.
enum Json<'a> {
    None,
    /// `responseMimeType` alone.
    MimeType,
    /// `responseMimeType` with a `responseSchema`.
    Schema(&'a Value),
    /// A forced function call named so.
    Tool(String, &'a Value),
    /// The schema in the prompt only.
    Prompt(&'a Value),
}

fn json_of<'a>(req: &ChatRequest<'a>) -> Json<'a> {
    match req.format {
        ResponseFormat::Text => Json::None,
        ResponseFormat::JsonObject => Json::MimeType,
        ResponseFormat::JsonSchema { name, schema, mode } => match mode {
            StructuredMode::Tool => Json::Tool(function_name(name), schema),
            StructuredMode::Prompt => Json::Prompt(schema),
            StructuredMode::JsonObject => Json::MimeType,
            StructuredMode::ResponseSchema
            | StructuredMode::JsonSchema
            | StructuredMode::Grammar => Json::Schema(schema),
        },
    }
}

/// The forced function's name when the request's schema is enforced by a
/// function call.
pub fn forced_tool(req: &ChatRequest<'_>) -> Option<String> {
    match json_of(req) {
        Json::Tool(name, _) => Some(name),
        _ => None,
    }
}

/// A function name Gemini accepts: letters, digits, `_ . : -`, at most 64,
/// starting with a letter or underscore.
fn function_name(name: &str) -> String {
    let mut clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.:-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if !clean.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        clean.insert(0, '_');
        clean.truncate(64);
    }
    clean
}

/// The body of a request, in the wire format.
pub fn request_body(req: &ChatRequest<'_>) -> Value {
    let json_mode = json_of(req);
    let prompted;
    let messages = match json_mode {
        Json::Prompt(schema) => {
            prompted = structured::with_prompt_instruction(req.messages, schema);
            &prompted[..]
        }
        _ => req.messages,
    };
    let mut body = json!({"contents": contents(messages)});
    if let Some(system) = system_instruction(messages) {
        body["systemInstruction"] = system;
    }

    let mut config = json!({"maxOutputTokens": req.max_tokens});
    if let Some(t) = req.temperature {
        config["temperature"] = json!(t);
    }
    if !req.stop.is_empty() {
        config["stopSequences"] = json!(req.stop);
    }
    if let Some(seed) = req.seed {
        // Gemini's seed is an int32.
        config["seed"] = json!(seed % (1 << 31));
    }

    let mut functions: Vec<Value> = req.tools.iter().map(declaration).collect();
    let mut calling = match req.tool_choice {
        ToolChoice::Auto => json!({"mode": "AUTO"}),
        ToolChoice::None => json!({"mode": "NONE"}),
        ToolChoice::Required => json!({"mode": "ANY"}),
        ToolChoice::Named(n) => json!({"mode": "ANY", "allowedFunctionNames": [n]}),
    };
    match json_mode {
        Json::None | Json::Prompt(_) => {}
        Json::MimeType => config["responseMimeType"] = json!("application/json"),
        Json::Schema(schema) => {
            config["responseMimeType"] = json!("application/json");
            config["responseSchema"] = to_gemini(schema);
        }
        Json::Tool(name, schema) => {
            functions.push(json!({
                "name": name,
                "description": "Record the answer.",
                "parameters": to_gemini(schema),
            }));
            calling = json!({"mode": "ANY", "allowedFunctionNames": [name]});
        }
    }
    body["generationConfig"] = config;
    if !functions.is_empty() {
        body["tools"] = json!([{"functionDeclarations": functions}]);
        body["toolConfig"] = json!({"functionCallingConfig": calling});
    }
    body
}

fn system_instruction(messages: &[ChatMessage]) -> Option<Value> {
    let parts: Vec<Value> = messages
        .iter()
        .filter(|m| m.role == Role::System && !m.content.is_empty())
        .map(|m| json!({"text": m.content}))
        .collect();
    (!parts.is_empty()).then(|| json!({"parts": parts}))
}

/// `user` and `model` turns; tool results are `functionResponse` parts in
/// a user turn, and consecutive turns of one role are merged.
fn contents(messages: &[ChatMessage]) -> Vec<Value> {
    let mut out: Vec<(&'static str, Vec<Value>)> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let (role, parts) = match m.role {
            Role::System => continue,
            Role::User => ("user", text_part(&m.content).into_iter().collect()),
            Role::Assistant => ("model", model_parts(m)),
            Role::Tool => ("user", vec![function_response(m, &messages[..i])]),
        };
        if parts.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some((last, prev)) if *last == role => prev.extend(parts),
            _ => out.push((role, parts)),
        }
    }
    out.into_iter()
        .map(|(role, parts)| json!({"role": role, "parts": parts}))
        .collect()
}

fn text_part(text: &str) -> Option<Value> {
    (!text.is_empty()).then(|| json!({"text": text}))
}

fn model_parts(m: &ChatMessage) -> Vec<Value> {
    let mut parts: Vec<Value> = text_part(&m.content).into_iter().collect();
    for call in &m.tool_calls {
        let args = match serde_json::from_str::<Value>(&call.arguments) {
            Ok(v @ Value::Object(_)) => v,
            _ => Value::Object(Map::new()),
        };
        parts.push(json!({"functionCall": {"name": call.name, "args": args}}));
    }
    parts
}

/// A tool result: the function's name comes from the assistant message
/// that made the call; the response is the result's JSON object, or the
/// text under `content`.
fn function_response(m: &ChatMessage, earlier: &[ChatMessage]) -> Value {
    let id = m.tool_call_id.as_deref().unwrap_or_default();
    let name = earlier
        .iter()
        .rev()
        .flat_map(|e| e.tool_calls.iter())
        .find(|c| c.id == id)
        .map_or(id, |c| c.name.as_str());
    let response = match serde_json::from_str::<Value>(&m.content) {
        Ok(v @ Value::Object(_)) => v,
        _ => json!({"content": m.content}),
    };
    json!({"functionResponse": {"name": name, "response": response}})
}

fn declaration(t: &Tool) -> Value {
    let mut f = json!({"name": t.name});
    if let Some(d) = &t.description {
        f["description"] = json!(d);
    }
    // A function without arguments has no `parameters` (Gemini rejects an
    // OBJECT with no properties).
    let params = to_gemini(&t.parameters);
    if params
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty())
    {
        f["parameters"] = params;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::ToolCall;
    use std::time::Duration;

    fn req<'a>(msgs: &'a [ChatMessage], format: ResponseFormat<'a>) -> ChatRequest<'a> {
        ChatRequest::simple(
            "gemini-2.5-flash",
            msgs,
            format,
            300,
            0.5,
            Duration::from_secs(1),
        )
    }

    fn schema() -> Value {
        json!({"type": "object", "additionalProperties": false, "required": ["a"],
               "properties": {"a": {"type": "string"}}})
    }

    #[test]
    fn system_generation_config_and_roles() {
        let msgs = [
            ChatMessage::system("be brief"),
            ChatMessage::user("hi"),
            ChatMessage::assistant("hello"),
            ChatMessage::user("more"),
            ChatMessage::user("please"),
        ];
        let stop = ["END".to_string()];
        let mut r = req(&msgs, ResponseFormat::Text);
        r.stop = &stop;
        r.seed = Some(7);
        let b = request_body(&r);
        assert_eq!(
            b["systemInstruction"],
            json!({"parts": [{"text": "be brief"}]})
        );
        assert_eq!(
            b["contents"],
            json!([
                {"role": "user", "parts": [{"text": "hi"}]},
                {"role": "model", "parts": [{"text": "hello"}]},
                {"role": "user", "parts": [{"text": "more"}, {"text": "please"}]},
            ])
        );
        assert_eq!(
            b["generationConfig"],
            json!({"maxOutputTokens": 300, "temperature": 0.5, "stopSequences": ["END"], "seed": 7})
        );
        assert!(b.get("tools").is_none() && b.get("toolConfig").is_none());
    }

    #[test]
    fn function_calls_and_responses() {
        let mut assistant = ChatMessage::assistant("");
        assistant.tool_calls = vec![
            ToolCall {
                id: "call_0".into(),
                name: "get_order".into(),
                arguments: r#"{"id":"A1"}"#.into(),
            },
            ToolCall {
                id: "call_1".into(),
                name: "get_customer".into(),
                arguments: "{}".into(),
            },
        ];
        let mut r1 = ChatMessage::user(r#"{"status":"shipped"}"#);
        r1.role = Role::Tool;
        r1.tool_call_id = Some("call_0".into());
        let mut r2 = ChatMessage::user("Ada Lovelace");
        r2.role = Role::Tool;
        r2.tool_call_id = Some("call_1".into());
        let msgs = [ChatMessage::user("where is A1?"), assistant, r1, r2];
        let b = request_body(&req(&msgs, ResponseFormat::Text));
        assert_eq!(
            b["contents"],
            json!([
                {"role": "user", "parts": [{"text": "where is A1?"}]},
                {"role": "model", "parts": [
                    {"functionCall": {"name": "get_order", "args": {"id": "A1"}}},
                    {"functionCall": {"name": "get_customer", "args": {}}}]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "get_order", "response": {"status": "shipped"}}},
                    {"functionResponse": {"name": "get_customer", "response": {"content": "Ada Lovelace"}}}]},
            ])
        );
    }

    #[test]
    fn tools_and_each_tool_choice() {
        let msgs = [ChatMessage::user("q")];
        let tools = [
            Tool {
                name: "lookup".into(),
                description: Some("Find".into()),
                parameters: json!({"type": "object", "additionalProperties": false,
                                   "properties": {"q": {"type": "string"}}}),
            },
            Tool {
                name: "now".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {}}),
            },
        ];
        let b = request_body(&ChatRequest {
            tools: &tools,
            ..req(&msgs, ResponseFormat::Text)
        });
        assert_eq!(
            b["tools"],
            json!([{"functionDeclarations": [
                {"name": "lookup", "description": "Find", "parameters":
                    {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}, "propertyOrdering": ["q"]}},
                {"name": "now"}]}])
        );
        for (choice, mode) in [
            (ToolChoice::Auto, json!({"mode": "AUTO"})),
            (ToolChoice::None, json!({"mode": "NONE"})),
            (ToolChoice::Required, json!({"mode": "ANY"})),
            (
                ToolChoice::Named("lookup".into()),
                json!({"mode": "ANY", "allowedFunctionNames": ["lookup"]}),
            ),
        ] {
            let b = request_body(&ChatRequest {
                tools: &tools,
                tool_choice: &choice,
                ..req(&msgs, ResponseFormat::Text)
            });
            assert_eq!(b["toolConfig"]["functionCallingConfig"], mode, "{choice:?}");
        }
    }

    #[test]
    fn each_structured_mode() {
        let msgs = [ChatMessage::system("s"), ChatMessage::user("u")];
        let s = schema();
        let format = |mode| ResponseFormat::JsonSchema {
            name: "ticket triage",
            schema: &s,
            mode,
        };

        let b = request_body(&req(&msgs, format(StructuredMode::ResponseSchema)));
        assert_eq!(
            b["generationConfig"]["responseMimeType"],
            "application/json"
        );
        assert_eq!(b["generationConfig"]["responseSchema"], to_gemini(&s));
        assert_eq!(b["generationConfig"]["responseSchema"]["type"], "OBJECT");
        assert!(b.get("tools").is_none());

        let b = request_body(&req(&msgs, format(StructuredMode::Tool)));
        assert_eq!(
            b["tools"][0]["functionDeclarations"][0]["name"],
            "ticket_triage"
        );
        assert_eq!(
            b["tools"][0]["functionDeclarations"][0]["parameters"],
            to_gemini(&s)
        );
        assert_eq!(
            b["toolConfig"],
            json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["ticket_triage"]}})
        );
        assert!(b["generationConfig"].get("responseMimeType").is_none());

        let b = request_body(&req(&msgs, format(StructuredMode::JsonObject)));
        assert_eq!(
            b["generationConfig"]["responseMimeType"],
            "application/json"
        );
        assert!(b["generationConfig"].get("responseSchema").is_none());
        let b = request_body(&req(&msgs, ResponseFormat::JsonObject));
        assert_eq!(
            b["generationConfig"]["responseMimeType"],
            "application/json"
        );

        let b = request_body(&req(&msgs, format(StructuredMode::Prompt)));
        assert!(b["generationConfig"].get("responseMimeType").is_none());
        let system = b["systemInstruction"]["parts"][0]["text"].as_str().unwrap();
        assert!(
            system.starts_with("s\n\nAnswer with one JSON value"),
            "{system}"
        );
    }

    #[test]
    fn function_names_are_made_acceptable() {
        assert_eq!(function_name("triage"), "triage");
        assert_eq!(function_name("ticket triage/v2"), "ticket_triage_v2");
        assert_eq!(function_name("2fa"), "_2fa");
        assert_eq!(function_name(&"x".repeat(80)).len(), 64);
    }
}
