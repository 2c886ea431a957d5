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

-- name: parked()
-- What the relay parked, with how many later events of the same topic and key wait behind each.
SELECT p.id, p.event_id, p.topic, p.key, p.event_type, p.created_at, p.parked_at, p.reason,
       (SELECT count(*) FROM outbox o WHERE o.topic = p.topic AND o.key = p.key) AS held_behind
FROM outbox_parked p
ORDER BY p.id;

-- name: requeue(ids)
-- Back into the outbox under its ORIGINAL id: it leaves before the events of its key that waited
-- behind it, so their order holds.
WITH moved AS (DELETE FROM outbox_parked WHERE id = ANY(:ids::bigint[]) RETURNING *)
INSERT INTO outbox (id, event_id, topic, key, event_type, body, traceparent, tracestate, created_at)
SELECT id, event_id, topic, key, event_type, body, traceparent, tracestate, created_at FROM moved
RETURNING id;

-- name: discard(ids)
-- Gone for good (its change stands in the service's tables; the event is not announced).
DELETE FROM outbox_parked WHERE id = ANY(:ids::bigint[]) RETURNING id, event_id, topic, key, event_type;

-- name: backlog()^
-- For the metrics: events not yet published, the age of the oldest (0: none waits), parked events.
SELECT count(*) AS depth,
       COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS oldest_age,
       (SELECT count(*) FROM outbox_parked) AS parked
FROM outbox;
