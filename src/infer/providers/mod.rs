//! One file or folder per provider wire format.

pub mod anthropic;
pub mod embedding_classifier;
pub mod gemini;
#[cfg(feature = "local")]
pub mod local;
pub mod openai;
#[cfg(test)]
mod test_server;
