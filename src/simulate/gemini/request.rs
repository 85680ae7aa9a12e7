//! Gemini `GenerateContentRequest`s: parsing, validation and token counts.
//! Field names are accepted in lowerCamelCase and snake_case, as protobuf
//! JSON does, and unknown names are rejected the way Google rejects them.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::schema::normalise;
use crate::simulate::openai::tokens;

/// The input limit of every simulated Gemini model.
pub(crate) const INPUT_LIMIT: u64 = 1_048_576;
/// Tokens counted for an image or a file part.
const MEDIA_TOKENS: u64 = 258;
const PREFIX: &str = "* GenerateContentRequest";
const TOP: &[&str] = &[
    "model",
    "contents",
    "systemInstruction",
    "generationConfig",
    "tools",
    "toolConfig",
    "safetySettings",
    "cachedContent",
];
const CONFIG: &[&str] = &[
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "candidateCount",
    "maxOutputTokens",
    "temperature",
    "topP",
    "topK",
    "seed",
    "presencePenalty",
    "frequencyPenalty",
    "responseLogprobs",
    "logprobs",
    "enableEnhancedCivicAnswers",
    "speechConfig",
    "thinkingConfig",
    "mediaResolution",
    "imageConfig",
];
const PART: &[&str] = &[
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "thought",
    "thoughtSignature",
    "executableCode",
    "codeExecutionResult",
    "videoMetadata",
];
const MIME_TYPES: &[&str] = &[
    "text/plain",
    "application/json",
    "application/xml",
    "application/yaml",
    "text/x.enum",
];

/// One input turn, reduced to its text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Content {
    pub role: String,
    pub text: String,
    pub extra_tokens: u64,
    pub function_response: bool,
}

/// A function the model may call, its parameters as plain JSON Schema.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Function {
    pub name: String,
    pub parameters: Value,
}

/// `toolConfig.functionCallingConfig.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Auto,
    Any,
    None,
}

/// What the text part must be.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    Text,
    /// `application/json`, with a JSON Schema when one was given.
    Json(Option<Value>),
    /// `text/x.enum`: one of these values.
    Enum(Vec<String>),
}

/// A validated request.
#[derive(Debug, Clone)]
pub(crate) struct GenerateRequest {
    pub model: String,
    pub contents: Vec<Content>,
    pub system: String,
    pub functions: Vec<Function>,
    pub mode: Mode,
    /// `allowedFunctionNames`; empty means all.
    pub allowed: Vec<String>,
    pub output: Output,
    pub max_output_tokens: Option<u64>,
    pub stop_sequences: Vec<String>,
    pub candidate_count: usize,
    defs_tokens: u64,
    hash: [u8; 32],
}

/// `fooBar` → `foo_bar`.
fn snake(camel: &str) -> String {
    let mut out = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of `camel` (or its snake_case spelling).
fn get<'a>(obj: &'a Map<String, Value>, camel: &str) -> Option<&'a Value> {
    obj.get(camel)
        .or_else(|| obj.get(&snake(camel)))
        .filter(|v| !v.is_null())
}

/// Reject names outside `known` (either spelling).
fn known_fields(obj: &Map<String, Value>, known: &[&str], at: &str) -> Result<(), ApiError> {
    match obj
        .keys()
        .find(|k| !known.iter().any(|c| *c == k.as_str() || snake(c) == **k))
    {
        Some(k) => Err(ApiError::unknown_field(k, at)),
        None => Ok(()),
    }
}

fn bad(path: &str, why: &str) -> ApiError {
    ApiError::invalid(format!("{PREFIX}.{path}: {why}\n"))
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ApiError> {
    v.as_object().ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid value at '{path}', {v}: Proto field is not repeating, cannot start list."
        ))
    })
}

fn list<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, ApiError> {
    v.as_array().ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid value at '{path}', {v}: Starting an object on a scalar field"
        ))
    })
}

fn texts_of(parts: &[Value]) -> Vec<&str> {
    parts
        .iter()
        .filter_map(|p| p.get("text").and_then(Value::as_str))
        .collect()
}

