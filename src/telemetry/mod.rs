//! Layer 7: metrics for every layer, exported in Prometheus text format.
//! Code reports what happened through [`Metrics`]' typed methods, never by
//! touching metric families directly.

mod metrics;

pub use metrics::Metrics;
