pub mod health;
pub mod runs;
