-- When debits said it scheduled the request's plan (debits.plan_scheduled), and when the sweep last
-- announced the validation again because no plan had come: a VALIDATED request without a plan after
-- REANNOUNCE_AFTER_MINUTES is announced again (debits keeps one plan per request), three times at most:
-- after that debits refuses it for a reason of its own (its .dlq says which), a matter for an operator.
ALTER TABLE request ADD COLUMN plan_scheduled_at timestamptz;
ALTER TABLE request ADD COLUMN reannounced_at timestamptz;
ALTER TABLE request ADD COLUMN reannouncements integer NOT NULL DEFAULT 0;
CREATE INDEX request_validated_without_plan ON request (updated_at)
    WHERE state = 'VALIDATED' AND plan_scheduled_at IS NULL;