impl GenerateRequest {
    /// Parse and validate the body of a request to `model`.
    pub(crate) fn parse(model: &str, body: &[u8]) -> Result<GenerateRequest, ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::invalid(format!("Invalid JSON payload received. {e}")))?;
        let obj = value.as_object().ok_or_else(|| {
            ApiError::invalid("Invalid JSON payload received. Expected an object.")
        })?;
        known_fields(obj, TOP, "")?;
        let contents = parse_contents(get(obj, "contents"))?;
        let system = match get(obj, "systemInstruction") {
            None => String::new(),
            Some(s) => {
                let s = object(s, "system_instruction")?;
                known_fields(s, &["role", "parts"], "system_instruction")?;
                match get(s, "parts") {
                    None => String::new(),
                    Some(p) => texts_of(list(p, "system_instruction.parts")?).join("\n"),
                }
            }
        };
        let (functions, mut defs_json) = parse_tools(get(obj, "tools"))?;
        let (mode, allowed) = parse_tool_config(get(obj, "toolConfig"), &functions)?;
        let config = match get(obj, "generationConfig") {
            None => Map::new(),
            Some(c) => object(c, "generation_config")?.clone(),
        };
        known_fields(&config, CONFIG, "generation_config")?;
        let output = parse_output(&config)?;
        if let Output::Json(Some(schema)) = &output {
            defs_json.push_str(&schema.to_string());
        }
        let max_output_tokens = match get(&config, "maxOutputTokens") {
            None => None,
            Some(v) => Some(v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
                bad(
                    "generation_config.max_output_tokens",
                    "max_output_tokens must be positive.",
                )
            })?),
        };
        if let Some(t) = get(&config, "temperature")
            && !t.as_f64().is_some_and(|t| (0.0..=2.0).contains(&t))
        {
            return Err(bad(
                "generation_config.temperature",
                "temperature must be in the range [0.0, 2.0].",
            ));
        }
        let candidate_count = match get(&config, "candidateCount") {
            None => 1,
            Some(v) => match v.as_u64() {
                Some(n @ 1..=8) => n as usize,
                _ => {
                    return Err(bad(
                        "generation_config.candidate_count",
                        "candidate_count must be in the range [1, 8].",
                    ));
                }
            },
        };
        let stop_sequences = match get(&config, "stopSequences") {
            None => Vec::new(),
            Some(v) => {
                let seqs: Vec<String> = list(v, "generation_config.stop_sequences")?
                    .iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect();
                if seqs.len() > 5 {
                    return Err(bad(
                        "generation_config.stop_sequences",
                        "stop_sequences must have at most 5 entries.",
                    ));
                }
                seqs
            }
        };
        if let Some(s) = get(obj, "safetySettings") {
            list(s, "safety_settings")?;
        }
        let mut h = Sha256::new();
        h.update(model.as_bytes());
        h.update([0]);
        h.update(value.to_string().as_bytes());
        Ok(GenerateRequest {
            model: model.to_string(),
            contents,
            system,
            functions,
            mode,
            allowed,
            output,
            max_output_tokens,
            stop_sequences,
            candidate_count,
            defs_tokens: if defs_json.is_empty() {
                0
            } else {
                tokens(&defs_json)
            },
            hash: h.finalize().into(),
        })
    }

    /// SHA-256 over the content that determines the answer.
    pub(crate) fn content_hash(&self) -> [u8; 32] {
        self.hash
    }

    fn user_contents(&self) -> impl DoubleEndedIterator<Item = &Content> + Clone {
        self.contents
            .iter()
            .filter(|c| c.role == "user" || c.role.is_empty())
    }

    /// The text of the first user turn.
    pub(crate) fn first_user_text(&self) -> &str {
        self.user_contents().next().map_or("", |c| c.text.as_str())
    }

    /// The texts of the user turns, in order.
    pub(crate) fn user_texts(&self) -> impl DoubleEndedIterator<Item = &str> + Clone {
        self.user_contents().map(|c| c.text.as_str())
    }

    /// Whether the last turn hands back function results.
    pub(crate) fn answers_function_response(&self) -> bool {
        self.contents.last().is_some_and(|c| c.function_response)
    }

    /// Tokens the rate limits charge: system and turn texts (≈ chars/4)
    /// plus `maxOutputTokens` of every candidate.
    pub(crate) fn rate_tokens(&self) -> u64 {
        let text: u64 = self.contents.iter().map(|c| tokens(&c.text)).sum();
        let output = self
            .max_output_tokens
            .unwrap_or(0)
            .saturating_mul(self.candidate_count as u64);
        tokens(&self.system) + text + output
    }

    /// Prompt tokens: ≈ chars/4 per turn plus system and definitions.
    pub(crate) fn prompt_tokens(&self) -> u64 {
        let turns: u64 = self
            .contents
            .iter()
            .map(|c| tokens(&c.text) + c.extra_tokens + 1)
            .sum();
        turns + tokens(&self.system) + self.defs_tokens
    }
}

