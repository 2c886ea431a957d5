-- name: upsert_positions(affiliates, versions, remissibles, codes, names, contributions)!
-- One statement for a batch (one row per affiliate). An older version arriving late (a
-- re-announcement, a replay) never replaces a newer one.
INSERT INTO debt_position (affiliate, version, remissible, arrangement_perception_code,
                           arrangement_perception_name, contributions)
SELECT affiliate, version, remissible, code, name, contributions::jsonb
FROM unnest(:affiliates::text[], :versions::bigint[], :remissibles::numeric[], :codes::text[], :names::text[],
            :contributions::text[]) AS t (affiliate, version, remissible, code, name, contributions)
ON CONFLICT (affiliate) DO UPDATE SET
    version = EXCLUDED.version, remissible = EXCLUDED.remissible,
    arrangement_perception_code = EXCLUDED.arrangement_perception_code,
    arrangement_perception_name = EXCLUDED.arrangement_perception_name,
    contributions = EXCLUDED.contributions
WHERE debt_position.version < EXCLUDED.version;

-- name: upsert_profiles(affiliates, raisons_sociales, perception_codes, perception_names)!
INSERT INTO affiliate_profile (affiliate, raison_sociale, perception_code, perception_name)
SELECT * FROM unnest(:affiliates::text[], :raisons_sociales::text[], :perception_codes::text[], :perception_names::text[])
ON CONFLICT (affiliate) DO UPDATE SET
    raison_sociale = EXCLUDED.raison_sociale, perception_code = EXCLUDED.perception_code,
    perception_name = EXCLUDED.perception_name;

-- name: profile_of(affiliate)^
SELECT * FROM affiliate_profile WHERE affiliate = :affiliate;

-- name: upsert_bank_accounts(affiliates, versions, accounts)!
INSERT INTO bank_accounts (affiliate, version, accounts)
SELECT affiliate, version, accounts::jsonb
FROM unnest(:affiliates::text[], :versions::bigint[], :accounts::text[]) AS t (affiliate, version, accounts)
ON CONFLICT (affiliate) DO UPDATE SET version = EXCLUDED.version, accounts = EXCLUDED.accounts
WHERE bank_accounts.version < EXCLUDED.version;

-- name: bank_accounts_of(affiliate)$
SELECT accounts FROM bank_accounts WHERE affiliate = :affiliate;

-- name: insert_quotes(quote_ids, affiliates, modalities, issued_ats, bodies)!
-- The quotes, and the wake-up of the validations waiting for them (delivered at commit), in one
-- statement: one round trip per batch of quotes.
WITH stored AS (
    INSERT INTO quote (quote_id, affiliate, modality, issued_at, body)
    SELECT quote_id, affiliate, modality, issued_at, body::jsonb
    FROM unnest(:quote_ids::uuid[], :affiliates::text[], :modalities::text[], :issued_ats::timestamptz[], :bodies::text[])
        AS t (quote_id, affiliate, modality, issued_at, body)
    ON CONFLICT (quote_id) DO NOTHING
)
SELECT pg_notify('quote_arrived', quote_id::text) FROM unnest(:quote_ids::uuid[]) AS quote_id;

-- name: keep_quote(quote_id, affiliate, modality, issued_at, body)^
-- A quote that came sealed, kept as if its event had arrived (with the same wake-up), and the copy
-- kept before it if there was one: the SELECT reads the statement's snapshot, from before its own
-- INSERT, so ``known`` is NULL when no copy was there as the statement began (then this statement
-- kept it, or a concurrent one did: the same quote, issued once by simulation). One round trip.
WITH stored AS (
    INSERT INTO quote (quote_id, affiliate, modality, issued_at, body)
    VALUES (:quote_id::uuid, :affiliate, :modality, :issued_at, :body::jsonb)
    ON CONFLICT (quote_id) DO NOTHING
)
SELECT q.body AS known, pg_notify('quote_arrived', k.quote_id::text)::text AS woken
FROM (VALUES (:quote_id::uuid)) AS k (quote_id)
LEFT JOIN quote q ON q.quote_id = k.quote_id;

-- name: quote_by_id(quote_id)$
SELECT body FROM quote WHERE quote_id = :quote_id;

-- name: validation_facts_of(affiliate, quote_affiliate, issued_at)^
-- What a validation reads of the projections, in one round trip instead of four: the affiliate's
-- position, bank accounts and office (NULL when never announced), and whether the quote's affiliate
-- has a later quote (validation binds the last simulation shown, whatever its modality).
SELECT p.version, p.remissible, p.arrangement_perception_code, p.arrangement_perception_name,
       (SELECT b.accounts FROM bank_accounts b WHERE b.affiliate = a.affiliate) AS accounts,
       o.raison_sociale, o.perception_code, o.perception_name,
       exists(SELECT 1 FROM quote q WHERE q.affiliate = :quote_affiliate AND q.issued_at > :issued_at) AS newer_quote_exists
FROM (VALUES (:affiliate::text)) AS a (affiliate)
LEFT JOIN debt_position p ON p.affiliate = a.affiliate
LEFT JOIN affiliate_profile o ON o.affiliate = a.affiliate;

-- name: purge_quotes(before)$
-- Quotes issued before ``before``, long expired: a request keeps its own copy of the quote it bound.
WITH gone AS (
    DELETE FROM quote WHERE quote_id IN (SELECT quote_id FROM quote WHERE issued_at < :before LIMIT 5000)
    RETURNING 1
)
SELECT count(*) FROM gone;
