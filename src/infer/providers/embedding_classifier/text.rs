//! The data of a chat request: what the classifier compares with labels.

use crate::infer::{ChatMessage, Role};

const OPEN: &str = "<untrusted>";
const CLOSE: &str = "</untrusted>";

/// The `<untrusted>` blocks of the user messages, trimmed, in order (the
/// data, not the instructions around it); each user message's whole text
/// when it has none. Empty blocks are left out.
pub fn data_blocks(messages: &[ChatMessage]) -> Vec<String> {
    let mut blocks = Vec::new();
    for m in messages.iter().filter(|m| m.role == Role::User) {
        let found = untrusted_blocks(&m.content);
        if found.is_empty() {
            push_nonempty(&mut blocks, &m.content);
        } else {
            for b in found {
                push_nonempty(&mut blocks, b);
            }
        }
    }
    blocks
}

fn push_nonempty(blocks: &mut Vec<String>, text: &str) {
    let t = text.trim();
    if !t.is_empty() {
        blocks.push(t.to_string());
    }
}

fn untrusted_blocks(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find(CLOSE) else {
            // An unclosed block runs to the end of the message.
            out.push(after);
            break;
        };
        out.push(&after[..end]);
        rest = &after[end + CLOSE.len()..];
    }
    out
}

/// `text` on one line (runs of whitespace as one space), cut to at most
/// `max_chars` characters at a word boundary when there is one.
pub fn extract(text: &str, max_chars: Option<usize>) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let Some(max) = max_chars else {
        return one_line;
    };
    if one_line.chars().count() <= max {
        return one_line;
    }
    let cut: String = one_line.chars().take(max).collect();
    match cut.rfind(' ') {
        Some(i) if i > 0 => cut[..i].to_string(),
        _ => cut,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_of_user_messages_only() {
        let msgs = [
            ChatMessage::system("<untrusted>not this</untrusted>"),
            ChatMessage::user(
                "Triage.\nSubject: <untrusted>Double charge</untrusted>\nBody:\n<untrusted>\nBilled twice.\n</untrusted>",
            ),
            ChatMessage::user("  plain text  "),
            ChatMessage::user("<untrusted> </untrusted><untrusted>open ended"),
        ];
        assert_eq!(
            data_blocks(&msgs),
            vec!["Double charge", "Billed twice.", "plain text", "open ended"]
        );
    }

    #[test]
    fn extracts_are_one_line_and_cut_at_a_word() {
        assert_eq!(extract(" a\n b  c ", None), "a b c");
        assert_eq!(extract("hello wide world", Some(12)), "hello wide");
        assert_eq!(extract("abcdef", Some(3)), "abc");
        assert_eq!(extract("short", Some(10)), "short");
    }
}
