-- A plan the debit run could not order (an error that is no outage: data the code refuses, a bug):
-- set aside with the error (services/debits/service/debit_run.py), so that one plan never stops a run
-- for every other plan. No run takes it again until an operator releases it (`recouvrement debits
-- release REQUEST_ID`); metric recouvrement_debit_plans_held, alert, runbook.
ALTER TABLE plan ADD COLUMN held_reason text CHECK (length(held_reason) BETWEEN 1 AND 2000);
ALTER TABLE plan ADD COLUMN held_at timestamptz;
ALTER TABLE plan ADD CHECK ((held_reason IS NULL) = (held_at IS NULL));
