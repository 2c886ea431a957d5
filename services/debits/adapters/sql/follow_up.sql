-- name: unanswered_orders(before, after, page)
-- Orders still waiting for their bank's answer (collection date before :before), not flagged, whose
-- debit waits for that very attempt, with what the order's message needs of its plan; by end-to-end
-- id after :after (the follow-up pages through them). The order's row is locked, SKIP LOCKED: one a
-- result is being applied to is looked at by the next pass.
SELECT o.end_to_end_id, o.request_id, o.sequence, o.attempt, o.amount, o.requested_collection_date,
       o.bank_code, o.resends, o.resent_on, o.flagged_on,
       d.kind, d.due_date, d.collection_date, d.state, d.attempts, d.next_attempt_on,
       p.affiliate, p.rib, p.holder, p.mandate_id, p.mandate_signed_on, p.installments_total, a.raison_sociale
FROM debit_order o
JOIN debit d ON d.request_id = o.request_id AND d.sequence = o.sequence
JOIN plan p ON p.request_id = o.request_id
LEFT JOIN affiliate_profile a ON a.affiliate = p.affiliate
WHERE o.outcome IS NULL AND o.flagged_on IS NULL AND o.requested_collection_date < :before
  AND o.end_to_end_id > :after
  AND d.state = 'ORDERED' AND d.attempts = o.attempt
ORDER BY o.end_to_end_id
LIMIT :page
FOR UPDATE OF o SKIP LOCKED;

-- name: mark_resent(end_to_end_id, on)!
UPDATE debit_order SET resends = resends + 1, resent_on = :on WHERE end_to_end_id = :end_to_end_id;

-- name: mark_flagged(end_to_end_id, on)!
UPDATE debit_order SET flagged_on = :on WHERE end_to_end_id = :end_to_end_id;

-- name: unanswered_per_state()
-- For the metrics: orders whose debit waits for their answer, as the follow-up sees them.
SELECT CASE WHEN o.flagged_on IS NOT NULL THEN 'flagged' WHEN o.resends > 0 THEN 'resent' ELSE 'awaiting' END AS state,
       count(*) AS n
FROM debit_order o
JOIN debit d ON d.request_id = o.request_id AND d.sequence = o.sequence
WHERE o.outcome IS NULL AND d.state = 'ORDERED' AND d.attempts = o.attempt
GROUP BY 1;

-- name: flagged_orders()
-- What an operator must ask the banks about: orders flagged and still without an answer.
SELECT o.end_to_end_id, o.request_id, p.affiliate, o.bank_code, o.sequence, o.attempt, o.amount,
       o.requested_collection_date, o.ordered_at, o.resends, o.resent_on, o.flagged_on
FROM debit_order o
JOIN plan p ON p.request_id = o.request_id
WHERE o.outcome IS NULL AND o.flagged_on IS NOT NULL
ORDER BY o.flagged_on, o.end_to_end_id;
