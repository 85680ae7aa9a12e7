//! Layer 6: the append-only, hash-chained audit log. `chain.rs` defines the
//! link; the store appends through it; `verify.rs` walks the whole chain;
//! `show.rs` prints one run's records.

pub mod chain;
mod show;
mod verify;

pub use chain::{GENESIS, link};
pub use show::render_run;
pub use verify::{ChainReport, verify};
