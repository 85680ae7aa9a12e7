//! Tests against the real model, whose weights are fetched into `models/`
//! on first use (they fail, never skip, when that fails).
//!
//! Each test holds [`MODEL`] while it runs: they are CPU-bound, and several
//! models decoding at once on a 2-core machine would only make each one
//! slow enough to trip the timing assertions that matter here (a timeout
//! stops the worker promptly).

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use serde_json::{Value, json};

use super::Local;
use super::engine::backend;
use super::grammar::Grammars;
use crate::config::LocalModelConfig;
use crate::infer::{
    ChatMessage, ChatRequest, ChatResponse, Provider, ProviderError, ResponseFormat, StructuredMode,
};
use crate::prompt::PromptTemplate;
use crate::schema::JsonSchema;

static MODEL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The weights, fetched (sha256-checked) by scripts/fetch-model.sh on
/// first use.
fn weights() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    if !path.is_file() {
        let out = std::process::Command::new(root.join("scripts/fetch-model.sh"))
            .output()
            .unwrap();
        assert!(
            out.status.success() && path.is_file(),
            "scripts/fetch-model.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    path
}

fn config() -> LocalModelConfig {
    LocalModelConfig {
        path: weights(),
        threads: None,
        context_size: NonZeroU32::new(2048).unwrap(),
    }
}

fn example(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/ticket-triage")
        .join(file)
}

/// The triage example's messages for one ticket, rendered as a run would.
fn triage_messages(ticket: &Value) -> Vec<ChatMessage> {
    let template = PromptTemplate::load(&example("prompts/triage.j2"), None).unwrap();
    template.render("triage", ticket).unwrap().messages
}

fn triage_schema() -> JsonSchema {
    JsonSchema::load(&example("schemas/triage.json")).unwrap()
}

fn request<'a>(
    messages: &'a [ChatMessage],
    schema: Option<&'a Value>,
    max_tokens: u32,
    timeout: Duration,
) -> ChatRequest<'a> {
    let format = match schema {
        Some(schema) => ResponseFormat::JsonSchema {
            name: "triage",
            schema,
            mode: StructuredMode::Grammar,
        },
        None => ResponseFormat::Text,
    };
    ChatRequest::simple("smollm2", messages, format, max_tokens, 0.0, timeout)
}

fn ticket() -> Value {
    json!({
        "ticket_id": "T-1001",
        "subject": "Charged twice for November",
        "body": "My card was charged twice for the November invoice. Please refund one of them.",
        "customer": {"email": "dana@example.com", "plan": "pro"}
    })
}

async fn chat(local: &Local, req: &ChatRequest<'_>) -> Result<ChatResponse, ProviderError> {
    local.chat(req).await
}

#[tokio::test]
async fn triage_output_is_json_that_validates_against_the_example_schema() {
    let _model = MODEL.lock().await;
    let local = Local::load("test", &config()).unwrap();
    let schema = triage_schema();
    let messages = triage_messages(&ticket());
    let req = request(
        &messages,
        Some(&schema.source),
        300,
        Duration::from_secs(60),
    );
    let resp = chat(&local, &req).await.unwrap();
    let value: Value = serde_json::from_str(&resp.content)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", resp.content));
    assert!(
        schema.validate(&value).is_empty(),
        "{value} fails the schema: {:?}",
        schema.validate(&value)
    );
    assert_eq!(resp.finish_reason.as_deref(), Some("stop"));
    // Real counts: the system fragment alone is well over 50 tokens, and
    // the output is at least `{"category": ...}` plus the stop token.
    assert!(resp.usage.input_tokens > 100, "{:?}", resp.usage);
    assert!(resp.usage.output_tokens > 10, "{:?}", resp.usage);
    assert!(resp.usage.output_tokens < 300, "{:?}", resp.usage);
}

#[tokio::test]
async fn max_tokens_cuts_generation_with_finish_reason_length() {
    let _model = MODEL.lock().await;
    let local = Local::load("test", &config()).unwrap();
    let schema = triage_schema();
    let messages = triage_messages(&ticket());
    let req = request(&messages, Some(&schema.source), 5, Duration::from_secs(60));
    let resp = chat(&local, &req).await.unwrap();
    assert_eq!(resp.finish_reason.as_deref(), Some("length"));
    assert_eq!(resp.usage.output_tokens, 5);
    assert!(
        resp.content.starts_with('{'),
        "constrained output starts as JSON: {:?}",
        resp.content
    );
}

