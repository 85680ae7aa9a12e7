//! `POST /v1/embeddings` in OpenAI's format, over the `[embeddings.NAME]`
//! models: `{"model", "input": string | [string], "encoding_format":
//! "float" | "base64", "dimensions"?}` → `{"object": "list", "data":
//! [{"object": "embedding", "index", "embedding"}], "model", "usage"}`.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::openai_wire as wire;
use crate::error::Error;
use crate::infer::ProviderError;
use crate::pipeline::Runtime;

/// Most texts one request may carry.
pub const MAX_INPUTS: usize = 256;

/// A checked request.
struct EmbedCall {
    model: String,
    inputs: Vec<String>,
    base64: bool,
    dimensions: Option<u64>,
}

/// A refusal: the message and the request field it is about.
struct Bad {
    message: String,
    param: &'static str,
}

fn bad(param: &'static str, message: impl Into<String>) -> Bad {
    Bad {
        message: message.into(),
        param,
    }
}

fn parse(body: &[u8]) -> Result<EmbedCall, Bad> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| bad("", format!("the body is not valid JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| bad("", "the body must be a JSON object"))?;
    let model = obj
        .get("model")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("model", "`model` (a string) is required"))?
        .to_string();
    let inputs = match obj.get("input") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => {
            if items.is_empty() {
                return Err(bad("input", "`input` must not be an empty array"));
            }
            if items.len() > MAX_INPUTS {
                return Err(bad(
                    "input",
                    format!(
                        "`input` has {} items; at most {MAX_INPUTS} per request",
                        items.len()
                    ),
                ));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(_) | Value::Array(_) => Err(bad(
                        "input",
                        format!("`input[{i}]`: token arrays are not supported; send the text"),
                    )),
                    _ => Err(bad("input", format!("`input[{i}]` must be a string"))),
                })
                .collect::<Result<_, _>>()?
        }
        Some(_) => {
            return Err(bad(
                "input",
                "`input` must be a string or an array of strings",
            ));
        }
        None => return Err(bad("input", "`input` is required")),
    };
    if let Some(i) = inputs.iter().position(|s| s.is_empty()) {
        return Err(bad(
            "input",
            format!("`input[{i}]` is empty; every input must have text"),
        ));
    }
    let base64 = match obj.get("encoding_format") {
        None | Some(Value::Null) => false,
        Some(Value::String(f)) if f == "float" => false,
        Some(Value::String(f)) if f == "base64" => true,
        Some(other) => {
            return Err(bad(
                "encoding_format",
                format!("`encoding_format` must be \"float\" or \"base64\", not {other}"),
            ));
        }
    };
    let dimensions = match obj.get("dimensions") {
        None | Some(Value::Null) => None,
        Some(d) => Some(
            d.as_u64()
                .ok_or_else(|| bad("dimensions", "`dimensions` must be a positive integer"))?,
        ),
    };
    Ok(EmbedCall {
        model,
        inputs,
        base64,
        dimensions,
    })
}

fn refuse(rt: &Runtime, model: &str, b: Bad) -> Response {
    rt.metrics.embeddings(model, "invalid_request", 0, None);
    let param = (!b.param.is_empty()).then_some(b.param);
    wire::error_response(&Error::BadRequest(b.message), param, None)
}

pub async fn create(State(rt): State<Arc<Runtime>>, body: Bytes) -> Response {
    let call = match parse(&body) {
        Ok(c) => c,
        Err(b) => return refuse(&rt, "-", b),
    };
    let Some(embedder) = rt.embeddings.get(&call.model) else {
        let known: Vec<&str> = rt.embeddings.names().collect();
        let msg = if known.is_empty() {
            format!(
                "The model `{}` does not exist: no [embeddings.NAME] model is configured",
                call.model
            )
        } else {
            format!(
                "The model `{}` does not exist; embedding models: {}",
                call.model,
                known.join(", ")
            )
        };
        return refuse(&rt, "-", bad("model", msg));
    };
    if let Some(d) = call.dimensions
        && d != embedder.dims() as u64
    {
        let msg = format!(
            "`dimensions` {d} is not supported: `{}` gives {} dimensions",
            call.model,
            embedder.dims()
        );
        return refuse(&rt, &call.model, bad("dimensions", msg));
    }
    let started = Instant::now();
    let inputs = call.inputs;
    let n = inputs.len() as u64;
    let done = tokio::task::spawn_blocking(move || {
        let texts: Vec<&str> = inputs.iter().map(String::as_str).collect();
        embedder.embed(&texts)
    })
    .await;
    let took = started.elapsed();
    let embedded = match done {
        Ok(Ok(e)) => e,
        Ok(Err(e)) => return failed(&rt, &call.model, e.to_string()),
        Err(join) => return failed(&rt, &call.model, join.to_string()),
    };
    rt.metrics.embeddings(&call.model, "ok", n, Some(took));
    let data: Vec<Value> = embedded
        .vectors
        .iter()
        .enumerate()
        .map(|(index, v)| {
            let embedding = if call.base64 {
                json!(base64_of(v))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": index, "embedding": embedding})
        })
        .collect();
    axum::Json(json!({
        "object": "list",
        "data": data,
        "model": call.model,
        "usage": {"prompt_tokens": embedded.tokens, "total_tokens": embedded.tokens},
    }))
    .into_response()
}

fn failed(rt: &Runtime, model: &str, message: String) -> Response {
    rt.metrics.embeddings(model, "error", 0, None);
    let e = Error::Provider(ProviderError::Server {
        status: 500,
        retry_after: None,
        message: format!("embedding failed: {message}"),
    });
    wire::error_response(&e, None, None)
}

/// OpenAI's base64 form: the little-endian f32 bytes.
fn base64_of(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked_field_by_field() {
        let ok = parse(br#"{"model":"m","input":["a","b"],"encoding_format":"base64","dimensions":384}"#)
            .ok()
            .unwrap();
        assert_eq!(ok.inputs, ["a", "b"]);
        assert!(ok.base64);
        assert_eq!(ok.dimensions, Some(384));
        let one = parse(br#"{"model":"m","input":"a"}"#).ok().unwrap();
        assert_eq!((one.inputs.len(), one.base64), (1, false));
        for (body, param, says) in [
            (r#"{"input":"a"}"#, "model", "required"),
            (r#"{"model":"m","input":[]}"#, "input", "empty array"),
            (r#"{"model":"m","input":[1,2]}"#, "input", "token arrays"),
            (r#"{"model":"m","input":[[1,2]]}"#, "input", "token arrays"),
            (r#"{"model":"m","input":""}"#, "input", "is empty"),
            (r#"{"model":"m","input":"a","encoding_format":"int8"}"#, "encoding_format", "base64"),
            (r#"{"model":"m","input":"a","dimensions":-1}"#, "dimensions", "positive"),
            (r#"[1]"#, "", "object"),
        ] {
            let Err(b) = parse(body.as_bytes()) else {
                panic!("{body} was accepted")
            };
            assert_eq!(b.param, param, "{body}");
            assert!(b.message.contains(says), "{body}: {}", b.message);
        }
        let many = json!({"model": "m", "input": vec!["x"; MAX_INPUTS + 1]}).to_string();
        let Err(b) = parse(many.as_bytes()) else {
            panic!("too many inputs accepted")
        };
        assert!(b.message.contains("at most 256"), "{}", b.message);
    }

    #[test]
    fn base64_is_little_endian_f32() {
        let text = base64_of(&[1.0, -2.5]);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        assert_eq!(bytes.len(), 8);
        assert_eq!(f32::from_le_bytes(bytes[4..8].try_into().unwrap()), -2.5);
    }
}
