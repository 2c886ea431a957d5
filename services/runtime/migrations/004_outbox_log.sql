-- What the relay published, kept for the retention window (OUTBOX_RETENTION_DAYS) with the same
-- event ids: a broker that lost them (restarted from memory, rebuilt, a topic recreated empty) gets
-- them again, and an operator can replay a window (`recouvrement <service> replay --since`).
-- partition/offset: where the broker put the event; NULL once that broker is known lost (or when
-- the event was found on the broker by an interrupted batch's lookup).
CREATE TABLE IF NOT EXISTS outbox_log (
    id          bigint      PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    topic       text        NOT NULL,
    key         text        NOT NULL,
    event_type  text        NOT NULL,
    body        bytea       NOT NULL,
    traceparent text,
    tracestate  text,
    created_at  timestamptz NOT NULL,
    sent_at     timestamptz NOT NULL DEFAULT now(),
    partition   integer,
    "offset"    bigint
);
-- Replay by age and purge by age.
CREATE INDEX IF NOT EXISTS outbox_log_created ON outbox_log (created_at);
CREATE INDEX IF NOT EXISTS outbox_log_sent ON outbox_log (sent_at);
-- The highest offset per partition (what a later acknowledgement must exceed on the same broker).
CREATE INDEX IF NOT EXISTS outbox_log_offsets ON outbox_log (topic, partition, "offset") WHERE "offset" IS NOT NULL;

-- The broker this database publishes to: the epoch the service marked it with (one row), and
-- where the broker put the mark (the check reads that one record).
CREATE TABLE IF NOT EXISTS broker_epoch (
    only_one  boolean     PRIMARY KEY DEFAULT true CHECK (only_one),
    epoch     uuid        NOT NULL,
    marked_at timestamptz NOT NULL DEFAULT now(),
    partition integer     NOT NULL,
    "offset"  bigint      NOT NULL
);

-- The inbox is purged by age once no replay can bring its events back.
CREATE INDEX IF NOT EXISTS inbox_applied ON inbox (applied_at);
