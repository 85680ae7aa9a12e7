//! `seam check` on `[pipelines.NAME.webhook]`: every problem named by file,
//! line and key, and no secret echoed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Workspace, seam};

#[test]
fn check_names_file_line_and_key_of_webhook_problems() {
    let ws = Workspace::triage("http://127.0.0.1:1", "http://127.0.0.1:1/sink");
    let err = ws.check_appended(
        r#"[pipelines.triage.webhook]
scheme = "hmac"
secret = "whsec_inline_value_1234"
encoding = "b32"
tolerance_secs = 5
sceme = "x"
"#,
        &[
            (6, "pipelines.triage.webhook.sceme: unknown field `sceme`"),
            (1, "pipelines.triage.webhook.header: scheme \"hmac\" needs `header`"),
            (4, "pipelines.triage.webhook.encoding: unknown encoding `b32`"),
            (5, "pipelines.triage.webhook.tolerance_secs: only applies"),
            (3, "pipelines.triage.webhook.secret: secrets must be referenced"),
        ],
    );
    assert!(!err.contains("inline_value"), "a secret was echoed: {err}");

    // A good table checks clean, with its secret read from a file.
    let ws = Workspace::triage("http://127.0.0.1:1", "http://127.0.0.1:1/sink");
    std::fs::write(
        ws.dir.path().join("hook.secret"),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
    )
    .unwrap();
    ws.append("[pipelines.triage.webhook]\nscheme = \"standard\"\nsecret = \"file:hook.secret\"\ntolerance_secs = 120\n");
    let out = seam(&["check", "--config", &ws.config_str()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
