-- 0008_pii_maps: the PII placeholder map of an escalated run, kept so that
-- the human who finishes it can act with the real values. Sealed with
-- ChaCha20-Poly1305 under `[pii].key` (nonce in the record, the run id as
-- associated data); written in the run's transaction; deleted once expired.

CREATE TABLE pii_maps (
    run_id        TEXT PRIMARY KEY REFERENCES runs (id),
    sealed        BLOB NOT NULL,      -- version ‖ nonce ‖ ciphertext+tag
    expires_at_ms INTEGER NOT NULL    -- Unix ms
);
CREATE INDEX pii_maps_expiry ON pii_maps (expires_at_ms);
