-- name: upsert_profiles(affiliates, raisons_sociales)!
-- The last announcement of an affiliate wins (the caller keeps one row per affiliate).
INSERT INTO affiliate_profile (affiliate, raison_sociale)
SELECT * FROM unnest(:affiliates::text[], :raisons_sociales::text[])
ON CONFLICT (affiliate) DO UPDATE SET raison_sociale = EXCLUDED.raison_sociale
WHERE affiliate_profile.raison_sociale IS DISTINCT FROM EXCLUDED.raison_sociale;

-- name: accounts_for_plans(ids, affiliates)
-- The accounts a batch of validations names, each only if it is that affiliate's.
SELECT b.id, b.affiliate, b.rib, b.bank_code, b.holder
FROM bank_accounts b
JOIN unnest(:ids::text[], :affiliates::text[]) AS w (id, affiliate) ON b.id = w.id AND b.affiliate = w.affiliate;

-- name: insert_plans(request_ids, affiliates, programmes, modalities, bank_account_ids, ribs, bank_codes, holders, mandate_ids, mandate_signed_ons, installments_totals, created_at)
-- Returns the request ids of the plans that are new; a plan that exists already (a replay) is left as it is.
INSERT INTO plan (request_id, affiliate, programme, modality, bank_account_id, rib, bank_code, holder, mandate_id,
                  mandate_signed_on, installments_total, state, created_at)
SELECT u.*, 'ACTIVE', :created_at
FROM unnest(:request_ids::uuid[], :affiliates::text[], :programmes::text[], :modalities::text[],
            :bank_account_ids::text[], :ribs::text[], :bank_codes::text[], :holders::text[], :mandate_ids::text[],
            :mandate_signed_ons::date[], :installments_totals::integer[])
     AS u (request_id, affiliate, programme, modality, bank_account_id, rib, bank_code, holder, mandate_id,
           mandate_signed_on, installments_total)
ON CONFLICT (request_id) DO NOTHING
RETURNING request_id;

-- name: insert_debits(request_ids, sequences, kinds, due_dates, collection_dates, amounts, states, attempts, next_attempts)!
INSERT INTO debit (request_id, sequence, kind, due_date, collection_date, amount, state, attempts, next_attempt_on)
SELECT * FROM unnest(:request_ids::uuid[], :sequences::integer[], :kinds::text[], :due_dates::date[],
                     :collection_dates::date[], :amounts::numeric[], :states::text[], :attempts::integer[],
                     :next_attempts::date[]);

-- name: update_debits(request_ids, sequences, due_dates, collection_dates, states, attempts, next_attempts)!
UPDATE debit d SET due_date = u.due_date, collection_date = u.collection_date, state = u.state,
                   attempts = u.attempts, next_attempt_on = u.next_attempt_on
FROM unnest(:request_ids::uuid[], :sequences::integer[], :due_dates::date[], :collection_dates::date[],
            :states::text[], :attempts::integer[], :next_attempts::date[])
    AS u (request_id, sequence, due_date, collection_date, state, attempts, next_attempt_on)
WHERE d.request_id = u.request_id AND d.sequence = u.sequence;

-- name: insert_history(request_ids, sequences, at, from_states, to_states, attempts, reasons, end_to_end_ids, reason_codes, finals, next_attempts)!
INSERT INTO debit_history (request_id, sequence, at, from_state, to_state, attempt, reason, end_to_end_id,
                           reason_code, final, next_attempt_on)
SELECT u.request_id, u.sequence, :at, u.from_state, u.to_state, u.attempt, u.reason, u.end_to_end_id, u.reason_code,
       u.final, u.next_attempt_on
FROM unnest(:request_ids::uuid[], :sequences::integer[], :from_states::text[], :to_states::text[],
            :attempts::integer[], :reasons::text[], :end_to_end_ids::text[], :reason_codes::text[],
            :finals::boolean[], :next_attempts::date[])
    WITH ORDINALITY AS u (request_id, sequence, from_state, to_state, attempt, reason, end_to_end_id, reason_code,
                          final, next_attempt_on, n)
ORDER BY u.n;

-- name: plan_of(request_id)^
SELECT * FROM plan WHERE request_id = :request_id;

-- name: lock_plan(request_id)^
-- Serializes the results of one plan; a debit run skips the debits of a plan being changed.
SELECT * FROM plan WHERE request_id = :request_id FOR UPDATE;

-- name: close_plan(request_id, state, closed_on)!
UPDATE plan SET state = :state, closed_on = :closed_on WHERE request_id = :request_id AND state = 'ACTIVE';

-- name: debits_of(request_id)
SELECT * FROM debit WHERE request_id = :request_id ORDER BY sequence;

-- name: history_of(request_id)
SELECT * FROM debit_history WHERE request_id = :request_id ORDER BY sequence, id;

