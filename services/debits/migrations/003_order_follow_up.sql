-- Orders a bank has not answered (services/debits/domain/follow_up.py): an order without a result
-- ORDER_ANSWER_WAIT_BUSINESS_DAYS business days after its requested collection date (or after it was
-- last sent again) is sent again as the same message (same event id, same end-to-end id: a bank that
-- booked it answers its first answer again, never collects twice), ORDER_RESENDS times at most; then
-- it is flagged for an operator (metric recouvrement_debit_orders_unanswered, alert, runbook).
ALTER TABLE debit_order ADD COLUMN resends integer NOT NULL DEFAULT 0 CHECK (resends >= 0);
ALTER TABLE debit_order ADD COLUMN resent_on date;
ALTER TABLE debit_order ADD COLUMN flagged_on date;
ALTER TABLE debit_order ADD CHECK ((resends = 0) = (resent_on IS NULL));
-- What the follow-up reads: only orders still waiting for their answer.
CREATE INDEX debit_order_unanswered ON debit_order (requested_collection_date) WHERE outcome IS NULL;
