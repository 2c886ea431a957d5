-- The consolidated debt document as gateways read it, rebuilt in the transaction that changes the
-- position; `view_cutoff` says which programme cut-off its eligible totals were computed with.
ALTER TABLE position
    ADD COLUMN view        json,
    ADD COLUMN view_cutoff text;

-- No query reads entries by affiliate yet; the index only slowed every ingestion batch.
DROP INDEX IF EXISTS ledger_entry_affiliate;
