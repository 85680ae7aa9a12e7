-- 0002_budgets: the tenant of each run, the budget ledger with its
-- reservations, and alert records.
-- Money is integer micro-dollars; times are RFC 3339 UTC text, deadlines
-- Unix milliseconds.

ALTER TABLE runs ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
CREATE INDEX runs_created ON runs (created_at);

-- One row per budget, subject and period: the source of truth for what a
-- budget has spent and holds reserved. `name` is the budget's configured
-- name (a pipeline, a tenant, or '*'); `subject` the pipeline or tenant the
-- row counts ('*' for global budgets). A call may only reserve when
-- spent + reserved + amount <= limit on every row it touches.
CREATE TABLE budget_ledger (
    scope           TEXT NOT NULL,      -- pipeline | tenant | global
    name            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    period          TEXT NOT NULL,      -- day | month
    period_key      TEXT NOT NULL,      -- 2026-11-23 | 2026-11 (UTC)
    limit_micros    INTEGER NOT NULL,
    spent_micros    INTEGER NOT NULL DEFAULT 0 CHECK (spent_micros >= 0),
    reserved_micros INTEGER NOT NULL DEFAULT 0 CHECK (reserved_micros >= 0),
    refusals        INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (scope, name, subject, period, period_key)
);
CREATE INDEX budget_ledger_period ON budget_ledger (period_key);

-- A reservation held by a call in flight. `open` until settled (then
-- deleted); `expired` once a sweep has moved it into spent at its estimate
-- (its holder crashed or dropped it), kept so that a late settle can still
-- correct spent by (actual - estimate).
CREATE TABLE budget_reservations (
    id            TEXT PRIMARY KEY,
    amount_micros INTEGER NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open',   -- open | expired
    created_at    TEXT NOT NULL,
    created_ms    INTEGER NOT NULL,
    expires_ms    INTEGER NOT NULL
);
CREATE INDEX budget_reservations_due ON budget_reservations (status, expires_ms);

-- The ledger rows a reservation holds money on.
CREATE TABLE budget_reservation_rows (
    reservation_id TEXT NOT NULL REFERENCES budget_reservations (id) ON DELETE CASCADE,
    scope          TEXT NOT NULL,
    name           TEXT NOT NULL,
    subject        TEXT NOT NULL,
    period         TEXT NOT NULL,
    period_key     TEXT NOT NULL,
    PRIMARY KEY (reservation_id, scope, name, subject, period, period_key)
);

-- Alerts raised by checks (daily cost against its average, ...), at most
-- one per kind, subject and day.
CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,      -- daily_cost
    subject         TEXT NOT NULL,      -- the pipeline
    day             TEXT NOT NULL,      -- 2026-11-23 (UTC)
    observed_micros INTEGER NOT NULL,
    baseline_micros INTEGER NOT NULL,
    message         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open',   -- open | resolved
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (kind, subject, day)
);
