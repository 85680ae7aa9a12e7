pub mod admin;
pub mod chat;
pub mod escalations;
pub mod health;
pub mod models;
mod openai_wire;
pub mod runs;
