-- Events the broker will never take (too large, invalid topic): parked here with the reason, so
-- one of them cannot hold back every event behind it. An operator fixes and re-queues them.
CREATE TABLE IF NOT EXISTS outbox_parked (
    id          bigint      PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    topic       text        NOT NULL,
    key         text        NOT NULL,
    event_type  text        NOT NULL,
    body        bytea       NOT NULL,
    traceparent text,
    tracestate  text,
    created_at  timestamptz NOT NULL,
    parked_at   timestamptz NOT NULL DEFAULT now(),
    reason      text        NOT NULL
);
