-- Remission plans, learnt from events only (requests.events.v1 VALIDATED, debits.events.v1).
-- What a definitive remission cancels is a column of its own: `due` stays what the core booked,
-- `written_off` what the remission cancelled; outstanding = due - paid - written_off.
ALTER TABLE period_balance
    ADD COLUMN principal_written_off   numeric(16, 2) NOT NULL DEFAULT 0,
    ADD COLUMN majorations_written_off numeric(16, 2) NOT NULL DEFAULT 0,
    ADD COLUMN astreintes_written_off  numeric(16, 2) NOT NULL DEFAULT 0,
    ADD COLUMN frais_written_off       numeric(16, 2) NOT NULL DEFAULT 0;

-- One row per validated request: the quote's remise and to-pay, what was paid on it, and the state
-- of its remission (PENDING while it runs, DEFINITIVE once completed, REINSTATED once defaulted).
CREATE TABLE remission_plan (
    request_id         uuid           PRIMARY KEY,
    affiliate          text           NOT NULL CHECK (affiliate ~ '^[0-9]{7}$'),
    state              text           NOT NULL CHECK (state IN ('PENDING', 'DEFINITIVE', 'REINSTATED')),
    eligible_periods   text[]         NOT NULL,
    remise_principal   numeric(16, 2) NOT NULL,
    remise_majorations numeric(16, 2) NOT NULL,
    remise_astreintes  numeric(16, 2) NOT NULL,
    remise_frais       numeric(16, 2) NOT NULL,
    to_pay             numeric(16, 2) NOT NULL,
    paid               numeric(16, 2) NOT NULL DEFAULT 0,
    unapplied          numeric(16, 2) NOT NULL DEFAULT 0,
    validated_at       timestamptz    NOT NULL,
    closed_on          date
);
CREATE INDEX remission_plan_affiliate ON remission_plan (affiliate, validated_at DESC);

-- The remise shared out per eligible period and category when the plan was validated.
CREATE TABLE remission_share (
    request_id uuid           NOT NULL REFERENCES remission_plan,
    period     text           NOT NULL,
    category   text           NOT NULL,
    amount     numeric(16, 2) NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (request_id, period, category)
);

-- Each settled debit of a plan, once: a debit settles once whatever the attempt, so a settlement
-- announced again (even under another event id) books nothing twice.
CREATE TABLE plan_payment (
    request_id uuid           NOT NULL REFERENCES remission_plan,
    sequence   integer        NOT NULL,
    attempt    integer        NOT NULL,
    amount     numeric(16, 2) NOT NULL CHECK (amount > 0),
    surplus    numeric(16, 2) NOT NULL,
    settled_at timestamptz    NOT NULL,
    PRIMARY KEY (request_id, sequence)
);

-- Stored documents gain a `remission` section: have them rebuilt at the next start (refresh_views).
UPDATE position SET view_cutoff = NULL;
