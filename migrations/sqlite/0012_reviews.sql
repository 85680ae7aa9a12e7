-- 0012_reviews: the escalation queue becomes the human review queue. A run
-- held for review keeps, with its escalation row, what the reviewer needs
-- to decide and what approving it delivers: the redacted input, the
-- proposed output and action body (PII as placeholders; the real values
-- are in the run's sealed `pii_maps` row), the sink, the idempotency key,
-- and the pointers the reason names. The decision (approved | rejected),
-- who made it, the note and any corrected output are written in the same
-- transaction as the action's outbox row and the decision's audit record.
-- `status` stays open | resolved, so the escalation view is unchanged.

ALTER TABLE escalations ADD COLUMN reason_pointers TEXT;   -- JSON array of pointers
ALTER TABLE escalations ADD COLUMN input TEXT;             -- redacted input (JSON)
ALTER TABLE escalations ADD COLUMN proposed_output TEXT;   -- redacted output (JSON)
ALTER TABLE escalations ADD COLUMN proposed_body TEXT;     -- redacted action body (JSON)
ALTER TABLE escalations ADD COLUMN sink TEXT;              -- http | postgres
ALTER TABLE escalations ADD COLUMN idempotency_key TEXT;
ALTER TABLE escalations ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0;
ALTER TABLE escalations ADD COLUMN decision TEXT;          -- approved | rejected
ALTER TABLE escalations ADD COLUMN decided_by TEXT;
ALTER TABLE escalations ADD COLUMN decision_note TEXT;
ALTER TABLE escalations ADD COLUMN decided_output TEXT;    -- corrected output, redacted (JSON)
CREATE INDEX escalations_pipeline ON escalations (pipeline, status, created_at);
