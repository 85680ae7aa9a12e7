-- 0006_batches: checkpoints of `seam run --input` batches, so a stopped
-- batch resumes without redoing or losing lines. A batch is keyed by its
-- pipeline, the SHA-256 of its input file and its output path. Results are
-- not stored here (they hold restored PII): they are in the batch's journal
-- file beside the output; a line's run id tells whether its run committed.

CREATE TABLE batches (
    id           TEXT PRIMARY KEY,
    pipeline     TEXT NOT NULL,
    input_sha256 TEXT NOT NULL,
    output       TEXT NOT NULL,
    lines        INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    finished_at  TEXT,
    UNIQUE (pipeline, input_sha256, output)
);

CREATE TABLE batch_lines (
    batch_id TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
    line     INTEGER NOT NULL,          -- 1-based line number in the input
    run_id   TEXT NOT NULL,             -- the id the line's run is given
    status   TEXT NOT NULL,             -- started | done
    PRIMARY KEY (batch_id, line)
);