fn parse_contents(v: Option<&Value>) -> Result<Vec<Content>, ApiError> {
    let Some(v) = v else {
        return Err(bad("contents", "contents is not specified"));
    };
    let items = list(v, "contents")?;
    if items.is_empty() {
        return Err(bad("contents", "contents is not specified"));
    }
    let mut contents = Vec::with_capacity(items.len());
    for (i, c) in items.iter().enumerate() {
        let at = format!("contents[{i}]");
        let c = object(c, &at)?;
        known_fields(c, &["role", "parts"], &at)?;
        let role = match get(c, "role") {
            None => "",
            Some(Value::String(r)) if ["user", "model", "function", ""].contains(&r.as_str()) => r,
            Some(_) => return Err(ApiError::invalid("Please use a valid role: user, model.")),
        };
        let parts = match get(c, "parts") {
            Some(p) => list(p, &format!("{at}.parts"))?,
            None => {
                return Err(bad(
                    &format!("{at}.parts"),
                    "contents.parts must not be empty.",
                ));
            }
        };
        if parts.is_empty() {
            return Err(bad(
                &format!("{at}.parts"),
                "contents.parts must not be empty.",
            ));
        }
        let mut content = Content {
            role: role.to_string(),
            text: String::new(),
            extra_tokens: 0,
            function_response: false,
        };
        let mut texts = Vec::new();
        for (j, p) in parts.iter().enumerate() {
            let pat = format!("{at}.parts[{j}]");
            let p = object(p, &pat)?;
            known_fields(p, PART, &pat)?;
            if let Some(t) = get(p, "text") {
                texts.push(t.as_str().unwrap_or_default().to_string());
            }
            if get(p, "inlineData").is_some() || get(p, "fileData").is_some() {
                content.extra_tokens += MEDIA_TOKENS;
            }
            if let Some(call) = get(p, "functionCall") {
                content.extra_tokens += tokens(&call.to_string());
            }
            if let Some(resp) = get(p, "functionResponse") {
                let r = object(resp, &format!("{pat}.function_response"))?;
                if get(r, "name")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    return Err(bad(
                        &format!("{pat}.function_response.name"),
                        "Name cannot be empty.",
                    ));
                }
                texts.push(get(r, "response").map(Value::to_string).unwrap_or_default());
                content.function_response = true;
            }
        }
        content.text = texts.join("\n");
        contents.push(content);
    }
    Ok(contents)
}

fn valid_function_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-:".contains(c))
}

fn parse_tools(v: Option<&Value>) -> Result<(Vec<Function>, String), ApiError> {
    let Some(v) = v else {
        return Ok((Vec::new(), String::new()));
    };
    let mut functions = Vec::new();
    for (i, tool) in list(v, "tools")?.iter().enumerate() {
        let at = format!("tools[{i}]");
        let tool = object(tool, &at)?;
        let Some(decls) = get(tool, "functionDeclarations") else {
            continue; // googleSearch, codeExecution, urlContext...: accepted, never used.
        };
        for (j, d) in list(decls, &format!("{at}.function_declarations"))?
            .iter()
            .enumerate()
        {
            let dat = format!("{at}.function_declarations[{j}]");
            let d = object(d, &dat)?;
            known_fields(
                d,
                &[
                    "name",
                    "description",
                    "parameters",
                    "parametersJsonSchema",
                    "response",
                    "responseJsonSchema",
                    "behavior",
                ],
                &dat,
            )?;
            let name = get(d, "name").and_then(Value::as_str).unwrap_or_default();
            if !valid_function_name(name) {
                return Err(bad(
                    &format!("{dat}.name"),
                    "Invalid function name. Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores, dots, colons and dashes, with a maximum length of 64.",
                ));
            }
            let parameters = match (get(d, "parameters"), get(d, "parametersJsonSchema")) {
                (Some(_), Some(_)) => {
                    return Err(bad(
                        &dat,
                        "only one of parameters and parameters_json_schema may be set.",
                    ));
                }
                (Some(p), None) => normalise(p, &format!("{dat}.parameters"))?,
                (None, Some(p)) => p.clone(),
                (None, None) => json!({"type": "object", "properties": {}}),
            };
            functions.push(Function {
                name: name.to_string(),
                parameters,
            });
        }
    }
    Ok((functions, v.to_string()))
}

