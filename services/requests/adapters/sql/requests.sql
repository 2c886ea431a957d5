-- name: open_request_announced(id, affiliate, programme, state, created_at, at, event, from_state, to_state, actor_kind, actor_id, reason, event_ids, topics, keys, event_types, bodies, traceparents, tracestates)$
-- A new request, its first history line and its events in ONE statement, hence one implicit
-- transaction (no BEGIN/COMMIT round trips). Nothing at all (NULL) when the affiliate has a request
-- in progress: the unique index decides a race between two creations.
WITH opened AS (
    INSERT INTO request (id, affiliate, programme, state, created_at, last_activity_at)
    VALUES (:id, :affiliate, :programme, :state, :created_at, :created_at)
    ON CONFLICT (affiliate) WHERE state NOT IN ('COMPLETED', 'EXPIRED', 'REJECTED', 'CANCELLED', 'DEFAULTED') DO NOTHING
    RETURNING id
), line AS (
    INSERT INTO request_history (request_id, seq, at, event, from_state, to_state, actor_kind, actor_id, reason)
    SELECT id, 1, :at, :event, :from_state, :to_state, :actor_kind, :actor_id, :reason FROM opened
), announced AS (
    INSERT INTO outbox (event_id, topic, key, event_type, body, traceparent, tracestate)
    SELECT e.* FROM unnest(:event_ids::uuid[], :topics::text[], :keys::text[], :event_types::text[], :bodies::bytea[],
                           :traceparents::text[], :tracestates::text[]) AS e
    WHERE EXISTS (SELECT 1 FROM opened)
)
SELECT id FROM opened;

-- name: request_by_id(id)^
SELECT * FROM request WHERE id = :id;

-- name: lock_request(id)^
SELECT * FROM request WHERE id = :id FOR UPDATE;

-- name: lock_request_with_office(id)^
-- The request locked, and its affiliate's office as auth announced it (NULL: not yet), in one round trip.
-- The office is read as of the statement's start, before any wait for the lock (an office changes
-- with an affiliate's file, not with a request).
SELECT r.*, o.raison_sociale, o.perception_code, o.perception_name
FROM request r LEFT JOIN affiliate_profile o ON o.affiliate = r.affiliate
WHERE r.id = :id FOR UPDATE OF r;

-- name: lock_request_with_accounts(id)^
-- The request locked, and its affiliate's bank accounts (NULL: none announced) in the same round trip.
-- The accounts are read as of the statement's start, before any wait for the lock; the validation
-- checks the chosen account against the accounts again.
SELECT r.*, (SELECT b.accounts FROM bank_accounts b WHERE b.affiliate = r.affiliate) AS registered_accounts
FROM request r WHERE r.id = :id FOR UPDATE OF r;

-- name: requests_of(affiliate)
-- The id breaks ties (two requests of one instant): the same order on every call, which pages need.
SELECT * FROM request WHERE affiliate = :affiliate ORDER BY created_at DESC, id DESC;

-- name: save_request(id, state, modality, guarantee_obligation_accepted, bank_account_id, quote_id, quote, cg_version, guarantee_deadline, validation_date, schedule, guarantee, guarantee_perception, last_activity_at, at, event, from_state, to_state, actor_kind, actor_id, reason)!
-- A change and its history line in ONE statement: one round trip instead of two, in the caller's
-- transaction as before (every change of a request writes both).
WITH saved AS (
    UPDATE request SET
        state = :state, modality = :modality, guarantee_obligation_accepted = :guarantee_obligation_accepted,
        bank_account_id = :bank_account_id, quote_id = :quote_id, quote = :quote::jsonb, cg_version = :cg_version,
        guarantee_deadline = :guarantee_deadline, validation_date = :validation_date, schedule = :schedule::jsonb,
        guarantee = :guarantee::jsonb, guarantee_perception = :guarantee_perception::jsonb,
        last_activity_at = :last_activity_at, updated_at = now()
    WHERE id = :id
)
INSERT INTO request_history (request_id, seq, at, event, from_state, to_state, actor_kind, actor_id, reason)
SELECT :id, coalesce(max(seq), 0) + 1, :at, :event, :from_state, :to_state, :actor_kind, :actor_id, :reason
FROM request_history WHERE request_id = :id;

