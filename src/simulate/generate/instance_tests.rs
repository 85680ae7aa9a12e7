use serde_json::{Value, json};

use super::*;

const PROMPT: &str = "Ticket from jane@example.org: I was charged twice for my March invoice \
                      and need a refund of the duplicate billing charge as soon as possible.";

pub(crate) fn triage_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "category": {"type": "string", "enum": ["billing", "bug", "account", "feature_request", "other"]},
            "priority": {"type": "string", "enum": ["low", "normal", "high", "urgent"]},
            "summary": {"type": "string", "maxLength": 200}
        },
        "required": ["category", "priority", "summary"],
        "additionalProperties": false
    })
}

fn schemas() -> Vec<Value> {
    vec![
        triage_schema(),
        json!({"type": "object", "properties": {
            "name": {"type": "string", "minLength": 3, "maxLength": 40},
            "email": {"type": "string", "format": "email"},
            "id": {"type": "string", "format": "uuid"},
            "website": {"type": "string", "format": "uri"},
            "born": {"type": "string", "format": "date"},
            "created_at": {"type": "string", "format": "date-time"},
            "nickname": {"type": ["string", "null"]},
            "active": {"type": "boolean"},
            "nothing": {"type": "null"}
        }, "required": ["name", "email"]}),
        json!({"type": "object", "properties": {
            "age": {"type": "integer", "minimum": 18, "maximum": 99},
            "score": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "qty": {"type": "integer", "multipleOf": 5, "minimum": 3, "maximum": 40},
            "price": {"type": "number", "multipleOf": 0.01, "minimum": 1, "maximum": 2},
            "temp": {"type": "number", "maximum": -50},
            "half": {"type": "number", "multipleOf": 0.5, "exclusiveMinimum": 2, "maximum": 3}
        }, "required": ["age", "score", "qty", "price", "temp", "half"], "additionalProperties": false}),
        json!({"type": "object", "properties": {
            "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b", "c", "d"]},
                     "minItems": 3, "maxItems": 4, "uniqueItems": true},
            "lines": {"type": "array", "items": {"type": "object", "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]{3}$"}, "n": {"type": "integer", "minimum": 1}},
                "required": ["sku", "n"]}, "minItems": 2},
            "empty": {"type": "array", "maxItems": 0},
            "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "boolean"}], "items": false}
        }, "required": ["tags", "lines"]}),
        json!({"$defs": {"addr": {"type": "object", "properties": {"city": {"type": "string"}, "zip": {"type": "string", "minLength": 5, "maxLength": 5}}, "required": ["city", "zip"], "additionalProperties": false}},
               "type": "object", "properties": {"home": {"$ref": "#/$defs/addr"}, "work": {"$ref": "#/$defs/addr"}},
               "required": ["home"]}),
        json!({"definitions": {"node": {"type": "object", "properties": {
                "value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}},
                "required": ["value", "children"], "additionalProperties": false}},
               "$ref": "#/definitions/node"}),
        json!({"type": "object", "properties": {"result": {"oneOf": [
                {"type": "object", "properties": {"ok": {"const": true}, "data": {"type": "string"}}, "required": ["ok", "data"], "additionalProperties": false},
                {"type": "object", "properties": {"ok": {"const": false}, "error": {"type": "string"}}, "required": ["ok", "error"], "additionalProperties": false}
              ]}, "either": {"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 3}]}},
              "required": ["result", "either"]}),
        json!({"allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer", "minimum": 10}}, "required": ["b"]}
        ]}),
        json!({"type": "object", "properties": {
            "answer": {"type": "string"},
            "quotes": {"type": "array", "items": {"type": "object", "properties": {
                "quote": {"type": "string"}, "source_id": {"type": "string"}}, "required": ["quote", "source_id"]}},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "insufficient_information": {"type": "boolean"}
        }, "required": ["answer", "quotes", "confidence"], "additionalProperties": false}),
        json!({"type": "object", "minProperties": 3, "additionalProperties": {"type": "integer"}}),
        json!({"type": "array", "items": {"type": "string", "minLength": 250}, "minItems": 1}),
        json!({"type": "string", "enum": ["x", "y"]}),
        json!({"type": "object", "properties": {"short": {"type": "string", "minLength": 2, "maxLength": 2},
            "v": {"type": "integer", "exclusiveMinimum": 7, "exclusiveMaximum": 9}}, "required": ["short", "v"]}),
    ]
}

#[test]
fn instances_are_valid() {
    let words = Words::new(PROMPT);
    for (i, schema) in schemas().iter().enumerate() {
        let validator = jsonschema::validator_for(schema).unwrap();
        for seed in 0..40 {
            // Without the validator-driven retries, too.
            let v = generate(schema, &words, seed);
            let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "schema {i} seed {seed}: {v}\n{errors:?}");
        }
    }
}

#[test]
fn triage_output_is_plausible() {
    let words = Words::new(PROMPT);
    let schema = triage_schema();
    let v = instance(&schema, &words, 42, None);
    // The prompt mentions billing (and no other category), so that is chosen.
    assert_eq!(v["category"], "billing");
    let summary = v["summary"].as_str().unwrap();
    assert!(summary.ends_with('.') && summary.len() <= 200);
    let used = summary
        .split(' ')
        .filter(|w| PROMPT.contains(w.trim_end_matches('.')))
        .count();
    assert!(used >= 5, "{summary}");
    let cited = instance(&schemas()[8], &words, 1, None);
    for q in cited["quotes"].as_array().unwrap() {
        assert!(PROMPT.contains(q["quote"].as_str().unwrap()), "{q}");
    }
}

#[test]
fn same_seed_same_instance_other_prompt_differs() {
    let schema = triage_schema();
    let a = instance(&schema, &Words::new(PROMPT), 9, None);
    let b = instance(&schema, &Words::new(PROMPT), 9, None);
    assert_eq!(a, b);
    let c = instance(
        &schema,
        &Words::new("The export button crashes the app with an error on save"),
        9,
        None,
    );
    assert_ne!(a["summary"], c["summary"]);
}

#[test]
fn validator_retries_fix_hard_cases() {
    let schema = json!({"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 3},
                        "minItems": 3, "maxItems": 3, "uniqueItems": true});
    let validator = jsonschema::validator_for(&schema).unwrap();
    let words = Words::new(PROMPT);
    for seed in 0..20 {
        let v = instance(&schema, &words, seed, Some(&validator));
        assert!(validator.is_valid(&v), "{v}");
    }
}
