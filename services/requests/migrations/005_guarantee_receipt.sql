-- When the office asked acknowledged the guarantee request (perception.guarantee_request_received),
-- and when the sweep last sent the request again because no acknowledgement had come: an
-- AWAITING_GUARANTEE request unacknowledged after GUARANTEE_RECEIPT_WAIT_MINUTES is sent to its office
-- again (same request id), three times at most; after that it is an operator's matter (metric
-- recouvrement_guarantee_requests{state="unacknowledged"}, alert, runbook).
ALTER TABLE request ADD COLUMN guarantee_received_at timestamptz;
ALTER TABLE request ADD COLUMN guarantee_reannounced_at timestamptz;
ALTER TABLE request ADD COLUMN guarantee_reannouncements integer NOT NULL DEFAULT 0
    CHECK (guarantee_reannouncements >= 0);
CREATE INDEX request_awaiting_unacknowledged ON request (updated_at)
    WHERE state = 'AWAITING_GUARANTEE' AND guarantee_received_at IS NULL;
