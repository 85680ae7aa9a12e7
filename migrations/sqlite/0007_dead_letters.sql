-- 0007_dead_letters: the dead-letter queue spans both queues. A background
-- run given up on keeps the layer it failed at; an action whose delivery
-- was given up on keeps its error's type and class and when it died. Both
-- count how often they were taken out of the dead-letter queue.

ALTER TABLE queue ADD COLUMN error_layer TEXT;
ALTER TABLE queue ADD COLUMN dlq_retries INTEGER NOT NULL DEFAULT 0;

ALTER TABLE outbox ADD COLUMN error_type TEXT;
ALTER TABLE outbox ADD COLUMN error_class TEXT;
ALTER TABLE outbox ADD COLUMN dead_at TEXT;
ALTER TABLE outbox ADD COLUMN dlq_retries INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbox_dead ON outbox (pipeline, dead_at) WHERE status = 'dead';
CREATE INDEX queue_dead ON queue (pipeline, finished_at) WHERE status = 'dead';