-- name: save_request_announced(id, state, modality, guarantee_obligation_accepted, bank_account_id, quote_id, quote, cg_version, guarantee_deadline, validation_date, schedule, guarantee, guarantee_perception, last_activity_at, at, event, from_state, to_state, actor_kind, actor_id, reason, event_ids, topics, keys, event_types, bodies, traceparents, tracestates)!
-- A transition: the request, its history line and the events it implies, in ONE statement (one
-- round trip, in the caller's transaction; the outbox's trigger wakes the relay at the commit).
WITH saved AS (
    UPDATE request SET
        state = :state, modality = :modality, guarantee_obligation_accepted = :guarantee_obligation_accepted,
        bank_account_id = :bank_account_id, quote_id = :quote_id, quote = :quote::jsonb, cg_version = :cg_version,
        guarantee_deadline = :guarantee_deadline, validation_date = :validation_date, schedule = :schedule::jsonb,
        guarantee = :guarantee::jsonb, guarantee_perception = :guarantee_perception::jsonb,
        last_activity_at = :last_activity_at, updated_at = now()
    WHERE id = :id
), line AS (
    INSERT INTO request_history (request_id, seq, at, event, from_state, to_state, actor_kind, actor_id, reason)
    SELECT :id, coalesce(max(seq), 0) + 1, :at, :event, :from_state, :to_state, :actor_kind, :actor_id, :reason
    FROM request_history WHERE request_id = :id
)
INSERT INTO outbox (event_id, topic, key, event_type, body, traceparent, tracestate)
SELECT * FROM unnest(:event_ids::uuid[], :topics::text[], :keys::text[], :event_types::text[], :bodies::bytea[],
                     :traceparents::text[], :tracestates::text[]);

-- name: append_history(request_id, at, event, from_state, to_state, actor_kind, actor_id, reason)!
INSERT INTO request_history (request_id, seq, at, event, from_state, to_state, actor_kind, actor_id, reason)
SELECT :request_id, coalesce(max(seq), 0) + 1, :at, :event, :from_state, :to_state, :actor_kind, :actor_id, :reason
FROM request_history WHERE request_id = :request_id;

-- name: history_of(request_id)
SELECT * FROM request_history WHERE request_id = :request_id ORDER BY seq;

-- name: answer_of(request_id, affiliate)^
-- What an answer shows beside the request, in one round trip: its history, oldest line first, and
-- the affiliate's bank accounts (NULL when no affiliate is given: no account chosen, none shown).
SELECT ARRAY(SELECT h FROM request_history h WHERE h.request_id = :request_id ORDER BY h.seq) AS history,
       (SELECT b.accounts FROM bank_accounts b WHERE b.affiliate = :affiliate) AS accounts;

-- name: histories_of(request_ids)
-- The histories of a page of requests in one round trip, not one per request.
SELECT * FROM request_history WHERE request_id = ANY(:request_ids::uuid[]) ORDER BY request_id, seq;

-- name: in_progress_of(affiliate)$
SELECT id::text FROM request
WHERE affiliate = :affiliate AND state NOT IN ('COMPLETED', 'EXPIRED', 'REJECTED', 'CANCELLED', 'DEFAULTED');

-- name: eligibility_facts_of(affiliate, programme)^
-- What eligibility reads, in one round trip instead of three: the affiliate's position (NULL when
-- never announced), its request in progress (as ``in_progress_of``) and whether it defaulted under
-- this programme.
SELECT p.version, p.remissible, p.arrangement_perception_code, p.arrangement_perception_name,
       (SELECT r.id::text FROM request r
        WHERE r.affiliate = a.affiliate AND r.state NOT IN ('COMPLETED', 'EXPIRED', 'REJECTED', 'CANCELLED', 'DEFAULTED')
        LIMIT 1) AS in_progress,
       exists(SELECT 1 FROM request r
              WHERE r.affiliate = a.affiliate AND r.programme = :programme AND r.state = 'DEFAULTED') AS defaulted_before
FROM (VALUES (:affiliate::text)) AS a (affiliate)
LEFT JOIN debt_position p ON p.affiliate = a.affiliate;

-- name: touch_drafts(affiliates, ats)!
-- A simulation is activity on the affiliate's draft: it must not be cancelled as idle meanwhile.
UPDATE request r SET last_activity_at = greatest(r.last_activity_at, t.at)
FROM (SELECT affiliate, max(at) AS at FROM unnest(:affiliates::text[], :ats::timestamptz[]) AS u (affiliate, at)
      GROUP BY affiliate) AS t
