-- Transactional outbox: events are written here in the same transaction as the change they
-- announce; the relay publishes them to Kafka and deletes them once the broker has taken them.
CREATE TABLE IF NOT EXISTS outbox (
    id          bigserial PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    topic       text        NOT NULL,
    key         text        NOT NULL,
    event_type  text        NOT NULL,
    body        bytea       NOT NULL,
    traceparent text,
    tracestate  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text
);

-- Inbox: the events a consumer has applied, recorded in the transaction that applied them, so a
-- redelivered message changes nothing.
CREATE TABLE IF NOT EXISTS inbox (
    consumer   text        NOT NULL,
    event_id   uuid        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
