//! `seam eval`: golden cases run through every layer (dry run: nothing is
//! delivered), scored field by field, aggregated per variant (model chain
//! or prompt version), stored, and gated for CI.
//!
//! `policy.rs` the `[pipelines.NAME.eval]` section, `rules.rs` the scoring
//! rules, `set.rs` the golden set (checked before any model is called),
//! `runner.rs` the runs, `report.rs` the aggregate, `gate.rs` the verdict,
//! `table.rs` the side-by-side text report.

pub mod gate;
pub mod policy;
pub mod report;
pub mod rules;
pub mod runner;
pub mod set;
pub mod table;

pub use policy::{EvalPolicy, RawEval};
