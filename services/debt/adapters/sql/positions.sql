-- name: insert_entries(entry_ids, event_ids, affiliates, kinds, periods, categories, amounts, effective_on)
-- Returns only the entries seen for the first time: the others were applied before.
INSERT INTO ledger_entry (entry_id, event_id, affiliate, kind, period, category, amount, effective_on)
SELECT * FROM unnest(
    :entry_ids::text[], :event_ids::uuid[], :affiliates::text[], :kinds::text[],
    :periods::text[], :categories::text[], :amounts::numeric[], :effective_on::date[]
)
ON CONFLICT (entry_id) DO NOTHING
RETURNING entry_id;

-- name: add_to_balances(affiliates, periods, principal_due, principal_paid, principal_written_off, majorations_due, majorations_paid, majorations_written_off, astreintes_due, astreintes_paid, astreintes_written_off, frais_due, frais_paid, frais_written_off, principal_paid_on)!
INSERT INTO period_balance AS b (affiliate, period,
                                 principal_due, principal_paid, principal_written_off,
                                 majorations_due, majorations_paid, majorations_written_off,
                                 astreintes_due, astreintes_paid, astreintes_written_off,
                                 frais_due, frais_paid, frais_written_off, principal_paid_on)
SELECT * FROM unnest(
    :affiliates::text[], :periods::text[],
    :principal_due::numeric[], :principal_paid::numeric[], :principal_written_off::numeric[],
    :majorations_due::numeric[], :majorations_paid::numeric[], :majorations_written_off::numeric[],
    :astreintes_due::numeric[], :astreintes_paid::numeric[], :astreintes_written_off::numeric[],
    :frais_due::numeric[], :frais_paid::numeric[], :frais_written_off::numeric[],
    :principal_paid_on::date[]
)
ON CONFLICT (affiliate, period) DO UPDATE SET
    principal_due           = b.principal_due           + EXCLUDED.principal_due,
    principal_paid          = b.principal_paid          + EXCLUDED.principal_paid,
    principal_written_off   = b.principal_written_off   + EXCLUDED.principal_written_off,
    majorations_due         = b.majorations_due         + EXCLUDED.majorations_due,
    majorations_paid        = b.majorations_paid        + EXCLUDED.majorations_paid,
    majorations_written_off = b.majorations_written_off + EXCLUDED.majorations_written_off,
    astreintes_due          = b.astreintes_due          + EXCLUDED.astreintes_due,
    astreintes_paid         = b.astreintes_paid         + EXCLUDED.astreintes_paid,
    astreintes_written_off  = b.astreintes_written_off  + EXCLUDED.astreintes_written_off,
    frais_due               = b.frais_due               + EXCLUDED.frais_due,
    frais_paid              = b.frais_paid              + EXCLUDED.frais_paid,
    frais_written_off       = b.frais_written_off       + EXCLUDED.frais_written_off,
    principal_paid_on       = GREATEST(b.principal_paid_on, EXCLUDED.principal_paid_on);

-- name: open_arrangement(affiliate, arrangement_id, perception_code, perception_name, opened_on)!
INSERT INTO arrangement (affiliate, arrangement_id, perception_code, perception_name, opened_on)
VALUES (:affiliate, :arrangement_id, :perception_code, :perception_name, :opened_on)
ON CONFLICT (affiliate, arrangement_id) DO UPDATE SET
    perception_code = EXCLUDED.perception_code, perception_name = EXCLUDED.perception_name,
    opened_on = EXCLUDED.opened_on;

-- name: close_arrangement(affiliate, arrangement_id, closed_on)!
UPDATE arrangement SET closed_on = :closed_on
WHERE affiliate = :affiliate AND arrangement_id = :arrangement_id;

-- name: bump_versions(affiliates)
INSERT INTO position AS p (affiliate, version)
SELECT unnest(:affiliates::text[]), 1
ON CONFLICT (affiliate) DO UPDATE SET version = p.version + 1, updated_at = now()
RETURNING affiliate, version;

-- name: versions_of(affiliates)
SELECT affiliate, version FROM position WHERE affiliate = ANY(:affiliates::text[]);

-- name: balances_of(affiliates)
SELECT * FROM period_balance WHERE affiliate = ANY(:affiliates::text[]) ORDER BY affiliate, period;