#[tokio::test]
async fn sampling_with_temperature_is_reproducible() {
    let _model = MODEL.lock().await;
    let local = Local::load("test", &config()).unwrap();
    let schema = triage_schema();
    let messages = triage_messages(&ticket());
    let mut req = request(
        &messages,
        Some(&schema.source),
        120,
        Duration::from_secs(60),
    );
    req.temperature = Some(1.0);
    let a = chat(&local, &req).await.unwrap();
    let b = chat(&local, &req).await.unwrap();
    assert_eq!(a.content, b.content);
}

/// A generation that takes many seconds: the schema forbids stopping
/// before 4000 characters of story (about a thousand tokens).
fn long_messages() -> Vec<ChatMessage> {
    vec![ChatMessage::user(
        "Write a long story about a lighthouse keeper.",
    )]
}

fn long_schema() -> Value {
    json!({
        "type": "object",
        "required": ["story"],
        "properties": {"story": {"type": "string", "minLength": 4000}}
    })
}

#[tokio::test]
async fn a_timeout_stops_generation_and_frees_the_model() {
    let _model = MODEL.lock().await;
    let local = Local::load("test", &config()).unwrap();
    let messages = long_messages();
    let long = long_schema();
    let started = Instant::now();
    let req = request(&messages, Some(&long), 1800, Duration::from_millis(500));
    let err = chat(&local, &req).await.unwrap_err();
    assert!(matches!(err, ProviderError::Timeout(500)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // Had the worker kept generating (up to the 2048-token context, some
    // 20 s), this short request would queue behind it; stopped, it runs at
    // once. The bound leaves room for a loaded machine.
    let schema = triage_schema();
    let triage = triage_messages(&ticket());
    let next = Instant::now();
    let req = request(&triage, Some(&schema.source), 5, Duration::from_secs(60));
    chat(&local, &req).await.unwrap();
    assert!(
        next.elapsed() < Duration::from_secs(12),
        "{:?}",
        next.elapsed()
    );
}

#[tokio::test]
async fn a_request_waiting_for_the_model_respects_its_own_timeout() {
    let _model = MODEL.lock().await;
    let local = std::sync::Arc::new(Local::load("test", &config()).unwrap());
    let busy = local.clone();
    let hog = tokio::spawn(async move {
        let messages = long_messages();
        let long = long_schema();
        let req = request(&messages, Some(&long), 1800, Duration::from_secs(4));
        busy.chat(&req).await
    });
    // Let the long request reach the model first.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let messages = triage_messages(&ticket());
    let started = Instant::now();
    let req = request(&messages, None, 5, Duration::from_millis(300));
    let err = chat(&local, &req).await.unwrap_err();
    assert!(matches!(err, ProviderError::Timeout(300)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let hog = hog.await.unwrap();
    assert!(matches!(hog, Err(ProviderError::Timeout(4000))), "{hog:?}");
}

#[test]
fn a_schema_is_compiled_once() {
    let _model = MODEL.blocking_lock();
    let backend = backend().unwrap();
    let model =
        LlamaModel::load_from_file(backend, weights(), &LlamaModelParams::default()).unwrap();
    let mut grammars = Grammars::new(&model).unwrap();
    let schema = triage_schema().source;
    grammars.matcher(&schema).unwrap();
    grammars.matcher(&schema).unwrap();
    assert_eq!(grammars.len(), 1);
    grammars
        .matcher(&json!({"type": "object", "properties": {"a": {"type": "integer"}}}))
        .unwrap();
    assert_eq!(grammars.len(), 2);
}

#[tokio::test]
async fn a_prompt_longer_than_the_context_is_rejected() {
    let _model = MODEL.lock().await;
    let local = Local::load(
        "test",
        &LocalModelConfig {
            context_size: NonZeroU32::new(64).unwrap(),
            ..config()
        },
    )
    .unwrap();
    let messages = triage_messages(&ticket());
    let req = request(&messages, None, 5, Duration::from_secs(60));
    let err = chat(&local, &req).await.unwrap_err();
    assert!(
        matches!(&err, ProviderError::Rejected { message, .. } if message.contains("context_size")),
        "{err:?}"
    );
    assert!(!err.class().retryable());
}
