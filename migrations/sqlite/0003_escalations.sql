-- 0003_escalations: the queue of runs a human must finish. A run lands here,
-- in the same transaction as its result, when no model and no baseline rule
-- could answer it, or when its cost was refused before any call. The row
-- names why; the redacted input and every step are in the run's audit trail.

CREATE TABLE escalations (
    run_id       TEXT PRIMARY KEY REFERENCES runs (id),
    pipeline     TEXT NOT NULL,
    event_id     TEXT,
    reason_type  TEXT NOT NULL,            -- the error type that ended the run
    reason_class TEXT NOT NULL,            -- its class (transient, budget, ...)
    reason       TEXT NOT NULL,            -- its message (never holds PII)
    status       TEXT NOT NULL DEFAULT 'open',  -- open | resolved
    created_at   TEXT NOT NULL,
    resolved_at  TEXT
);
CREATE INDEX escalations_status ON escalations (status, created_at);
