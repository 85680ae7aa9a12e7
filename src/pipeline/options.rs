//! How a run may differ from an ordinary one: a caller-chosen run id (a
//! batch checkpoints it first; a background run takes its queue row's id
//! and settles that row), and for replays a dry run and the run replayed.

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The id to give the run (default: a new UUIDv7).
    pub run_id: Option<String>,
    /// Record the run but queue no action; its `act` record says `dry_run`.
    pub dry_run: bool,
    /// The run this one replays (recorded first in its trail).
    pub replay_of: Option<String>,
    /// The queue row a background run settles when it commits (its id is
    /// `run_id`). Such a run is not escalated on a transient failure: its
    /// worker tries again later, then dead-letters it.
    pub queue: Option<crate::store::QueueSettle>,
}
