use super::*;

fn parse(v: Value) -> Result<ChatRequest, ApiError> {
    ChatRequest::parse(v.to_string().as_bytes())
}

#[test]
fn parses_full_request() {
    let r = parse(json!({
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be terse."},
                     {"role": "user", "content": [{"type": "text", "text": "Hello there"}, {"type": "image_url", "image_url": {"url": "x"}}]}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "triage", "schema": {"type": "object"}, "strict": true}},
        "stream": true, "stream_options": {"include_usage": true},
        "max_completion_tokens": 100, "temperature": 0, "seed": 7
    }))
    .unwrap();
    assert_eq!(r.last_user_text(), "Hello there");
    assert!(matches!(r.format, Format::JsonSchema { .. }));
    assert!(r.stream && r.include_usage);
    assert_eq!(r.max_tokens, Some(100));
    // 2 messages: ceil(9/4)=3 and ceil(11/4)=3 + 85 image, 4 each, 3 priming, schema ceil(17/4)=5.
    assert_eq!(r.prompt_tokens(), 3 + 4 + 3 + 85 + 4 + 3 + 5);
}

#[test]
fn rejects_invalid_requests_with_param() {
    let cases = [
        (
            json!({"messages": [{"role": "user", "content": "x"}]}),
            "model",
            "missing_required_parameter",
        ),
        (
            json!({"model": "m"}),
            "messages",
            "missing_required_parameter",
        ),
        (
            json!({"model": "m", "messages": []}),
            "messages",
            "empty_array",
        ),
        (json!({"model": 3, "messages": []}), "model", "invalid_type"),
        (
            json!({"model": "m", "messages": [{"role": "robot", "content": "x"}]}),
            "messages[0].role",
            "invalid_value",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user"}]}),
            "messages[0].content",
            "missing_required_parameter",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 3}),
            "temperature",
            "invalid_value",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}),
            "max_tokens",
            "integer_out_of_range",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "xml"}}),
            "response_format.type",
            "invalid_value",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "response_format": {"type": "json_schema", "json_schema": {"schema": {}}}}),
            "response_format.json_schema.name",
            "missing_required_parameter",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {}}]}),
            "tools[0].function.name",
            "missing_required_parameter",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "auto"}),
            "tool_choice",
            "invalid_value",
        ),
        (
            json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true}}),
            "stream_options",
            "invalid_value",
        ),
    ];
    for (body, param, code) in cases {
        let e = parse(body.clone()).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.param.as_deref(), Some(param), "{body}: {e:?}");
        assert_eq!(e.code, Some(code), "{body}: {e:?}");
        assert_eq!(e.body()["error"]["type"], "invalid_request_error");
    }
    assert_eq!(ChatRequest::parse(b"{nope").unwrap_err().status, 400);
}

#[test]
fn hashes_and_conversations() {
    let a =
        parse(json!({"model": "m", "messages": [{"role": "user", "content": "first"}]})).unwrap();
    let b = parse(
        json!({"model": "m", "messages": [{"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"}, {"role": "user", "content": "second"}]}),
    )
    .unwrap();
    assert_eq!(a.conversation_key(), b.conversation_key());
    assert_ne!(a.content_hash(), b.content_hash());
    assert_eq!(b.last_user_text(), "second");
}

#[test]
fn source_text_prefers_delimited_data() {
    let r = parse(json!({
        "model": "m",
        "messages": [
            {"role": "system", "content": "be careful"},
            {"role": "user", "content": "Triage this.\nSubject: <untrusted>Charged twice</untrusted>\nBody: <untrusted>Refund one please</untrusted>"},
            {"role": "assistant", "content": "{}"},
            {"role": "user", "content": "Your previous reply was wrong."}
        ]
    }))
    .unwrap();
    assert_eq!(r.source_text(), "Charged twice\nRefund one please");
    let plain =
        parse(json!({"model": "m", "messages": [{"role": "user", "content": "just text"}]}))
            .unwrap();
    assert_eq!(plain.source_text(), "just text");
}

#[test]
fn context_windows_per_model() {
    assert_eq!(context_window("gpt-4o"), 128_000);
    assert_eq!(context_window("gpt-4o-mini"), 128_000);
    assert_eq!(context_window("gpt-4.1"), 1_047_576);
    assert_eq!(context_window("gpt-4.1-mini"), 1_047_576);
    assert_eq!(context_window("seam-sim-1"), 128_000);
    assert_eq!(context_window(TINY_CTX), 512);
}

#[test]
fn context_length_counts_prompt_and_completion() {
    // 400 chars: 100 tokens + 4 + 3 priming = 107 prompt tokens.
    let text = "a".repeat(400);
    let fits =
        parse(json!({"model": TINY_CTX, "messages": [{"role": "user", "content": text}]})).unwrap();
    assert_eq!(fits.prompt_tokens(), 107);
    assert!(fits.check_context().is_ok());
    let exact = parse(json!({"model": TINY_CTX, "max_tokens": 405,
        "messages": [{"role": "user", "content": text}]}))
    .unwrap();
    assert!(exact.check_context().is_ok());

    let over = parse(json!({"model": TINY_CTX, "max_completion_tokens": 406,
        "messages": [{"role": "user", "content": text}]}))
    .unwrap();
    let e = over.check_context().unwrap_err();
    assert_eq!(e.status, 400);
    assert_eq!(
        e.body(),
        json!({"error": {
            "message": "This model's maximum context length is 512 tokens. However, you requested 513 tokens (107 in the messages, 406 in the completion). Please reduce the length of the messages or completion.",
            "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}})
    );

    let long = "b".repeat(2100);
    let prompt_only =
        parse(json!({"model": TINY_CTX, "messages": [{"role": "user", "content": long}]})).unwrap();
    assert_eq!(
        prompt_only.check_context().unwrap_err().message,
        "This model's maximum context length is 512 tokens. However, your messages resulted in 532 tokens. Please reduce the length of the messages."
    );
    // The same prompt fits a real model's window.
    let big = parse(json!({"model": "gpt-4o", "max_tokens": 16_384,
        "messages": [{"role": "user", "content": "b".repeat(2100)}]}))
    .unwrap();
    assert!(big.check_context().is_ok());
}
