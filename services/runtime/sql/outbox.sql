-- name: enqueue_many(event_id, topic, key, event_type, body, traceparent, tracestate)*!
-- Events written in the caller's transaction; `notify` then wakes the relay at commit.
INSERT INTO outbox (event_id, topic, key, event_type, body, traceparent, tracestate)
VALUES (:event_id, :topic, :key, :event_type, :body, :traceparent, :tracestate);

-- name: notify()!
SELECT pg_notify('outbox', '');

-- name: claim_batch(limit)
-- Oldest first, so one affiliate's events leave in the order they were written; rows behind a
-- parked row of their topic and key wait for an operator to requeue or discard it.
SELECT id, event_id, topic, key, event_type, body, traceparent, tracestate, attempts, handed_at
FROM outbox o
WHERE NOT EXISTS (SELECT 1 FROM outbox_parked p WHERE p.topic = o.topic AND p.key = o.key)
ORDER BY id
LIMIT :limit;

-- name: mark_handed(ids, at)!
-- Committed BEFORE the rows go to the producer: the first hand-over is what a later relay must
-- look for on the broker, whatever happens after it.
UPDATE outbox SET handed_at = coalesce(handed_at, :at) WHERE id = ANY(:ids::bigint[]);

-- name: delete_sent(ids)!
DELETE FROM outbox WHERE id = ANY(:ids::bigint[]);

-- name: record_failure(ids, error)!
UPDATE outbox SET attempts = attempts + 1, last_error = :error WHERE id = ANY(:ids::bigint[]);

-- name: park(id, reason)!
WITH moved AS (DELETE FROM outbox WHERE id = :id RETURNING *)
INSERT INTO outbox_parked (id, event_id, topic, key, event_type, body, traceparent, tracestate, created_at, reason)
SELECT id, event_id, topic, key, event_type, body, traceparent, tracestate, created_at, :reason FROM moved;
