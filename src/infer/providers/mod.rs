//! One file or folder per provider wire format.

pub mod anthropic;
pub mod gemini;
pub mod openai;
#[cfg(test)]
mod test_server;
