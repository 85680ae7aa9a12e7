//! Pure rendering: the same input always gives the same messages and hash.

use serde_json::{Value, json};

use super::template::{PromptTemplate, SYSTEM, SYSTEM_FRAGMENT, USER};
use crate::infer::ChatMessage;

/// The messages sent to the model and their hash.
#[derive(Debug, Clone)]
pub struct RenderedPrompt {
    pub messages: Vec<ChatMessage>,
    /// SHA-256 of the canonical JSON of `messages`.
    pub sha256: String,
}

impl PromptTemplate {
    /// Render with `input` (already validated and redacted).
    pub fn render(&self, pipeline: &str, input: &Value) -> Result<RenderedPrompt, String> {
        self.render_with(pipeline, input, &json!({}))
    }

    /// Render with `input` and the pipeline's fetched `context` (each
    /// step's redacted answer by step name; `null` for a failed optional
    /// step), both already redacted.
    pub fn render_with(
        &self,
        pipeline: &str,
        input: &Value,
        context: &Value,
    ) -> Result<RenderedPrompt, String> {
        let ctx = json!({ "input": input, "pipeline": pipeline, "context": context });
        let render = |name: &str| -> Result<String, String> {
            let tmpl = self.env.get_template(name).map_err(|e| e.to_string())?;
            tmpl.render(&ctx).map_err(|e| {
                let line = e.line().map(|l| format!(" (line {l})")).unwrap_or_default();
                format!("template `{}`{line}: {e}", self.path.display())
            })
        };
        let mut system = SYSTEM_FRAGMENT.to_string();
        if self.has_system {
            system.push_str("\n\n");
            system.push_str(render(SYSTEM)?.trim());
        }
        let messages = vec![
            ChatMessage::system(system),
            ChatMessage::user(render(USER)?.trim().to_string()),
        ];
        let sha256 = crate::canonical::sha256_hex(crate::canonical::to_string(&json!(messages)));
        Ok(RenderedPrompt { messages, sha256 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn template(src: &str) -> (tempfile::NamedTempFile, PromptTemplate) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(src.as_bytes()).unwrap();
        let t = PromptTemplate::load(f.path(), None).unwrap();
        (f, t)
    }

    #[test]
    fn same_input_same_hash() {
        let (_f, t) = template("Ticket {{ input.id }}: <untrusted>{{ input.body }}</untrusted>");
        let a = t.render("p", &json!({"id": 7, "body": "hi"})).unwrap();
        let b = t.render("p", &json!({"body": "hi", "id": 7})).unwrap();
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(a.messages[1].content, "Ticket 7: <untrusted>hi</untrusted>");
        let c = t.render("p", &json!({"id": 8, "body": "hi"})).unwrap();
        assert_ne!(a.sha256, c.sha256);
    }

    #[test]
    fn context_is_rendered_beside_the_input() {
        let (_f, t) = template(
            "{{ input.id }} {% if context.company %}{{ context.company.name }}{% else %}unknown{% endif %}",
        );
        let ctx = json!({"company": {"name": "Acme"}});
        let r = t.render_with("p", &json!({"id": 7}), &ctx).unwrap();
        assert_eq!(r.messages[1].content, "7 Acme");
        let r = t
            .render_with("p", &json!({"id": 7}), &json!({"company": null}))
            .unwrap();
        assert_eq!(r.messages[1].content, "7 unknown");
    }

    #[test]
    fn missing_variable_is_an_error() {
        let (_f, t) = template("{{ input.nope }}");
        assert!(t.render("p", &json!({})).is_err());
    }

    #[test]
    fn syntax_error_names_line() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"line one\n{% if %}").unwrap();
        let err = PromptTemplate::load(f.path(), None).unwrap_err();
        assert!(err.1.contains("line 2"), "{}", err.1);
    }
}
