-- name: lock_request(request_id)!
-- One request's plan events at a time, until the transaction ends: a plan event that finds no plan
-- (and waits) and the VALIDATED that creates it (and releases what waits) never miss each other's
-- commit, even when two replicas of debt read requests.events.v1 and debits.events.v1 apart.
SELECT pg_advisory_xact_lock(3390, hashtext(:request_id::uuid::text));

-- name: insert_waiting(event_id, request_id, affiliate, event_type, message, traceparent, tracestate, received_at)
-- An event redelivered while it waits is not stored twice.
INSERT INTO pending_plan_event (event_id, request_id, affiliate, event_type, message, traceparent, tracestate,
                                received_at)
VALUES (:event_id, :request_id, :affiliate, :event_type, :message, :traceparent, :tracestate, :received_at)
ON CONFLICT (event_id) DO NOTHING
RETURNING seq;

-- name: waiting_for(request_id)
SELECT seq, event_id, request_id, affiliate, event_type, message, traceparent, tracestate, received_at, refusal
FROM pending_plan_event
WHERE request_id = :request_id AND refusal IS NULL
ORDER BY seq
FOR UPDATE;

-- name: refuse_waiting(seq, refusal)!
UPDATE pending_plan_event SET refusal = :refusal WHERE seq = :seq;

-- name: delete_waiting(seq)!
DELETE FROM pending_plan_event WHERE seq = :seq;

-- name: waiting_with_plan(limit)
-- A plan exists but events of it still wait: a safety net for the sweep (the VALIDATED releases them).
SELECT DISTINCT e.request_id
FROM pending_plan_event e JOIN remission_plan p ON p.request_id = e.request_id
WHERE e.refusal IS NULL
LIMIT :limit;

-- name: due_for_dead_letter(deadline, limit)
SELECT seq, request_id
FROM pending_plan_event
WHERE refusal IS NOT NULL OR received_at < :deadline
ORDER BY seq
LIMIT :limit;

-- name: pending_for_update(seq)^
SELECT seq, event_id, request_id, affiliate, event_type, message, traceparent, tracestate, received_at, refusal
FROM pending_plan_event
WHERE seq = :seq
FOR UPDATE;

-- name: pending_summary()^
SELECT count(*) FILTER (WHERE refusal IS NULL)     AS waiting,
       count(*) FILTER (WHERE refusal IS NOT NULL) AS refused,
       min(received_at)                            AS oldest_received_at
FROM pending_plan_event;

-- name: plan_known(request_id)$
SELECT EXISTS (SELECT 1 FROM remission_plan WHERE request_id = :request_id);

-- name: forget_claim(consumer, event_id)!
-- A dead-lettered event is not kept as applied in the consumer's inbox: replayed once its cause is
-- fixed, it is applied (or waits again).
DELETE FROM inbox WHERE consumer = :consumer AND event_id = :event_id;
