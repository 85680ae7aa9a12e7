-- 0010_feedback: ground truth for runs (from an API client or a reviewer):
-- the true values of some or all output fields, how many of them the run
-- got right, and the run's redacted input and output at the time, so it
-- can be exported as a golden case.

CREATE TABLE feedback (
    id             INTEGER PRIMARY KEY,
    run_id         TEXT NOT NULL,
    pipeline       TEXT NOT NULL,
    truth          TEXT NOT NULL,     -- JSON object: field -> true value
    fields_total   INTEGER NOT NULL,
    fields_correct INTEGER NOT NULL,
    source         TEXT NOT NULL,     -- api | review
    note           TEXT,
    created_at     TEXT NOT NULL
);
CREATE INDEX feedback_pipeline ON feedback (pipeline, id);
CREATE INDEX feedback_run ON feedback (run_id);
