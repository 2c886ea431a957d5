-- name: claim(consumer, event_ids)
-- Records the events not applied yet and returns them; the others were applied before.
INSERT INTO inbox (consumer, event_id)
SELECT :consumer, unnest(:event_ids::uuid[])
ON CONFLICT DO NOTHING
RETURNING event_id;
