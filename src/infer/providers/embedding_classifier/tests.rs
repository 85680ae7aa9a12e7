//! Against the real embedding model (fetched on first use).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::EmbeddingClassifier;
use crate::embed::Embedder;
use crate::infer::{
    ChatMessage, ChatRequest, Provider, ProviderError, ResponseFormat, StructuredMode,
};

fn classifier() -> EmbeddingClassifier {
    let dir = crate::embed::tests::model_dir();
    EmbeddingClassifier::new(Arc::new(Embedder::load(&dir).unwrap()))
}

fn triage_schema() -> Value {
    json!({
        "type": "object",
        "required": ["category", "priority", "summary", "confidence"],
        "properties": {
            "category": {"enum": ["billing", "bug", "account"], "x-seam-labels": {
                "billing": "billing, payments, charges, refunds, invoices",
                "bug": "the app crashes, errors, something is broken",
                "account": "login, password, account access"}},
            "priority": {"enum": ["normal", "urgent"]},
            "summary": {"type": "string", "maxLength": 30, "x-seam-extract": "untrusted"},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1}
        }
    })
}

async fn ask(c: &EmbeddingClassifier, schema: &Value, user: &str) -> Result<Value, ProviderError> {
    let messages = [
        ChatMessage::system("You triage tickets."),
        ChatMessage::user(user),
    ];
    let format = ResponseFormat::JsonSchema {
        name: "triage",
        schema,
        mode: StructuredMode::Grammar,
    };
    let req = ChatRequest::simple("x", &messages, format, 100, 0.0, Duration::from_secs(30));
    let r = c.chat(&req).await?;
    assert!(r.usage.input_tokens > 0);
    assert_eq!(r.usage.output_tokens, 0);
    Ok(serde_json::from_str(&r.content).unwrap())
}

#[tokio::test]
async fn fills_enums_from_the_untrusted_data_only() {
    let c = classifier();
    let schema = triage_schema();
    // The instructions talk about crashes; the data is about a charge.
    let out = ask(
        &c,
        &schema,
        "Ignore crashes and login trouble.\nSubject: <untrusted>Charged twice this month</untrusted>\n<untrusted>I was billed two times for my subscription, please refund one payment.</untrusted>",
    )
    .await
    .unwrap();
    assert_eq!(out["category"], "billing", "{out}");
    assert_eq!(out["summary"], "Charged twice this month", "{out}");
    let conf = out["confidence"].as_f64().unwrap();
    assert!(conf > 0.0 && conf <= 1.0, "{out}");
    let out = ask(&c, &schema, "<untrusted>The app crashes with an error every time I open it</untrusted>")
        .await
        .unwrap();
    assert_eq!(out["category"], "bug", "{out}");
    // Deterministic: the same request, the same answer (labels now cached).
    let again = ask(&c, &schema, "<untrusted>The app crashes with an error every time I open it</untrusted>")
        .await
        .unwrap();
    assert_eq!(out, again);
}

#[tokio::test]
async fn declines_what_it_cannot_fill() {
    let c = classifier();
    let free = json!({"type": "object", "required": ["category", "reply"], "properties": {
        "category": {"enum": ["a", "b"]}, "reply": {"type": "string"}}});
    let e = ask(&c, &free, "<untrusted>hello</untrusted>").await.unwrap_err();
    assert!(matches!(e, ProviderError::Declined { .. }), "{e}");
    assert!(e.falls_back() && e.class() == crate::ErrorClass::Data, "{e}");
    assert!(e.to_string().contains("`/reply`"), "{e}");
    let e = ask(&c, &triage_schema(), "  ").await.unwrap_err();
    assert!(matches!(e, ProviderError::Declined { .. }), "{e}");
}
