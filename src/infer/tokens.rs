//! Token counting. OpenAI-family models are counted with their real
//! tokenizer (tiktoken's `o200k_base` or `cl100k_base`). Other models get
//! an estimate: one token per 3.5 characters, rounded up, plus 4 tokens of
//! framing per message. English prose runs near 4 characters per token on
//! Claude and Gemini tokenizers, so the estimate errs high, which is the
//! safe side for context-window checks and cost caps.

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

use super::ChatMessage;

/// How a model's tokens are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokenizer {
    /// GPT-4o, GPT-4.1, GPT-5, o-series.
    O200k,
    /// GPT-4, GPT-3.5.
    Cl100k,
    /// Everything else: the documented estimate.
    Estimate,
}

impl Tokenizer {
    /// The tokenizer for a model name as its provider knows it.
    pub fn for_model(upstream: &str) -> Tokenizer {
        let name = upstream.rsplit('/').next().unwrap_or(upstream);
        let o200k = [
            "gpt-4o",
            "gpt-4.1",
            "gpt-4.5",
            "gpt-5",
            "o1",
            "o3",
            "o4",
            "chatgpt-4o",
        ];
        let cl100k = ["gpt-4", "gpt-3.5", "gpt-35"];
        if o200k.iter().any(|p| name.starts_with(p)) {
            Tokenizer::O200k
        } else if cl100k.iter().any(|p| name.starts_with(p)) {
            Tokenizer::Cl100k
        } else {
            Tokenizer::Estimate
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Tokenizer::O200k => "o200k_base",
            Tokenizer::Cl100k => "cl100k_base",
            Tokenizer::Estimate => "estimate",
        }
    }

    fn bpe(self) -> Option<&'static CoreBPE> {
        static O200K: OnceLock<Option<CoreBPE>> = OnceLock::new();
        static CL100K: OnceLock<Option<CoreBPE>> = OnceLock::new();
        match self {
            Tokenizer::O200k => O200K
                .get_or_init(|| tiktoken_rs::o200k_base().ok())
                .as_ref(),
            Tokenizer::Cl100k => CL100K
                .get_or_init(|| tiktoken_rs::cl100k_base().ok())
                .as_ref(),
            Tokenizer::Estimate => None,
        }
    }

    /// Tokens in a piece of text.
    pub fn count(self, text: &str) -> u64 {
        match self.bpe() {
            Some(bpe) => bpe.encode_ordinary(text).len() as u64,
            None => (text.chars().count() as u64 * 2).div_ceil(7),
        }
    }

    /// A cheap upper bound of [`count_messages`](Self::count_messages): a
    /// byte-level BPE token holds at least one byte, so bytes bound tokens.
    /// For the estimate, the estimate itself (it is already cheap).
    pub fn upper_bound(self, messages: &[ChatMessage]) -> u64 {
        if self == Tokenizer::Estimate {
            return self.count_messages(messages);
        }
        let mut total = 3;
        for m in messages {
            total += 3 + m.content.len() as u64;
            for call in &m.tool_calls {
                total += 3 + (call.name.len() + call.arguments.len()) as u64;
            }
        }
        total
    }

    /// Whether [`upper_bound`](Self::upper_bound) is the exact count.
    pub fn bound_is_exact(self) -> bool {
        self == Tokenizer::Estimate
    }

    /// Prompt tokens of a chat: OpenAI's accounting of 3 tokens of framing
    /// per message and 3 to prime the reply (4 per message when estimating).
    pub fn count_messages(self, messages: &[ChatMessage]) -> u64 {
        let framing = if self == Tokenizer::Estimate { 4 } else { 3 };
        let mut total = 3;
        for m in messages {
            total += framing + self.count(&m.content);
            for call in &m.tool_calls {
                total += framing + self.count(&call.name) + self.count(&call.arguments);
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_map_to_their_tokenizers() {
        assert_eq!(Tokenizer::for_model("gpt-4o-mini"), Tokenizer::O200k);
        assert_eq!(Tokenizer::for_model("openai/gpt-4.1"), Tokenizer::O200k);
        assert_eq!(Tokenizer::for_model("gpt-4-turbo"), Tokenizer::Cl100k);
        assert_eq!(
            Tokenizer::for_model("claude-sonnet-4-5"),
            Tokenizer::Estimate
        );
    }

    #[test]
    fn real_tokenizer_counts_match_tiktoken() {
        // Reference counts from OpenAI's cookbook ("How to count tokens
        // with tiktoken"): "tiktoken is great!" is 6 tokens in cl100k_base.
        assert_eq!(Tokenizer::Cl100k.count("tiktoken is great!"), 6);
        assert_eq!(Tokenizer::O200k.count("hello world"), 2);
        assert_eq!(Tokenizer::Cl100k.count("hello world"), 2);
        assert_eq!(Tokenizer::O200k.count(""), 0);
    }

    #[test]
    fn estimate_errs_high_for_english() {
        let text = "The printer on floor 3 is jammed again and nobody can print invoices.";
        assert!(Tokenizer::Estimate.count(text) >= Tokenizer::O200k.count(text));
        let msgs = [ChatMessage::system("be brief"), ChatMessage::user("hi")];
        assert_eq!(Tokenizer::O200k.count_messages(&msgs), 3 + 3 + 2 + 3 + 1);
        for t in [Tokenizer::O200k, Tokenizer::Cl100k, Tokenizer::Estimate] {
            assert!(t.upper_bound(&msgs) >= t.count_messages(&msgs), "{t:?}");
        }
        let odd = [ChatMessage::user("ünïcödé 🎉 ✓ 東京 ".repeat(20))];
        assert!(Tokenizer::O200k.upper_bound(&odd) >= Tokenizer::O200k.count_messages(&odd));
    }
}
