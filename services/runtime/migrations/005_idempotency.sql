-- Idempotency-Key (issue 17): the first answer to a POST, kept for IDEMPOTENCY_KEY_HOURS so that the
-- same key with the same request gets it again instead of doing the work twice. Keys are per caller
-- (the token's account): one client's keys never meet another's, nor read another's answers.
-- status NULL: the first request is still being served.
CREATE TABLE IF NOT EXISTS idempotency_key (
    account_id   text        NOT NULL,
    key          text        NOT NULL,
    request_hash bytea       NOT NULL,
    status       integer,
    headers      jsonb,
    body         bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_key_created ON idempotency_key (created_at);
