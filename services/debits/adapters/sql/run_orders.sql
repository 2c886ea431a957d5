-- name: run_orders(run_date, bank_code)
-- The orders of one debit run for one bank, with what pain.008 needs of their plan and affiliate.
SELECT o.end_to_end_id, o.request_id, o.sequence, o.attempt, o.amount, o.requested_collection_date,
       p.affiliate, p.installments_total, p.rib, p.holder, p.mandate_id, p.mandate_signed_on,
       a.raison_sociale
  FROM debit_order o
  JOIN plan p ON p.request_id = o.request_id
  LEFT JOIN affiliate_profile a ON a.affiliate = p.affiliate
 WHERE o.run_date = :run_date AND o.bank_code = :bank_code
 ORDER BY o.requested_collection_date, o.end_to_end_id;

-- name: drop_replayed_orders_moved_on()$
-- After a broker loss the outbox's log is replayed (services/runtime/outbox_log.py). An order is
-- presented again only while its debit still waits for this very attempt's answer: an order its bank
-- answered, or whose debit was settled, cancelled or presented again, is dropped, since a bank that
-- lost its own record of it would collect it twice. (A fresh order always waits for its answer.)
WITH gone AS (
    DELETE FROM outbox o
    WHERE o.topic LIKE 'debits.orders.%'
      AND NOT EXISTS (
          SELECT 1
          FROM debit_order d
          JOIN debit b ON b.request_id = d.request_id AND b.sequence = d.sequence
          WHERE d.end_to_end_id = convert_from(o.body, 'UTF8')::jsonb #>> '{payload,end_to_end_id}'
            AND d.outcome IS NULL
            AND b.state = 'ORDERED'
            AND b.attempts = d.attempt
      )
    RETURNING 1
)
SELECT count(*) FROM gone;
