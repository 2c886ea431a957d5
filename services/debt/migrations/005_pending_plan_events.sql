-- debits' plan events (a debit settled, a plan completed or defaulted) that arrived before debt saw
-- their request VALIDATED on requests.events.v1: debt was down and read its two topics in another
-- order, or one of them lags. Each waits here, in arrival order, until the VALIDATED comes (applied in
-- its transaction, right after the plan is created) or, past PLAN_EVENT_MAX_WAIT_SECONDS, goes to
-- debits.events.v1.dlq with the reason (the periodic sweep). Operators: docs/operations.md.
CREATE TABLE pending_plan_event (
    seq         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- arrival order
    event_id    uuid        NOT NULL UNIQUE,
    request_id  uuid        NOT NULL,
    affiliate   text        NOT NULL,
    event_type  text        NOT NULL,
    message     text        NOT NULL,  -- the event as received (its JSON envelope)
    traceparent text,
    tracestate  text,
    received_at timestamptz NOT NULL,
    -- Set when the VALIDATED came but the event could still not be applied (a completion after a
    -- default...): the sweep dead-letters it with this reason.
    refusal     text
);
CREATE INDEX pending_plan_event_request ON pending_plan_event (request_id, seq);
CREATE INDEX pending_plan_event_received ON pending_plan_event (received_at);
