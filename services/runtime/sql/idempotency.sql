-- name: begin(account_id, key, request_hash, expired_before, abandoned_before)^
-- Takes the key for this request, or returns what holds it. A key older than its retention is free
-- again; one whose first request started before `abandoned_before` and never answered (its process
-- died) is taken over.
INSERT INTO idempotency_key AS k (account_id, key, request_hash)
VALUES (:account_id, :key, :request_hash)
ON CONFLICT (account_id, key) DO UPDATE
    SET request_hash = excluded.request_hash, status = NULL, headers = NULL, body = NULL, created_at = now()
    WHERE k.created_at < :expired_before OR (k.status IS NULL AND k.created_at < :abandoned_before)
RETURNING true AS taken, NULL::bytea AS request_hash, NULL::integer AS status, NULL::jsonb AS headers,
          NULL::bytea AS body;

-- name: held(account_id, key)^
SELECT false AS taken, request_hash, status, headers, body FROM idempotency_key
WHERE account_id = :account_id AND key = :key;

-- name: answered(account_id, key, status, headers, body)!
UPDATE idempotency_key SET status = :status, headers = :headers, body = :body
WHERE account_id = :account_id AND key = :key;

-- name: release(account_id, key)!
-- Not answered (an error of ours, an overload): nothing to give again, the same key may try again.
DELETE FROM idempotency_key WHERE account_id = :account_id AND key = :key AND status IS NULL;

-- name: purge(before)$
WITH gone AS (
    DELETE FROM idempotency_key
    WHERE (account_id, key) IN (SELECT account_id, key FROM idempotency_key WHERE created_at < :before LIMIT 5000)
    RETURNING 1
)
SELECT count(*) FROM gone;
