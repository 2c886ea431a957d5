-- name: upsert_position(affiliate, version, remissible, arrangement_perception_code, arrangement_perception_name)!
-- An older version arriving late (a re-announcement, a replay) never replaces a newer one.
INSERT INTO debt_position (affiliate, version, remissible, arrangement_perception_code, arrangement_perception_name)
VALUES (:affiliate, :version, :remissible, :arrangement_perception_code, :arrangement_perception_name)
ON CONFLICT (affiliate) DO UPDATE SET
    version = EXCLUDED.version, remissible = EXCLUDED.remissible,
    arrangement_perception_code = EXCLUDED.arrangement_perception_code,
    arrangement_perception_name = EXCLUDED.arrangement_perception_name
WHERE debt_position.version < EXCLUDED.version;

-- name: position_of(affiliate)^
SELECT * FROM debt_position WHERE affiliate = :affiliate;

-- name: upsert_profile(affiliate, raison_sociale, perception_code, perception_name)!
INSERT INTO affiliate_profile (affiliate, raison_sociale, perception_code, perception_name)
VALUES (:affiliate, :raison_sociale, :perception_code, :perception_name)
ON CONFLICT (affiliate) DO UPDATE SET
    raison_sociale = EXCLUDED.raison_sociale, perception_code = EXCLUDED.perception_code,
    perception_name = EXCLUDED.perception_name;

-- name: profile_of(affiliate)^
SELECT * FROM affiliate_profile WHERE affiliate = :affiliate;

-- name: upsert_bank_accounts(affiliate, version, accounts)!
INSERT INTO bank_accounts (affiliate, version, accounts) VALUES (:affiliate, :version, :accounts::jsonb)
ON CONFLICT (affiliate) DO UPDATE SET version = EXCLUDED.version, accounts = EXCLUDED.accounts
WHERE bank_accounts.version < EXCLUDED.version;

-- name: bank_accounts_of(affiliate)$
SELECT accounts FROM bank_accounts WHERE affiliate = :affiliate;

-- name: insert_quote(quote_id, affiliate, modality, issued_at, body)!
INSERT INTO quote (quote_id, affiliate, modality, issued_at, body)
VALUES (:quote_id, :affiliate, :modality, :issued_at, :body::jsonb)
ON CONFLICT (quote_id) DO NOTHING;

-- name: quote_by_id(quote_id)$
SELECT body FROM quote WHERE quote_id = :quote_id;

-- name: newer_quote_exists(affiliate, issued_at)$
-- Validation binds the last simulation shown, whatever its modality.
SELECT exists(SELECT 1 FROM quote WHERE affiliate = :affiliate AND issued_at > :issued_at);

-- name: notify_quote(quote_id)!
SELECT pg_notify('quote_arrived', :quote_id::text);
