//! Layer 2: versioned Jinja templates rendered deterministically; the
//! rendered messages are hashed so any output can be traced and replayed.

mod render;
mod template;
pub mod untrusted;
pub mod window;

pub use render::RenderedPrompt;
pub use template::{PromptTemplate, SYSTEM_FRAGMENT};
