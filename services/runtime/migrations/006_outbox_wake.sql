-- Every statement that adds outbox rows wakes the relay when its transaction commits (NOTIFY is
-- transactional, and repeated ones in a transaction are folded into one). Until now each writer sent
-- its own `SELECT pg_notify('outbox', '')` after the insert: one round trip more per change, three
-- per flow in requests (issue 14), and a writer that forgot it left its event for the relay's next poll.
CREATE OR REPLACE FUNCTION outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox', '');
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER outbox_wake AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_wake();