-- name: count_due(on_date)$
-- The orders a run of that date will make: one per plan with a debit due.
SELECT count(DISTINCT d.request_id) FROM debit d JOIN plan p USING (request_id)
WHERE d.next_attempt_on <= :on_date AND p.state = 'ACTIVE' AND p.held_reason IS NULL;

-- name: claim_due(on_date, page)
-- One page of a run. SKIP LOCKED: two runs (two replicas, or a run and the CLI) take different
-- debits, and different plans: the plan's row is locked too (NO KEY UPDATE, taken by one run only),
-- so one run alone decides which of a plan's due debits is ordered. A plan a result is changing
-- (locked FOR UPDATE) is skipped, and looked at again a moment later (run.py). Once ordered, or
-- moved to a later date, a debit no longer matches: the next page is the next rows.
SELECT d.request_id, p.affiliate, p.rib, p.bank_code, p.holder, p.mandate_id, p.mandate_signed_on,
       p.installments_total, a.raison_sociale
FROM debit d
JOIN plan p USING (request_id)
LEFT JOIN affiliate_profile a ON a.affiliate = p.affiliate
WHERE d.next_attempt_on <= :on_date AND d.state IN ('SCHEDULED', 'FAILED') AND p.state = 'ACTIVE'
  AND p.held_reason IS NULL
ORDER BY d.next_attempt_on, d.request_id, d.sequence
LIMIT :page
FOR UPDATE OF d SKIP LOCKED
FOR NO KEY UPDATE OF p SKIP LOCKED;

-- name: claim_due_of_plan(request_id, on_date)
-- As claim_due, for one plan: a page that failed is tried again plan by plan.
SELECT d.request_id, p.affiliate, p.rib, p.bank_code, p.holder, p.mandate_id, p.mandate_signed_on,
       p.installments_total, a.raison_sociale
FROM debit d
JOIN plan p USING (request_id)
LEFT JOIN affiliate_profile a ON a.affiliate = p.affiliate
WHERE d.request_id = :request_id AND d.next_attempt_on <= :on_date AND d.state IN ('SCHEDULED', 'FAILED')
  AND p.state = 'ACTIVE' AND p.held_reason IS NULL
ORDER BY d.next_attempt_on, d.sequence
FOR UPDATE OF d SKIP LOCKED
FOR NO KEY UPDATE OF p SKIP LOCKED;

-- name: hold_plan(request_id, reason, at)!
UPDATE plan SET held_reason = :reason, held_at = :at WHERE request_id = :request_id;

-- name: held_plans()
SELECT request_id, affiliate, bank_code, held_reason, held_at,
       (SELECT min(d.next_attempt_on) FROM debit d WHERE d.request_id = p.request_id) AS due_since
FROM plan p WHERE held_reason IS NOT NULL ORDER BY held_at, request_id;

-- name: count_held()$
SELECT count(*) FROM plan WHERE held_reason IS NOT NULL;

-- name: release_plans(request_ids)
-- The next run orders them as any plan due (late ones slide, as run_plan says).
UPDATE plan SET held_reason = NULL, held_at = NULL
WHERE request_id = ANY(:request_ids::uuid[]) AND held_reason IS NOT NULL
RETURNING request_id;

-- name: pending_debits_of(request_ids)
-- The debits still to be sent of the plans a run page holds (their rows locked by the claim).
SELECT * FROM debit
WHERE request_id = ANY(:request_ids::uuid[]) AND next_attempt_on IS NOT NULL
ORDER BY request_id, sequence;

-- name: insert_orders(end_to_end_ids, request_ids, sequences, attempts, bank_codes, amounts, collection_dates, run_date, ordered_at)!
-- No ON CONFLICT: an order for an attempt already ordered is a bug the database refuses (the page
-- rolls back, nothing of it is sent).
INSERT INTO debit_order (end_to_end_id, request_id, sequence, attempt, bank_code, amount, requested_collection_date,
                         run_date, ordered_at)
SELECT u.*, :run_date, :ordered_at
FROM unnest(:end_to_end_ids::text[], :request_ids::uuid[], :sequences::integer[], :attempts::integer[],
            :bank_codes::text[], :amounts::numeric[], :collection_dates::date[]) AS u;

-- name: order_by_id(end_to_end_id)^
SELECT * FROM debit_order WHERE end_to_end_id = :end_to_end_id;

-- name: lock_order(end_to_end_id)^
SELECT * FROM debit_order WHERE end_to_end_id = :end_to_end_id FOR UPDATE;

-- name: record_result(end_to_end_id, outcome, reason_code, result_on)!
UPDATE debit_order SET outcome = :outcome, reason_code = :reason_code, result_on = :result_on
WHERE end_to_end_id = :end_to_end_id AND outcome IS NULL;

-- name: debits_per_state()
-- For the metrics: how many debits are in each state.
SELECT state, count(*) AS n FROM debit GROUP BY state;
