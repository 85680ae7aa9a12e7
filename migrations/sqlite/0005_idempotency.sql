-- Idempotency-Key on POST /v1/pipelines/{name}/runs (Stripe semantics):
-- the first result of a key is kept (errors included) and replayed to any
-- repeat with the same body; kept for at least 24 hours.
CREATE TABLE idempotency_keys (
    tenant        TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    pipeline      TEXT NOT NULL,
    -- SHA-256 of the canonical JSON request body.
    body_sha256   TEXT NOT NULL,
    -- NULL while the first request is in flight.
    status_code   INTEGER,
    response_body TEXT,
    -- Until when an in-flight request holds the key (Unix ms); a request
    -- whose process died gives it up after this.
    locked_until_ms INTEGER NOT NULL,
    created_ms    INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (tenant, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);
