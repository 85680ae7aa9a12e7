use serde_json::json;

use super::*;

fn normalizer(toml_text: &str) -> Normalizer {
    let raw: RawNormalize = toml::from_str(toml_text).unwrap();
    Normalizer::load(&raw).unwrap()
}

fn problems(toml_text: &str) -> Vec<(String, String)> {
    let raw: RawNormalize = toml::from_str(toml_text).unwrap();
    Normalizer::load(&raw)
        .unwrap_err()
        .into_iter()
        .map(|(path, m)| (path.join("."), m))
        .collect()
}

const INVOICE: &str = r#"
[fields]
"/issued_at" = { kind = "datetime", order = "dmy", offset = "+01:00" }
"/total" = { kind = "number", locale = "de", currency = true }
"/customer/name" = { kind = "text" }
"/notes" = { kind = "text", empty = "null" }
"/po" = { kind = "text", empty = "missing" }
"/ref" = { kind = "text", empty = "empty" }
"/lines/*/amount" = { kind = "number", locale = "de" }
"#;

#[test]
fn declared_fields_become_canonical() {
    let n = normalizer(INVOICE);
    let input = json!({
        "issued_at": "03.11.2026 14:05",
        "total": "1.234,56 €",
        "customer": {"name": "  Zoe\u{308} Mu\u{0}ller "},
        "po": "  ",
        "ref": null,
        "lines": [{"amount": "12,50"}, {"amount": 3}],
        "free": "tab\tok\u{7}"
    });
    let (out, changed, errors) = n.apply(&input);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        out,
        json!({
            "issued_at": "2026-11-03T13:05:00Z",
            "total": 1234.56,
            "customer": {"name": "Zoë Muller"},
            "notes": null,
            "ref": "",
            "lines": [{"amount": 12.5}, {"amount": 3}],
            "free": "tab\tok"
        })
    );
    let mut kinds: Vec<(String, &str)> = changed
        .iter()
        .map(|c| (c.pointer.clone(), c.kind))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("/customer/name".into(), "text"),
            ("/free".into(), "text"),
            ("/issued_at".into(), "datetime"),
            ("/lines/0/amount".into(), "number"),
            ("/notes".into(), "text"),
            ("/po".into(), "text"),
            ("/ref".into(), "text"),
            ("/total".into(), "number"),
        ]
    );
}

#[test]
fn every_bad_value_is_a_field_error_with_its_pointer() {
    let n = normalizer(INVOICE);
    let input = json!({
        "issued_at": "31/13/2026",
        "total": "1.23.4,5",
        "customer": {"name": ["x"]},
        "lines": [{"amount": "1.2"}, {"amount": "ok"}]
    });
    let (_, _, errors) = n.apply(&input);
    let got: Vec<(&str, &str, &str)> = errors
        .iter()
        .map(|e| {
            (
                e.pointer.as_str(),
                e.schema_path.as_str(),
                e.message.as_str(),
            )
        })
        .collect();
    assert_eq!(errors.len(), 5, "{got:?}");
    assert!(got.contains(&(
        "/issued_at",
        "normalize:/issued_at",
        "`31/13/2026` is not a date in day/month/year order: month 13 does not exist"
    )));
    assert!(
        got.iter()
            .any(|(p, _, m)| *p == "/total" && m.contains("grouping"))
    );
    assert!(
        got.iter()
            .any(|(p, _, m)| *p == "/customer/name" && m.contains("not an array"))
    );
    assert!(
        got.iter()
            .any(|(p, s, _)| *p == "/lines/0/amount" && *s == "normalize:/lines/*/amount")
    );
    assert!(got.iter().any(|(p, _, _)| *p == "/lines/1/amount"));
}

#[test]
fn empty_forms_fold_into_one() {
    let n = normalizer(
        r#"
[fields]
"/a" = { kind = "datetime", empty = "null" }
"/b" = { kind = "number", empty = "missing" }
"/c" = { kind = "number" }
"#,
    );
    for input in [
        json!({}),
        json!({"a": null, "b": null}),
        json!({"a": "", "b": " "}),
    ] {
        let (out, _, errors) = n.apply(&input);
        assert!(errors.is_empty(), "{input}: {errors:?}");
        assert_eq!(out, json!({"a": null}), "{input}");
    }
    // Undeclared: null and missing are the schema's business, "" is an error.
    let (out, _, errors) = n.apply(&json!({"c": null}));
    assert!(errors.is_empty());
    assert_eq!(out, json!({"a": null, "c": null}));
    let (_, _, errors) = n.apply(&json!({"c": ""}));
    assert_eq!(errors[0].pointer, "/c");
    assert!(errors[0].message.contains("declare `empty`"), "{errors:?}");
}

