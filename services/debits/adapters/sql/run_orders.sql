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
