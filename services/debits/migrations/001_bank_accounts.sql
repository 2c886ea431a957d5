-- The bank accounts each affiliate registered. The full RIB lives here and only here: debits is the
-- one service that sends it (to the bank concerned); the others see it masked.
-- text, not char(n): char(n) = ANY(text[]) would not use the indexes.
CREATE TABLE bank_accounts (
    id            text        PRIMARY KEY,
    affiliate     text        NOT NULL CHECK (affiliate ~ '^[0-9]{7}$'),
    rib           text        NOT NULL CHECK (rib ~ '^[0-9]{24}$'),
    bank_code     text        NOT NULL CHECK (bank_code ~ '^[0-9]{3}$'),
    bank_name     text        NOT NULL,
    holder        text        NOT NULL,
    registered_at timestamptz NOT NULL,
    UNIQUE (affiliate, rib)
);

-- The version of each affiliate's list of accounts: bumped once per change, carried by its event
-- so consumers keep the newest list (the topic is compacted by affiliate).
CREATE TABLE affiliate_accounts_version (
    affiliate text   PRIMARY KEY CHECK (affiliate ~ '^[0-9]{7}$'),
    version   bigint NOT NULL CHECK (version >= 1)
);