-- name: active_arrangements_of(affiliates)
SELECT DISTINCT ON (affiliate) affiliate, arrangement_id, perception_code, perception_name, opened_on
FROM arrangement
WHERE affiliate = ANY(:affiliates::text[]) AND closed_on IS NULL
ORDER BY affiliate, opened_on DESC, arrangement_id;

-- name: save_views(affiliates, views, cutoff)!
UPDATE position AS p SET view = v.view, view_cutoff = :cutoff
FROM unnest(:affiliates::text[], :views::json[]) AS v(affiliate, view)
WHERE p.affiliate = v.affiliate;

-- name: view_of(affiliate)$
SELECT view FROM position WHERE affiliate = :affiliate;

-- name: stale_views(cutoff, limit)
SELECT affiliate FROM position
WHERE view IS NULL OR view_cutoff IS DISTINCT FROM :cutoff
ORDER BY affiliate LIMIT :limit;

-- name: lock_positions(affiliates)
-- Another replica's batch may be changing these positions: wait for it, then read them whole.
SELECT affiliate FROM position WHERE affiliate = ANY(:affiliates::text[]) ORDER BY affiliate FOR UPDATE;

-- name: affiliates_page(after, limit)
SELECT affiliate FROM position WHERE affiliate > :after ORDER BY affiliate LIMIT :limit;

-- name: insert_plan(request_id, affiliate, eligible_periods, remise_principal, remise_majorations, remise_astreintes, remise_frais, to_pay, validated_at)
-- A request validated twice (a replay) keeps its first plan: nothing is returned then.
INSERT INTO remission_plan (request_id, affiliate, state, eligible_periods, remise_principal,
                            remise_majorations, remise_astreintes, remise_frais, to_pay, validated_at)
VALUES (:request_id, :affiliate, 'PENDING', :eligible_periods, :remise_principal, :remise_majorations,
        :remise_astreintes, :remise_frais, :to_pay, :validated_at)
ON CONFLICT (request_id) DO NOTHING
RETURNING request_id;

-- name: insert_shares(request_ids, periods, categories, amounts)!
INSERT INTO remission_share (request_id, period, category, amount)
SELECT * FROM unnest(:request_ids::uuid[], :periods::text[], :categories::text[], :amounts::numeric[]);

-- name: plan_for_update(request_id)^
SELECT * FROM remission_plan WHERE request_id = :request_id FOR UPDATE;

-- name: shares_of(request_ids)
SELECT request_id, period, category, amount FROM remission_share
WHERE request_id = ANY(:request_ids::uuid[]) ORDER BY request_id, period, category;

-- name: insert_payment(request_id, sequence, attempt, amount, settled_at)
-- Returns nothing when this debit's settlement was already recorded.
INSERT INTO plan_payment (request_id, sequence, attempt, amount, surplus, settled_at)
VALUES (:request_id, :sequence, :attempt, :amount, 0, :settled_at)
ON CONFLICT (request_id, sequence) DO NOTHING
RETURNING request_id;

-- name: record_surplus(request_id, sequence, surplus)!
UPDATE plan_payment SET surplus = :surplus WHERE request_id = :request_id AND sequence = :sequence;

-- name: add_paid(request_id, imputed, surplus)!
UPDATE remission_plan SET paid = paid + :imputed, unapplied = unapplied + :surplus
WHERE request_id = :request_id;

-- name: close_plan(request_id, state, closed_on)!
UPDATE remission_plan SET state = :state, closed_on = :closed_on WHERE request_id = :request_id;

-- name: remissions_of(affiliates)
-- Each affiliate's latest validated plan.
SELECT DISTINCT ON (affiliate) * FROM remission_plan
WHERE affiliate = ANY(:affiliates::text[])
ORDER BY affiliate, validated_at DESC, request_id;

-- name: balances_for_update(affiliate)
-- Balances first, then the position (bump_versions): the ledger batches take their locks in that
-- order too, so a plan event and a ledger batch for the same affiliate never deadlock.
SELECT * FROM period_balance WHERE affiliate = :affiliate ORDER BY period FOR UPDATE;

-- name: without_position(affiliates)
-- Of these affiliates, those the ledger has never mentioned (no position yet).
SELECT a.affiliate FROM unnest(:affiliates::text[]) AS a (affiliate)
WHERE NOT EXISTS (SELECT 1 FROM position p WHERE p.affiliate = a.affiliate);
