-- When a row was first handed to the producer. The broker may hold such a row although the relay
-- never learnt it (killed between the broker's acknowledgement and the delete, or an answer lost
-- on the way back): before it is sent again, the relay looks for its event id on the broker.
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS handed_at timestamptz;

-- A parked row holds back the later rows of its topic and key (one affiliate's events on one
-- topic keep their order): the claim looks them up by (topic, key).
CREATE INDEX IF NOT EXISTS outbox_parked_topic_key ON outbox_parked (topic, key);
