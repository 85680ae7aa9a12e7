-- 0009_contracts: the learned payload contract of each source (a pipeline's
-- events, a connector's responses) and the drift found against it. The
-- contract is JSON (paths, types, presence counts, judged shapes); a drift
-- row is one change (new | missing | retyped field), counted while it
-- recurs, open until accepted.

CREATE TABLE contracts (
    source     TEXT PRIMARY KEY,
    contract   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE drift (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    kind         TEXT NOT NULL,               -- new | missing | retyped
    path         TEXT NOT NULL,               -- JSON pointer, array items as *
    was          TEXT,                        -- the contract's types
    now          TEXT,                        -- the payload's types
    first_run_id TEXT,
    first_at     TEXT NOT NULL,
    last_at      TEXT NOT NULL,
    count        INTEGER NOT NULL DEFAULT 1,
    status       TEXT NOT NULL DEFAULT 'open' -- open | accepted
);
CREATE UNIQUE INDEX drift_open ON drift (source, kind, path, coalesce(now, '')) WHERE status = 'open';
