-- name: account_by_login(login)^
SELECT id::text AS id, login, password_hash, display_name FROM account WHERE login = :login;

-- name: upgrade_password_hash(account_id, old_hash, new_hash)!
-- After a login, a hash made with other argon2 parameters is replaced by one made with ours; an
-- import that changed the hash meanwhile wins (the WHERE finds nothing).
UPDATE account SET password_hash = :new_hash WHERE id = :account_id::uuid AND password_hash = :old_hash;

-- name: affiliates_of(account_id)
SELECT a.numero, a.raison_sociale, a.ice, a.perception_code, a.perception_name, a.email, a.mobile, a.language
FROM account_affiliate aa JOIN affiliate a USING (numero)
WHERE aa.account_id = :account_id::uuid
ORDER BY a.raison_sociale, a.numero;

-- name: attempts(login, address)^
-- A glance, no lock: is this login locked for this address? (answered before any password is hashed)
SELECT consecutive_failures, locked_until FROM login_attempt WHERE login = :login AND address = :address;

-- name: lock_attempts(login, address)^
-- Serializes the bookkeeping of one login's attempts from one address, so parallel guesses cannot
-- slip past the threshold. Held only while an outcome is recorded: never while a password is hashed.
INSERT INTO login_attempt (login, address) VALUES (:login, :address)
ON CONFLICT (login, address) DO UPDATE SET last_attempt_at = now()
RETURNING consecutive_failures, locked_until;

-- name: save_attempts(login, address, consecutive_failures, locked_until)!
UPDATE login_attempt
SET consecutive_failures = :consecutive_failures, locked_until = :locked_until, last_attempt_at = now()
WHERE login = :login AND address = :address;

-- name: upsert_affiliate(numero, raison_sociale, ice, perception_code, perception_name, email, mobile, language)!
INSERT INTO affiliate (numero, raison_sociale, ice, perception_code, perception_name, email, mobile, language)
VALUES (:numero, :raison_sociale, :ice, :perception_code, :perception_name, :email, :mobile, :language)
ON CONFLICT (numero) DO UPDATE SET
    raison_sociale = EXCLUDED.raison_sociale, ice = EXCLUDED.ice,
    perception_code = EXCLUDED.perception_code, perception_name = EXCLUDED.perception_name,
    email = EXCLUDED.email, mobile = EXCLUDED.mobile, language = EXCLUDED.language, updated_at = now();

-- name: upsert_account(id, login, password_hash, display_name)$
INSERT INTO account (id, login, password_hash, display_name)
VALUES (:id::uuid, :login, :password_hash, :display_name)
ON CONFLICT (login) DO UPDATE SET password_hash = EXCLUDED.password_hash, display_name = EXCLUDED.display_name
RETURNING id::text;

-- name: replace_affiliations(account_id, numeros)!
WITH gone AS (
    DELETE FROM account_affiliate WHERE account_id = :account_id::uuid AND NOT (numero = ANY(:numeros::text[]))
)
INSERT INTO account_affiliate (account_id, numero)
SELECT :account_id::uuid, unnest(:numeros::text[])
ON CONFLICT DO NOTHING;

-- name: count_accounts()$
SELECT count(*) FROM account;

-- name: affiliates_after(after, page)
-- Keyset pages over every affiliate, to re-announce them.
SELECT numero, raison_sociale, ice, perception_code, perception_name, email, mobile, language
FROM affiliate WHERE numero > :after ORDER BY numero LIMIT :page;

-- name: purge_attempts(before)$
-- Counters nobody has touched since ``before`` and no lock still running: a login that comes back
-- after that starts from zero failures, as it would have once its lock ended.
WITH gone AS (
    DELETE FROM login_attempt
    WHERE (login, address) IN (
        SELECT login, address FROM login_attempt
        WHERE last_attempt_at < :before AND (locked_until IS NULL OR locked_until < :before)
        LIMIT 5000
    )
    RETURNING 1
)
SELECT count(*) FROM gone;
