-- Every ledger entry ever applied, keyed by its entry id: the ledger's own inbox (an entry delivered
-- twice is applied once) and the audit trail of how each balance came to be.
CREATE TABLE ledger_entry (
    entry_id    text        PRIMARY KEY,
    event_id    uuid        NOT NULL,
    affiliate   text        NOT NULL,
    kind        text        NOT NULL,
    period      text,
    category    text,
    amount      numeric(16, 2) CHECK (amount > 0),
    effective_on date       NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entry_affiliate ON ledger_entry (affiliate, period);

-- One row per affiliate and period: what is due and paid in each of the four categories.
CREATE TABLE period_balance (
    affiliate        text           NOT NULL CHECK (affiliate ~ '^[0-9]{7}$'),
    period           text           NOT NULL CHECK (period ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
    principal_due    numeric(16, 2) NOT NULL DEFAULT 0,
    principal_paid   numeric(16, 2) NOT NULL DEFAULT 0,
    majorations_due  numeric(16, 2) NOT NULL DEFAULT 0,
    majorations_paid numeric(16, 2) NOT NULL DEFAULT 0,
    astreintes_due   numeric(16, 2) NOT NULL DEFAULT 0,
    astreintes_paid  numeric(16, 2) NOT NULL DEFAULT 0,
    frais_due        numeric(16, 2) NOT NULL DEFAULT 0,
    frais_paid       numeric(16, 2) NOT NULL DEFAULT 0,
    PRIMARY KEY (affiliate, period)
);

-- The version of each affiliate's position: bumped once per batch that changed it.
CREATE TABLE position (
    affiliate  text        PRIMARY KEY CHECK (affiliate ~ '^[0-9]{7}$'),
    version    bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE arrangement (
    affiliate       text    NOT NULL,
    arrangement_id  text    NOT NULL,
    perception_code text    NOT NULL,
    perception_name text    NOT NULL,
    opened_on       date    NOT NULL,
    closed_on       date,
    PRIMARY KEY (affiliate, arrangement_id)
);
CREATE INDEX arrangement_active ON arrangement (affiliate) WHERE closed_on IS NULL;
