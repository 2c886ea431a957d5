-- name: upsert_contact(affiliate, email, mobile, language)!
INSERT INTO contact (affiliate, email, mobile, language) VALUES (:affiliate, :email, :mobile, :language)
ON CONFLICT (affiliate) DO UPDATE SET
    email = EXCLUDED.email, mobile = EXCLUDED.mobile, language = EXCLUDED.language, updated_at = now();

-- name: contact(affiliate)^
SELECT affiliate, email, mobile, language FROM contact WHERE affiliate = :affiliate;

-- name: request_view(request_id)^
SELECT request_id::text AS request_id, affiliate, state, modality, office, guarantee_amount::text AS guarantee_amount,
       guarantee_deadline, bank_account_id, to_pay::text AS to_pay, remise::text AS remise
FROM request_view WHERE request_id = :request_id::uuid
FOR UPDATE;

-- name: save_request_view(request_id, affiliate, state, modality, office, guarantee_amount, guarantee_deadline, bank_account_id, to_pay, remise)!
INSERT INTO request_view (request_id, affiliate, state, modality, office, guarantee_amount, guarantee_deadline,
                          bank_account_id, to_pay, remise)
VALUES (:request_id::uuid, :affiliate, :state, :modality, :office, :guarantee_amount::numeric, :guarantee_deadline,
        :bank_account_id, :to_pay::numeric, :remise::numeric)
ON CONFLICT (request_id) DO UPDATE SET
    state = EXCLUDED.state, modality = EXCLUDED.modality, office = EXCLUDED.office,
    guarantee_amount = EXCLUDED.guarantee_amount, guarantee_deadline = EXCLUDED.guarantee_deadline,
    bank_account_id = EXCLUDED.bank_account_id, to_pay = EXCLUDED.to_pay, remise = EXCLUDED.remise,
    updated_at = now();

-- name: awaiting_guarantees(until)
-- The requests waiting for guarantees whose deadline has not passed: the reminders' candidates.
SELECT request_id::text AS request_id, affiliate, state, modality, office, guarantee_amount::text AS guarantee_amount,
       guarantee_deadline, bank_account_id, to_pay::text AS to_pay, remise::text AS remise
FROM request_view
WHERE state = 'AWAITING_GUARANTEE' AND guarantee_deadline >= :until
ORDER BY request_id;

-- name: replace_accounts(affiliate, version, ids, bank_names, ribs_masked)!
-- The affiliate's accounts as the event lists them, unless a newer version is already kept.
WITH newer AS (
    SELECT 1 FROM bank_account WHERE affiliate = :affiliate AND version > :version LIMIT 1
), gone AS (
    DELETE FROM bank_account WHERE affiliate = :affiliate AND NOT EXISTS (SELECT 1 FROM newer)
)
INSERT INTO bank_account (affiliate, id, bank_name, rib_masked, version)
SELECT :affiliate, a.id, a.bank_name, a.rib_masked, :version
FROM unnest(:ids::text[], :bank_names::text[], :ribs_masked::text[]) AS a (id, bank_name, rib_masked)
WHERE NOT EXISTS (SELECT 1 FROM newer)
ON CONFLICT (affiliate, id) DO UPDATE SET
    bank_name = EXCLUDED.bank_name, rib_masked = EXCLUDED.rib_masked, version = EXCLUDED.version;

-- name: bank_account(affiliate, id)^
SELECT bank_name, rib_masked FROM bank_account WHERE affiliate = :affiliate AND id = :id;

-- name: save_debit(request_id, sequence, affiliate, amount, state, next_on, attempt)!
INSERT INTO upcoming_debit (request_id, sequence, affiliate, amount, state, next_on, attempt)
VALUES (:request_id::uuid, :sequence, :affiliate, :amount::numeric, :state, :next_on, :attempt)
ON CONFLICT (request_id, sequence) DO UPDATE SET
    amount = EXCLUDED.amount, state = EXCLUDED.state, next_on = EXCLUDED.next_on, attempt = EXCLUDED.attempt
WHERE upcoming_debit.attempt <= EXCLUDED.attempt;

