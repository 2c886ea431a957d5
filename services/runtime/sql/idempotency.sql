-- name: begin(account_id, key, request_hash, ttl_seconds, abandoned_seconds)^
-- Takes the key for this request and returns the instant it took it (its claim), or nothing when
-- something holds it. A key older than its retention is free again; one whose first request started
-- `abandoned_seconds` ago and never answered (its process died) is taken over by the same request
-- only (another request is a client's mistake: 422). The database's clock, not the replicas'.
INSERT INTO idempotency_key AS k (account_id, key, request_hash)
VALUES (:account_id, :key, :request_hash)
ON CONFLICT (account_id, key) DO UPDATE
    SET request_hash = excluded.request_hash, status = NULL, headers = NULL, body = NULL,
        created_at = now()
    WHERE k.created_at < now() - make_interval(secs => :ttl_seconds)
       OR (k.status IS NULL AND k.request_hash = excluded.request_hash
           AND k.created_at < now() - make_interval(secs => :abandoned_seconds))
RETURNING created_at;

-- name: held(account_id, key)^
SELECT request_hash, status, headers, body FROM idempotency_key
WHERE account_id = :account_id AND key = :key;

-- name: answered(account_id, key, claimed_at, status, headers, body)!
-- Only by the request that still holds the key: one taken over after ABANDONED_AFTER has lost it.
UPDATE idempotency_key SET status = :status, headers = :headers, body = :body
WHERE account_id = :account_id AND key = :key AND created_at = :claimed_at AND status IS NULL;

-- name: release(account_id, key, claimed_at)!
-- Not answered (an error of ours, an overload): nothing to give again, the same key may try again.
DELETE FROM idempotency_key
WHERE account_id = :account_id AND key = :key AND created_at = :claimed_at AND status IS NULL;

-- name: purge(before)$
WITH gone AS (
    DELETE FROM idempotency_key
    WHERE (account_id, key) IN (SELECT account_id, key FROM idempotency_key WHERE created_at < :before LIMIT 5000)
    RETURNING 1
)
SELECT count(*) FROM gone;
