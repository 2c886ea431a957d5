-- When each session (family) began: a refresh gives the next token of the family, and each token
-- lived REFRESH_TOKEN_DAYS from its own issue, so a session refreshed often enough lasted for ever.
-- Now no token of a family outlives its start + SESSION_MAX_AGE_DAYS (security review 2026-12-04 §B).
ALTER TABLE refresh_token ADD COLUMN session_started_at timestamptz;
UPDATE refresh_token r SET session_started_at = f.started
FROM (SELECT family_id, min(issued_at) AS started FROM refresh_token GROUP BY family_id) f
WHERE r.family_id = f.family_id;
ALTER TABLE refresh_token ALTER COLUMN session_started_at SET NOT NULL;
