-- name: claim(consumer, event_ids)
-- Records the events not applied yet and returns them; the others were applied before.
INSERT INTO inbox (consumer, event_id)
SELECT :consumer, unnest(:event_ids::uuid[])
ON CONFLICT DO NOTHING
RETURNING event_id;

-- name: purge(before)$
-- Older than the outbox logs' retention (settings check it): no replay can bring these events back.
WITH gone AS (
    DELETE FROM inbox
    WHERE (consumer, event_id) IN (SELECT consumer, event_id FROM inbox WHERE applied_at < :before LIMIT 5000)
    RETURNING 1
)
SELECT count(*) FROM gone;
