-- name: enqueue_many(event_id, topic, key, event_type, body, traceparent, tracestate)*!
-- Events written in the caller's transaction; the table's trigger (migration 006) wakes the relay at commit.
INSERT INTO outbox (event_id, topic, key, event_type, body, traceparent, tracestate)
VALUES (:event_id, :topic, :key, :event_type, :body, :traceparent, :tracestate);

-- name: send_again(event_id, topic, key, event_type, body, traceparent, tracestate)*!
-- A message published before, published again as it was (same event id): its line in the log gives
-- way to the new row (which returns to the log once the broker took it); a message still waiting in
-- the outbox is left as it is.
WITH logged AS (DELETE FROM outbox_log WHERE event_id = :event_id)
INSERT INTO outbox (event_id, topic, key, event_type, body, traceparent, tracestate)
VALUES (:event_id, :topic, :key, :event_type, :body, :traceparent, :tracestate)
ON CONFLICT (event_id) DO NOTHING;

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

-- name: log_sent(ids, partitions, offsets)!
-- What the broker took leaves the outbox for the log, with where the broker put it (NULL: found
-- on the broker by a lookup). An event logged before (a replay) gets its new place.
WITH sent AS (
    SELECT * FROM unnest(:ids::bigint[], :partitions::integer[], :offsets::bigint[]) AS t (id, sent_partition, sent_offset)
), moved AS (
    DELETE FROM outbox o USING sent WHERE o.id = sent.id
    RETURNING o.id, o.event_id, o.topic, o.key, o.event_type, o.body, o.traceparent, o.tracestate, o.created_at,
              sent.sent_partition, sent.sent_offset
)
INSERT INTO outbox_log (id, event_id, topic, key, event_type, body, traceparent, tracestate, created_at, partition, "offset")
SELECT id, event_id, topic, key, event_type, body, traceparent, tracestate, created_at, sent_partition, sent_offset
FROM moved
ON CONFLICT (id) DO UPDATE SET sent_at = now(), partition = EXCLUDED.partition, "offset" = EXCLUDED."offset";

-- name: high_water()
-- Per partition, the highest offset the current broker gave one of our events: a later event on
-- the same partition must get a higher one, or the broker lost the partition.
SELECT topic, partition, max("offset") AS last_offset
FROM outbox_log
WHERE "offset" IS NOT NULL
GROUP BY topic, partition;

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

-- name: replay(since, topics)$
-- Logged events back into the outbox under their ORIGINAL ids and event ids: they leave before
-- what was written after them, and each consumer's inbox applies each once. ``topics`` NULL: all.
-- An event still waiting in the outbox (a batch being sent) stays as it is.
WITH replayed AS (
    INSERT INTO outbox (id, event_id, topic, key, event_type, body, traceparent, tracestate, created_at)
    SELECT id, event_id, topic, key, event_type, body, traceparent, tracestate, created_at
    FROM outbox_log
    WHERE created_at >= :since
      AND (CAST(:topics AS text[]) IS NULL OR topic = ANY(CAST(:topics AS text[])))
    ORDER BY id
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM replayed;

-- name: forget_offsets(topics)!
-- The broker that gave these offsets lost the partitions: they say nothing about the next one.
UPDATE outbox_log SET partition = NULL, "offset" = NULL
WHERE "offset" IS NOT NULL AND (CAST(:topics AS text[]) IS NULL OR topic = ANY(CAST(:topics AS text[])));

-- name: current_epoch()^
SELECT epoch, marked_at, partition, "offset" FROM broker_epoch;

-- name: adopt_epoch(epoch, partition, offset)!
INSERT INTO broker_epoch (epoch, partition, "offset") VALUES (:epoch, :partition, :offset)
ON CONFLICT (only_one) DO UPDATE
SET epoch = EXCLUDED.epoch, partition = EXCLUDED.partition, "offset" = EXCLUDED."offset", marked_at = now();

-- name: purge_log(before)$
-- A few thousand at a time keeps each delete short beside the relay's inserts.
WITH gone AS (
    DELETE FROM outbox_log WHERE id IN (SELECT id FROM outbox_log WHERE sent_at < :before LIMIT 5000)
    RETURNING 1
)
SELECT count(*) FROM gone;