-- name: debits_presented_between(first, last)
-- Debits to be presented in [first, last] of requests still paying: the pre-notifications' candidates.
SELECT d.request_id::text AS request_id, d.sequence, d.affiliate, d.amount::text AS amount, d.state, d.next_on,
       d.attempt, r.bank_account_id
FROM upcoming_debit d JOIN request_view r USING (request_id)
WHERE d.next_on BETWEEN :first AND :last AND r.state IN ('VALIDATED', 'IN_PROGRESS')
ORDER BY d.next_on, d.request_id, d.sequence;

-- name: debit(request_id, sequence)^
SELECT state, next_on, attempt FROM upcoming_debit WHERE request_id = :request_id::uuid AND sequence = :sequence;

-- name: add_notification(id, dedupe_key, affiliate, request_id, kind, channel, facts, traceparent, now)^
-- Once per fact and channel: a second telling of the same fact inserts nothing.
INSERT INTO notification (id, dedupe_key, affiliate, request_id, kind, channel, facts, traceparent, created_at,
                          next_attempt_at)
VALUES (:id::uuid, :dedupe_key, :affiliate, :request_id::uuid, :kind, :channel, :facts::jsonb, :traceparent, :now,
        :now)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id;

-- name: claim_due(now, lease, limit)
-- The notifications due, each taken for ``lease`` (another sender skips them until then): sent outside
-- any transaction, so a slow relay holds no lock; a sender that dies leaves them to be taken again.
UPDATE notification SET next_attempt_at = :now::timestamptz + :lease::interval, attempts = attempts + 1
WHERE id IN (
    SELECT id FROM notification
    WHERE state = 'PENDING' AND next_attempt_at <= :now
    ORDER BY next_attempt_at
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
)
RETURNING id::text AS id, affiliate, request_id::text AS request_id, kind, channel, facts::text AS facts, attempts,
          traceparent;

-- name: mark_sent(id, language, recipient, subject, sent_at)!
UPDATE notification
SET state = 'SENT', language = :language, recipient = :recipient, subject = :subject, sent_at = :sent_at,
    last_error = NULL
WHERE id = :id::uuid;

-- name: mark_skipped(id, why)!
UPDATE notification SET state = 'SKIPPED', last_error = :why WHERE id = :id::uuid;

-- name: mark_failed(id, why)!
UPDATE notification SET state = 'FAILED', last_error = :why WHERE id = :id::uuid;

-- name: retry_later(id, at, why)!
UPDATE notification SET next_attempt_at = :at, last_error = :why WHERE id = :id::uuid;

-- name: of_affiliate(affiliate, most)
-- An affiliate's notifications, newest first (the HTTP list pages them).
SELECT id::text AS id, kind, channel, request_id::text AS request_id, state, created_at, sent_at, subject
FROM notification
WHERE affiliate = :affiliate
ORDER BY created_at DESC, id DESC
LIMIT :most;

-- name: count_per_state()
SELECT state, count(*) AS n FROM notification GROUP BY state;

-- name: requeue_failed(ids)$
-- An operator's requeue: failed notifications tried again now, from their first attempt.
WITH requeued AS (
    UPDATE notification SET state = 'PENDING', attempts = 0, next_attempt_at = now()
    WHERE state = 'FAILED' AND (:ids::uuid[] IS NULL OR id = ANY(:ids::uuid[]))
    RETURNING 1
)
SELECT count(*) FROM requeued;

-- name: failed(limit)
SELECT id::text AS id, affiliate, kind, channel, attempts, last_error, created_at
FROM notification WHERE state = 'FAILED' ORDER BY created_at LIMIT :limit;

-- name: purge(before)$
-- Notifications done with (sent, skipped, failed) before ``before``, in short batches; the retention
-- sweeps again until none is left. What is still to send is never purged.
WITH gone AS (
    DELETE FROM notification WHERE id IN (
        SELECT id FROM notification WHERE state <> 'PENDING' AND created_at < :before LIMIT 5000
    )
    RETURNING 1
)
SELECT count(*) FROM gone;
