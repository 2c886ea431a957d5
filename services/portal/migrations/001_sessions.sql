-- A portal session: the browser holds only a random id (HttpOnly cookie); the access token stays here.
CREATE TABLE portal_sessions (
    id_hash       bytea PRIMARY KEY,          -- sha256 of the cookie value: a database dump opens no session
    access_token  text        NOT NULL,
    login         text        NOT NULL,
    display_name  text        NOT NULL,
    affiliates    jsonb       NOT NULL,       -- as auth answered at login: numero, raison sociale, perception
    affiliate     text,                       -- the one chosen (group accounts choose; others have one)
    csrf_token    text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL        -- the access token's own expiry: the session cannot outlive it
);

CREATE INDEX portal_sessions_expiry ON portal_sessions (expires_at);
