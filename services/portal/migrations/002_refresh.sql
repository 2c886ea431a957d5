-- Sessions that outlive the 15-minute access token (issue 17): the portal keeps auth's refresh token
-- beside the access token and exchanges it when the access token is about to expire.
-- expires_at is now the session's own end (the refresh token's, capped by SESSION_MAX_HOURS).
ALTER TABLE portal_sessions ADD COLUMN refresh_token text;
ALTER TABLE portal_sessions ADD COLUMN access_expires_at timestamptz;
UPDATE portal_sessions SET access_expires_at = expires_at WHERE access_expires_at IS NULL;
ALTER TABLE portal_sessions ALTER COLUMN access_expires_at SET NOT NULL;