fn parse_tool_config(
    v: Option<&Value>,
    functions: &[Function],
) -> Result<(Mode, Vec<String>), ApiError> {
    let config = match v {
        None => return Ok((Mode::Auto, Vec::new())),
        Some(c) => object(c, "tool_config")?,
    };
    let Some(fcc) = get(config, "functionCallingConfig") else {
        return Ok((Mode::Auto, Vec::new()));
    };
    let fcc = object(fcc, "tool_config.function_calling_config")?;
    let mode = match get(fcc, "mode").and_then(Value::as_str).unwrap_or("AUTO") {
        "AUTO" | "MODE_UNSPECIFIED" | "VALIDATED" => Mode::Auto,
        "ANY" => Mode::Any,
        "NONE" => Mode::None,
        other => {
            return Err(ApiError::invalid(format!(
                "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"{other}\""
            )));
        }
    };
    let allowed: Vec<String> = match get(fcc, "allowedFunctionNames") {
        None => Vec::new(),
        Some(a) => list(
            a,
            "tool_config.function_calling_config.allowed_function_names",
        )?
        .iter()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect(),
    };
    if !allowed.is_empty() && mode != Mode::Any {
        return Err(bad(
            "tool_config.function_calling_config.allowed_function_names",
            "allowed_function_names may only be set when mode is ANY.",
        ));
    }
    if let Some(unknown) = allowed
        .iter()
        .find(|n| !functions.iter().any(|f| &f.name == *n))
    {
        return Err(bad(
            "tool_config.function_calling_config.allowed_function_names",
            &format!("function `{unknown}` is not declared in tools."),
        ));
    }
    if mode == Mode::Any && functions.is_empty() {
        return Err(bad(
            "tool_config.function_calling_config.mode",
            "function calling mode ANY requires function declarations in tools.",
        ));
    }
    Ok((mode, allowed))
}

fn parse_output(config: &Map<String, Value>) -> Result<Output, ApiError> {
    let mime = match get(config, "responseMimeType") {
        None => "text/plain",
        Some(Value::String(m)) if MIME_TYPES.contains(&m.as_str()) => m,
        Some(_) => {
            return Err(bad(
                "generation_config.response_mime_type",
                "allowed mimetypes are `text/plain`, `application/json`, `application/xml`, `application/yaml` and `text/x.enum`.",
            ));
        }
    };
    let schema = match (
        get(config, "responseSchema"),
        get(config, "responseJsonSchema"),
    ) {
        (Some(_), Some(_)) => {
            return Err(bad(
                "generation_config",
                "only one of response_schema and response_json_schema may be set.",
            ));
        }
        (Some(s), None) => Some(normalise(s, "generation_config.response_schema")?),
        (None, Some(s)) => Some(s.clone()),
        (None, None) => None,
    };
    match (mime, schema) {
        ("application/json", schema) => Ok(Output::Json(schema)),
        ("text/x.enum", Some(schema)) => {
            let values: Vec<String> = schema
                .get("enum")
                .and_then(Value::as_array)
                .map(|v| {
                    v.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if values.is_empty() {
                return Err(bad(
                    "generation_config.response_schema",
                    "text/x.enum requires a schema with an enum.",
                ));
            }
            Ok(Output::Enum(values))
        }
        (_, Some(_)) => Err(bad(
            "generation_config.response_mime_type",
            "response_mime_type must be `application/json` or `text/x.enum` when a response schema is set.",
        )),
        (_, None) => Ok(Output::Text),
    }
}
