-- 0001_init: runs, the outbox and the hash-chained audit log.
-- Times are RFC 3339 UTC text; scheduling columns are Unix milliseconds.

CREATE TABLE runs (
    id             TEXT PRIMARY KEY,
    pipeline       TEXT NOT NULL,
    status         TEXT NOT NULL,          -- succeeded | failed | rejected
    event_id       TEXT,
    input_sha256   TEXT,
    prompt_sha256  TEXT,
    prompt_version TEXT,
    model          TEXT,
    output         TEXT,                   -- verified output, PII still redacted
    error_type     TEXT,
    error_class    TEXT,
    error_message  TEXT,
    attempts       INTEGER NOT NULL DEFAULT 0,
    input_tokens   INTEGER NOT NULL DEFAULT 0,
    output_tokens  INTEGER NOT NULL DEFAULT 0,
    cost_micros    INTEGER NOT NULL DEFAULT 0,
    latency_ms     INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    finished_at    TEXT NOT NULL
);
CREATE INDEX runs_pipeline_created ON runs (pipeline, created_at);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    run_id          TEXT NOT NULL REFERENCES runs (id),
    pipeline        TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending',  -- pending | inflight | delivered | dead
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    run_id    TEXT,
    layer     TEXT NOT NULL,
    at        TEXT NOT NULL,
    body      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_run ON audit (run_id, seq);

-- The audit log is append-only.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
