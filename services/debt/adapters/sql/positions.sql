-- name: insert_entries(entry_ids, event_ids, affiliates, kinds, periods, categories, amounts, effective_on)
-- Returns only the entries seen for the first time: the others were applied before.
INSERT INTO ledger_entry (entry_id, event_id, affiliate, kind, period, category, amount, effective_on)
SELECT * FROM unnest(
    :entry_ids::text[], :event_ids::uuid[], :affiliates::text[], :kinds::text[],
    :periods::text[], :categories::text[], :amounts::numeric[], :effective_on::date[]
)
ON CONFLICT (entry_id) DO NOTHING
RETURNING entry_id;

-- name: add_to_balances(affiliates, periods, principal_due, principal_paid, majorations_due, majorations_paid, astreintes_due, astreintes_paid, frais_due, frais_paid)!
INSERT INTO period_balance AS b (affiliate, period, principal_due, principal_paid, majorations_due,
                                 majorations_paid, astreintes_due, astreintes_paid, frais_due, frais_paid)
SELECT * FROM unnest(
    :affiliates::text[], :periods::text[], :principal_due::numeric[], :principal_paid::numeric[],
    :majorations_due::numeric[], :majorations_paid::numeric[], :astreintes_due::numeric[],
    :astreintes_paid::numeric[], :frais_due::numeric[], :frais_paid::numeric[]
)
ON CONFLICT (affiliate, period) DO UPDATE SET
    principal_due    = b.principal_due    + EXCLUDED.principal_due,
    principal_paid   = b.principal_paid   + EXCLUDED.principal_paid,
    majorations_due  = b.majorations_due  + EXCLUDED.majorations_due,
    majorations_paid = b.majorations_paid + EXCLUDED.majorations_paid,
    astreintes_due   = b.astreintes_due   + EXCLUDED.astreintes_due,
    astreintes_paid  = b.astreintes_paid  + EXCLUDED.astreintes_paid,
    frais_due        = b.frais_due        + EXCLUDED.frais_due,
    frais_paid       = b.frais_paid       + EXCLUDED.frais_paid;

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