WHERE r.affiliate = t.affiliate AND r.state = 'DRAFT';

-- name: lock_expired_awaiting(today, page)
-- SKIP LOCKED: several replicas may sweep at once, each takes other rows.
SELECT * FROM request
WHERE state = 'AWAITING_GUARANTEE' AND guarantee_deadline < :today
ORDER BY guarantee_deadline LIMIT :page FOR UPDATE SKIP LOCKED;

-- name: lock_idle_drafts(before, page)
SELECT * FROM request
WHERE state = 'DRAFT' AND last_activity_at < :before
ORDER BY last_activity_at LIMIT :page FOR UPDATE SKIP LOCKED;

-- name: requests_per_state()
-- For the metrics: how many requests are in each state (the state column is indexed by the sweep).
SELECT state, count(*) AS n FROM request GROUP BY state;

-- name: plan_scheduled(id, at)!
-- debits scheduled the plan: the first word counts (a replay of the event changes nothing).
UPDATE request SET plan_scheduled_at = coalesce(plan_scheduled_at, :at) WHERE id = :id;

-- name: lock_validated_without_plan(before, most, page)
-- Validated before ``before`` (or announced again before it), and still no plan at debits.
SELECT r.*, v.at AS validated_at FROM request r
JOIN LATERAL (
    SELECT max(h.at) AS at FROM request_history h WHERE h.request_id = r.id AND h.to_state = 'VALIDATED'
) v ON true
WHERE r.state = 'VALIDATED' AND r.plan_scheduled_at IS NULL AND r.reannouncements < :most
  AND coalesce(r.reannounced_at, v.at) < :before
ORDER BY r.updated_at LIMIT :page FOR UPDATE OF r SKIP LOCKED;

-- name: mark_reannounced(id, at)!
UPDATE request SET reannounced_at = :at, reannouncements = reannouncements + 1 WHERE id = :id;

-- name: mark_guarantee_received(id, at, event, from_state, to_state, actor_kind, actor_id, reason)$
-- The office acknowledged the guarantee request: the first word counts, and only it is a line in the
-- history (true when it is the first). One statement.
WITH marked AS (
    UPDATE request SET guarantee_received_at = :at
    WHERE id = :id AND guarantee_received_at IS NULL
    RETURNING id
), line AS (
    INSERT INTO request_history (request_id, seq, at, event, from_state, to_state, actor_kind, actor_id, reason)
    SELECT m.id, (SELECT coalesce(max(h.seq), 0) + 1 FROM request_history h WHERE h.request_id = m.id),
           :at, :event, :from_state, :to_state, :actor_kind, :actor_id, :reason
    FROM marked m
)
SELECT count(*) = 1 FROM marked;

-- name: lock_awaiting_unacknowledged(before, most, page)
-- Guarantees asked before ``before`` (or asked again before it), no acknowledgement from the office.
SELECT r.* FROM request r
JOIN LATERAL (
    SELECT max(h.at) AS at FROM request_history h
    WHERE h.request_id = r.id AND h.to_state = 'AWAITING_GUARANTEE' AND h.event = 'awaiting_guarantee'
) a ON true
WHERE r.state = 'AWAITING_GUARANTEE' AND r.guarantee_received_at IS NULL AND r.guarantee_reannouncements < :most
  AND coalesce(r.guarantee_reannounced_at, a.at) < :before
ORDER BY r.updated_at LIMIT :page FOR UPDATE OF r SKIP LOCKED;

-- name: mark_guarantee_reannounced(id, at)!
UPDATE request SET guarantee_reannounced_at = :at, guarantee_reannouncements = guarantee_reannouncements + 1
WHERE id = :id;

-- name: guarantee_requests_per_state(most)
-- For the metrics: requests waiting for guarantees, by what their office said of the request.
SELECT CASE WHEN guarantee_received_at IS NOT NULL THEN 'received'
            WHEN guarantee_reannouncements >= :most THEN 'unacknowledged'
            ELSE 'awaiting_receipt' END AS state,
       count(*) AS n
FROM request WHERE state = 'AWAITING_GUARANTEE' GROUP BY 1;
