-- Refresh tokens (issue 17): a session a phone can keep. Each login opens a family; each refresh uses
-- its token once and gets the next of the family. A token used twice means it was copied: the whole
-- family is revoked. Only the SHA-256 of a token is kept: a database dump opens no session.
CREATE TABLE refresh_token (
    id          uuid        PRIMARY KEY,
    family_id   uuid        NOT NULL,
    account_id  uuid        NOT NULL REFERENCES account (id),
    token_hash  bytea       NOT NULL UNIQUE,
    issued_at   timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_token_family ON refresh_token (family_id);
CREATE INDEX refresh_token_expiry ON refresh_token (expires_at);
