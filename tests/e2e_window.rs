//! Token windowing through the real binary: with a small model window, a
//! long ticket body is cut in the middle until the prompt (counted with
//! the model's tokenizer) fits the window minus the reserved output; the
//! audit says what was cut, not the text. Without the declaration the
//! same ticket is refused by every model
//! before any call (and the baseline rules answer).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;

#[test]
fn a_long_body_is_cut_to_fit_the_window_and_the_cut_is_audited() {
    let mut st = stack("", 0);
    st.ws
        .replace("context_window = 128000", "context_window = 900");
    st.server = server(&st.ws.config());
    let long = format!(
        "My card was charged twice. {} Please refund the second charge.",
        "The invoice history follows in detail. ".repeat(300)
    );
    let ticket = ticket("T-7001", &long);
    let (status, body) = run_triage(&st.server, &ticket);
    // Undeclared, no model can take it (refused before any call) and the
    // baseline rules answer.
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["answered_by"]["step"], "baseline", "{body}");
    assert_eq!(
        body["declined"][0]["error"]["type"],
        "context_length_exceeded"
    );

    st.ws.append(
        "[[pipelines.triage.window]]\npointer = \"/body\"\nstrategy = \"truncate_middle\"\n",
    );
    st.server = server(&st.ws.config());
    let (status, body) = run_triage(&st.server, &ticket);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["model"], "small",
        "the model takes the fitted prompt: {body}"
    );
    let id = body["run_id"].as_str().unwrap();
    let v = get_json(&format!("{}/v1/runs/{id}", st.server.url));
    let prompt = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["layer"] == "prompt")
        .unwrap()["record"]
        .clone();
    let w = &prompt["window"];
    assert_eq!(w["budget"], 600, "900 minus 300 reserved for output: {w}");
    assert!(w["tokens_before"].as_u64().unwrap() > 600, "{w}");
    assert!(w["tokens_after"].as_u64().unwrap() <= 600, "{w}");
    assert_eq!(w["cut"][0]["pointer"], "/body");
    assert_eq!(w["cut"][0]["strategy"], "truncate_middle");
    assert!(
        !w.to_string().contains("invoice history"),
        "sizes only: {w}"
    );
    // The action still carries the whole ticket's fields, not the cut text.
    let d = st.sink.wait_for("the action", |d| !d.is_empty());
    assert_eq!(d[0].body["ticket_id"], "T-7001");
}
