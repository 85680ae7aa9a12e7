-- 0014_eval_runs: results of `seam eval`, one row per variant (model
-- chain / prompt version) per run of a golden set. The previous row for
-- the same pipeline, variant and set hash is the next run's baseline;
-- `seam eval history` lists them over time.

CREATE TABLE eval_runs (
    id                   INTEGER PRIMARY KEY,
    pipeline             TEXT NOT NULL,
    variant              TEXT NOT NULL,     -- default | model:NAME | prompt:VERSION | both
    models               TEXT NOT NULL,     -- JSON array: the chain asked
    prompt_version       TEXT NOT NULL,
    set_path             TEXT NOT NULL,
    set_sha256           TEXT NOT NULL,
    cases                INTEGER NOT NULL,
    score                REAL NOT NULL,
    fields               TEXT NOT NULL,     -- JSON object: field -> {rule, score, cases}
    hallucination_rate   REAL NOT NULL,
    refusal_rate         REAL NOT NULL,
    latency_p50_ms       INTEGER NOT NULL,
    latency_p95_ms       INTEGER NOT NULL,
    cost_micros_total    INTEGER NOT NULL,
    cost_micros_per_item INTEGER NOT NULL,
    input_tokens         INTEGER NOT NULL,
    output_tokens        INTEGER NOT NULL,
    passed               INTEGER NOT NULL,  -- the gate's verdict
    seam_version         TEXT NOT NULL,
    started_at           TEXT NOT NULL,
    finished_at          TEXT NOT NULL
);
CREATE INDEX eval_runs_baseline ON eval_runs (pipeline, variant, set_sha256, id);
