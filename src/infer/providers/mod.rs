//! One file per provider wire format.

pub mod openai;
