pub mod admin;
pub mod background;
pub mod chat;
pub mod dlq;
pub mod escalations;
pub mod health;
pub mod models;
mod openai_wire;
pub mod runs;
