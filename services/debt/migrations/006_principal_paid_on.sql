-- The latest principal payment's date of each period: requests watches the contributions that fall
-- due during a plan (article 2) by the day they were paid, so the sweep can be run as of a date.
-- Earlier payments are read back from the ledger's own entries.
ALTER TABLE period_balance ADD COLUMN principal_paid_on date;

UPDATE period_balance AS b SET principal_paid_on = e.paid_on
FROM (
    SELECT affiliate, period, max(effective_on) AS paid_on
    FROM ledger_entry
    WHERE category = 'principal' AND kind IN ('ledger.payment_received', 'plan.payment')
    GROUP BY affiliate, period
) AS e
WHERE b.affiliate = e.affiliate AND b.period = e.period;
