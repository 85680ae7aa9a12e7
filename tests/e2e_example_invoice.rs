//! `examples/invoice-extraction/` as its README runs it: `seam check`, then
//! `seam run invoice` over `invoices.jsonl` against `seam simulate` (which
//! also plays the accounting system). German dates and amounts arrive
//! canonical at the accounting system; the invoice dated `32.10.2026` is
//! refused with its pointer before any model call; every booking carries
//! the declared fields and an idempotency key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};

#[test]
fn invoices_are_normalised_extracted_and_booked() {
    let sim = simulator("");
    let ws = Workspace::example("invoice-extraction", &sim.url);
    let config = ws.config_str();
    let out = seam(&["check", "--config", &config]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let input = ws.dir.path().join("invoices.jsonl");
    let output = ws.dir.path().join("bookings.jsonl");
    let run = seam(&[
        "run",
        "invoice",
        "--config",
        &config,
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    // One of five invoices is refused: the batch says so in its exit code.
    assert_eq!(
        run.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let lines: Vec<Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    let refused = lines.iter().find(|l| l["line"] == 5).unwrap();
    let errors = &refused["error"]["errors"];
    assert_eq!(refused["error"]["type"], "input_invalid", "{refused}");
    assert_eq!(errors[0]["pointer"], "/issued_at", "{refused}");
    assert!(
        errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("32.10.2026"),
        "{refused}"
    );
    assert!(refused["error"]["run_id"].is_string(), "recorded, not lost");

    // What the accounting system received: four bookings, canonical values.
    let got = get_json(&format!("{}/helpdesk/deliveries", sim.url));
    let bookings = got["deliveries"]
        .as_array()
        .unwrap_or_else(|| panic!("{got}"));
    assert_eq!(bookings.len(), 4, "{got}");
    let by_id = |id: &str| {
        bookings
            .iter()
            .find(|b| b["body"]["invoice_id"] == id)
            .unwrap_or_else(|| panic!("no booking for {id}: {got}"))
    };
    let first = by_id("INV-1001");
    assert_eq!(first["body"]["total"], json!(1234.56));
    assert_eq!(
        first["body"]["issued_at"], "2026-11-02T23:00:00Z",
        "03.11.2026 at +01:00"
    );
    assert_eq!(first["body"]["due_at"], "2026-11-16T23:00:00Z");
    assert_eq!(
        by_id("INV-1002")["body"]["issued_at"],
        "2026-10-28T08:30:00Z"
    );
    assert_eq!(
        by_id("INV-1002")["body"]["due_at"],
        Value::Null,
        "empty → null"
    );
    assert_eq!(by_id("INV-1004")["body"]["total"], json!(2810.0));
    for b in bookings {
        let keys: Vec<&str> = b["body"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "category",
                "cost_center",
                "currency",
                "due_at",
                "invoice_id",
                "issued_at",
                "payment_terms_days",
                "run_id",
                "summary",
                "total",
                "vendor"
            ],
        );
        let days = b["body"]["payment_terms_days"].as_i64().unwrap();
        assert!((0..=120).contains(&days));
        assert!(
            b["idempotency_key"].as_str().unwrap().starts_with("seam_"),
            "{b}"
        );
    }
    assert!(Path::new(&ws.dir.path().join(".seam/invoices.db")).exists());
}
