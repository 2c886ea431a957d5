-- name: insert_refresh(id, family_id, account_id, token_hash, issued_at, expires_at, session_started_at)!
INSERT INTO refresh_token (id, family_id, account_id, token_hash, issued_at, expires_at, session_started_at)
VALUES (:id, :family_id, :account_id::uuid, :token_hash, :issued_at, :expires_at, :session_started_at);

-- name: family_of(token_hash)$
SELECT family_id FROM refresh_token WHERE token_hash = :token_hash;

-- name: lock_family(family_id)!
-- Every change of a session (a refresh, a logout, a revocation for a copy) takes its family's lock
-- first, then rows: they are decided one after another, and a logout sees the token a refresh has
-- just issued (its UPDATE starts after the refresh committed), instead of missing it.
SELECT pg_advisory_xact_lock(7301, hashtext(:family_id::text));

-- name: lock_refresh(token_hash)^
SELECT id, family_id, account_id::text AS account_id, expires_at, used_at, revoked_at, session_started_at
FROM refresh_token WHERE token_hash = :token_hash FOR UPDATE;

-- name: mark_used(id, at)!
UPDATE refresh_token SET used_at = :at WHERE id = :id;

-- name: revoke_family(family_id, at)$
WITH revoked AS (
    UPDATE refresh_token SET revoked_at = :at WHERE family_id = :family_id AND revoked_at IS NULL RETURNING 1
)
SELECT count(*) FROM revoked;

-- name: account_by_id(account_id)^
SELECT id::text AS id, login, password_hash, display_name FROM account WHERE id = :account_id::uuid;

-- name: purge_refresh(before)$
-- Expired before `before`: nothing can use them, and a reuse of one is refused as unknown.
WITH gone AS (
    DELETE FROM refresh_token
    WHERE id IN (SELECT id FROM refresh_token WHERE expires_at < :before LIMIT 5000)
    RETURNING 1
)
SELECT count(*) FROM gone;