#[test]
fn text_everywhere_by_default_and_only_declared_on_request() {
    let input = json!({"a": "x\u{0}", "b": ["e\u{301}"], "k\u{0}": 1});
    let (out, changed, _) = Normalizer::default().apply(&input);
    // Values are cleaned; object keys are left alone.
    assert_eq!(out, json!({"a": "x", "b": ["é"], "k\u{0}": 1}));
    assert_eq!(changed.len(), 2);
    let declared = normalizer("text = \"declared\"\n[fields]\n\"/b/0\" = { kind = \"text\" }");
    let (out, _, _) = declared.apply(&input);
    assert_eq!(out, json!({"a": "x\u{0}", "b": ["é"], "k\u{0}": 1}));
}

#[test]
fn text_rules_turn_scalars_into_strings() {
    let n = normalizer("[fields]\n\"/id\" = { kind = \"text\" }");
    let (out, _, _) = n.apply(&json!({"id": 12345}));
    assert_eq!(out, json!({"id": "12345"}));
}

#[test]
fn bad_rules_name_their_key() {
    let got = problems(
        r#"
text = "some"
[fields]
"name" = { kind = "text" }
"/a" = { kind = "date" }
"/b" = { kind = "datetime", order = "ydm", offset = "Europe/Berlin", unix = "us", locale = "de" }
"/c" = { kind = "number", locale = "xx", order = "dmy" }
"/d" = { kind = "text", empty = "none", currency = true }
"#,
    );
    let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
    for want in [
        "text",
        "fields.name",
        "fields./a.kind",
        "fields./b.order",
        "fields./b.offset",
        "fields./b.unix",
        "fields./b.locale",
        "fields./c.locale",
        "fields./c.order",
        "fields./d.empty",
        "fields./d.currency",
    ] {
        assert!(keys.contains(&want), "{want} not in {got:?}");
    }
    assert!(
        got.iter()
            .any(|(_, m)| m.contains("time zone names are not supported")),
        "{got:?}"
    );
}

#[test]
fn odd_text_never_panics() {
    let n = normalizer(
        r#"
[fields]
"/d" = { kind = "datetime", order = "mdy", unix = "auto" }
"/e" = { kind = "datetime" }
"/n" = { kind = "number", locale = "fr", currency = true, percent = true }
"/m" = { kind = "number", locale = "in" }
"#,
    );
    let samples = [
        "",
        " ",
        "€",
        "12€",
        "€€€€",
        "1€2",
        "ÄÖÜ1",
        "(",
        ")",
        "()",
        "-",
        "--1",
        "1--",
        "%",
        "1%%",
        "/",
        "1/",
        "1//2",
        "1/2/",
        "12/12/12/12",
        "2026-",
        "2026-11-",
        "2026-11-03T",
        "2026-11-03T1",
        "2026-11-03T14:",
        "2026-11-03T14:05:",
        "2026-11-03T14:05:00.",
        "2026-11-03T14:05:00+",
        "2026-11-03T14:05:00+0",
        "20261103T",
        "Tue,",
        "Tue, 3",
        "3 Nov",
        "3 Nov 2026 14",
        "3 Nov 2026 14:05 +",
        "3 Nov 2026 14:05 XYZ",
        "9999999999999999999",
        "-9999999999999999999",
        "1e400",
        "9999-12-31T23:59:59-23:59",
        "0000-01-01T00:00:00+01:00",
        "\u{202f}",
        "1\u{202f}",
        "٣/١١/٢٠٢٦",
        "３/１１/２０２６",
        "12:30 PM",
    ];
    for s in samples {
        let input = json!({"d": s, "e": s, "n": s, "m": s});
        let _ = n.apply(&input);
    }
    for v in [
        json!(1e300),
        json!(-1e300),
        json!(u64::MAX),
        json!(i64::MIN),
    ] {
        let _ = n.apply(&json!({"d": v, "e": v, "n": v, "m": v}));
    }
}
