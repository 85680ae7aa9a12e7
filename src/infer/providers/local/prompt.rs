//! Messages → the prompt text, in the model's own chat template (read from
//! the GGUF metadata and applied by llama.cpp), or ChatML when the file has
//! no template or llama.cpp does not recognise it.

use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};

use super::error::LocalError;
use crate::infer::ChatMessage;

pub enum ChatTemplate {
    /// The template stored in the GGUF file.
    Model(LlamaChatTemplate),
    /// ChatML, rendered here.
    ChatMl,
}

impl ChatTemplate {
    /// The model's template if llama.cpp can apply it, else ChatML.
    pub fn of(model: &LlamaModel) -> ChatTemplate {
        let Ok(template) = model.chat_template(None) else {
            return ChatTemplate::ChatMl;
        };
        let probe = [ChatMessage::system("s"), ChatMessage::user("u")];
        let from_model = ChatTemplate::Model(template);
        match from_model.render(model, &probe) {
            Ok(_) => from_model,
            Err(e) => {
                tracing::warn!(error = %e, "the model's chat template is not supported; using ChatML");
                ChatTemplate::ChatMl
            }
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            ChatTemplate::Model(_) => "gguf",
            ChatTemplate::ChatMl => "chatml",
        }
    }

    /// The prompt, ending where the assistant's reply begins.
    pub fn render(
        &self,
        model: &LlamaModel,
        messages: &[ChatMessage],
    ) -> Result<String, LocalError> {
        match self {
            ChatTemplate::ChatMl => Ok(chatml(messages)),
            ChatTemplate::Model(template) => {
                let chat = messages
                    .iter()
                    .map(|m| LlamaChatMessage::new(m.role.as_str().to_string(), m.content.clone()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| LocalError::Template(e.to_string()))?;
                model
                    .apply_chat_template(template, &chat, true)
                    .map_err(|e| LocalError::Template(e.to_string()))
            }
        }
    }
}

/// ChatML: `<|im_start|>ROLE\nCONTENT<|im_end|>\n` per message, then the
/// opening of the assistant's turn.
pub fn chatml(messages: &[ChatMessage]) -> String {
    let mut out = String::new();
    for m in messages {
        out.push_str("<|im_start|>");
        out.push_str(m.role.as_str());
        out.push('\n');
        out.push_str(&m.content);
        out.push_str("<|im_end|>\n");
    }
    out.push_str("<|im_start|>assistant\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_frames_each_message_and_opens_the_reply() {
        let text = chatml(&[ChatMessage::system("be brief"), ChatMessage::user("hi")]);
        assert_eq!(
            text,
            "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(chatml(&[]), "<|im_start|>assistant\n");
    }
}
