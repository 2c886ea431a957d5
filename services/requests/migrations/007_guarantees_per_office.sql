-- requests.guarantees.v1 is retired (issue 16): each perception office reads its own topic,
-- requests.guarantees.<office code>.v1. What was written for the old topic and is not sent yet
-- (outbox), parked, or kept for a replay (outbox_log) goes to the topic of the office its payload
-- names. An office without a topic (INCONNUE, or absent from contracts/perceptions.csv) gets a
-- name the catalogue does not hold: the relay parks such a row for an operator, it is not dropped.
-- The log's partition and offset were the old topic's: forgotten, as for a lost broker (a replay
-- needs neither; kept, they would read as offsets going back on the new topic). A row the relay had
-- handed to the old topic just before the upgrade may go out again on the new one: an office keeps
-- one file per request id.
UPDATE outbox
   SET topic = 'requests.guarantees.' || (convert_from(body, 'UTF8')::jsonb #>> '{payload,perception,code}') || '.v1'
 WHERE topic = 'requests.guarantees.v1';

UPDATE outbox_parked
   SET topic = 'requests.guarantees.' || (convert_from(body, 'UTF8')::jsonb #>> '{payload,perception,code}') || '.v1'
 WHERE topic = 'requests.guarantees.v1';

UPDATE outbox_log
   SET topic = 'requests.guarantees.' || (convert_from(body, 'UTF8')::jsonb #>> '{payload,perception,code}') || '.v1',
       partition = NULL,
       "offset" = NULL
 WHERE topic = 'requests.guarantees.v1';
