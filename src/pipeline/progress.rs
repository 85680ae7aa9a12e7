//! What a streaming run tells its client while it works: each model call
//! as it starts, and the answer text as it arrives. The final, checked
//! result is not a progress event: it comes when the run has committed.

use serde::Serialize;
use tokio::sync::mpsc;

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    /// The run has an id (sent first).
    Started { run_id: String, pipeline: String },
    /// A model call starts; text from earlier attempts is void.
    Attempt { attempt: u32, model: String },
    /// More of the current attempt's answer (unchecked).
    Partial { attempt: u32, delta: String },
}

/// The sending side; a closed channel means the client hung up.
pub type Progress = mpsc::UnboundedSender<RunEvent>;
