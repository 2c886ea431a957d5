CREATE TABLE affiliate (
    numero          text        PRIMARY KEY CHECK (numero ~ '^[0-9]{7}$'),
    raison_sociale  text        NOT NULL,
    ice             text        NOT NULL CHECK (ice ~ '^[0-9]{15}$'),
    perception_code text        NOT NULL,
    perception_name text        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE account (
    id            uuid        PRIMARY KEY,
    login         text        NOT NULL UNIQUE CHECK (login = lower(btrim(login))),
    password_hash text        NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    display_name  text        NOT NULL,
    imported_at   timestamptz NOT NULL DEFAULT now()
);

-- A group account (compte groupe) holds several affiliates; an affiliate may be held by several accounts.
CREATE TABLE account_affiliate (
    account_id uuid    NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    numero     text    NOT NULL REFERENCES affiliate (numero),
    PRIMARY KEY (account_id, numero)
);

-- Keyed by the login as typed (normalized), not by account: unknown logins lock exactly like known ones.
CREATE TABLE login_attempt (
    login                text        PRIMARY KEY,
    consecutive_failures integer     NOT NULL DEFAULT 0,
    locked_until         timestamptz,
    last_attempt_at      timestamptz NOT NULL DEFAULT now()
);
