-- name: insert_session(id_hash, access_token, refresh_token, access_expires_at, login, display_name, affiliates, affiliate, csrf_token, expires_at)!
INSERT INTO portal_sessions (
    id_hash, access_token, refresh_token, access_expires_at, login, display_name, affiliates, affiliate, csrf_token,
    expires_at
)
VALUES (
    :id_hash, :access_token, :refresh_token, :access_expires_at, :login, :display_name, CAST(:affiliates AS jsonb),
    :affiliate, :csrf_token, :expires_at
);

-- name: live_session(id_hash)^
SELECT access_token, refresh_token, access_expires_at, login, display_name, affiliates::text AS affiliates, affiliate,
       csrf_token, expires_at
  FROM portal_sessions
 WHERE id_hash = :id_hash AND expires_at > now();

-- name: lock_live_session(id_hash)^
-- Two pages of one session loading at once must not both spend the refresh token (auth would take the
-- second use for a copy and end the session): the second waits here, then finds the new access token.
SELECT access_token, refresh_token, access_expires_at, login, display_name, affiliates::text AS affiliates, affiliate,
       csrf_token, expires_at
  FROM portal_sessions
 WHERE id_hash = :id_hash AND expires_at > now()
   FOR UPDATE;

-- name: renew(id_hash, access_token, refresh_token, access_expires_at)!
UPDATE portal_sessions
   SET access_token = :access_token, refresh_token = :refresh_token, access_expires_at = :access_expires_at
 WHERE id_hash = :id_hash;

-- name: choose_affiliate(id_hash, affiliate)!
UPDATE portal_sessions SET affiliate = :affiliate WHERE id_hash = :id_hash;

-- name: delete_session(id_hash)!
DELETE FROM portal_sessions WHERE id_hash = :id_hash;

-- name: purge_expired()$
-- Expired sessions are useless (their token is dead too); a few at a time keeps each delete short.
WITH gone AS (
    DELETE FROM portal_sessions
     WHERE id_hash IN (SELECT id_hash FROM portal_sessions WHERE expires_at < now() LIMIT 1000)
    RETURNING 1
)
SELECT count(*) FROM gone;
