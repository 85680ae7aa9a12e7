-- 0004_queue: the durable queue of background runs (async API calls and
-- webhook events). A row is committed before the event is acknowledged,
-- claimed by a worker under a lease, and ends `done` (its run answered or
-- escalated, in the run's own transaction) or `dead` (the dead-letter queue,
-- with the reason). The event itself is needed to run it, so it is kept
-- while the row can still run (queued, leased, dead) and cleared when done.

CREATE TABLE queue (
    id              TEXT PRIMARY KEY,          -- the run id the event gets
    pipeline        TEXT NOT NULL,
    tenant          TEXT NOT NULL DEFAULT 'default',
    source          TEXT NOT NULL,             -- api | webhook
    dedupe_key      TEXT,                      -- delivery or event id: one row per key
    input           TEXT,                      -- the event as received; NULL once done
    status          TEXT NOT NULL DEFAULT 'queued',  -- queued | leased | done | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,          -- Unix ms
    lease_until     INTEGER,                   -- Unix ms
    error_type      TEXT,
    error_class     TEXT,
    error_message   TEXT,
    created_at      TEXT NOT NULL,
    finished_at     TEXT
);
CREATE UNIQUE INDEX queue_dedupe ON queue (pipeline, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX queue_due ON queue (pipeline, status, next_attempt_at);
