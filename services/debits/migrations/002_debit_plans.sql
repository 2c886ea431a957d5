-- Plans of validated requests, their debits, the orders sent to the banks and the banks' results.

-- Who each affiliate is (auth.affiliates.v1): the debtor's name on the orders.
CREATE TABLE affiliate_profile (
    affiliate      text PRIMARY KEY CHECK (affiliate ~ '^[0-9]{7}$'),
    raison_sociale text NOT NULL CHECK (length(raison_sociale) BETWEEN 1 AND 200)
);

-- One plan per request: a replayed VALIDATED event finds it and changes nothing.
CREATE TABLE plan (
    request_id         uuid        PRIMARY KEY,
    affiliate          text        NOT NULL CHECK (affiliate ~ '^[0-9]{7}$'),
    programme          text        NOT NULL CHECK (length(programme) BETWEEN 1 AND 32),
    modality           text        NOT NULL CHECK (modality IN ('FULL', 'INSTALLMENTS')),
    bank_account_id    text        NOT NULL REFERENCES bank_accounts (id),
    -- The account as it was when the plan was validated: the mandate names this RIB.
    rib                text        NOT NULL CHECK (rib ~ '^[0-9]{24}$'),
    bank_code          text        NOT NULL CHECK (bank_code ~ '^[0-9]{3}$' AND bank_code = substr(rib, 1, 3)),
    holder             text        NOT NULL CHECK (length(holder) BETWEEN 1 AND 200),
    mandate_id         text        NOT NULL UNIQUE CHECK (mandate_id ~ '^[A-Za-z0-9-]{1,35}$'),
    mandate_signed_on  date        NOT NULL,
    installments_total integer     NOT NULL CHECK (installments_total >= 1),
    state              text        NOT NULL CHECK (state IN ('ACTIVE', 'COMPLETED', 'DEFAULTED')),
    closed_on          date        CHECK ((state = 'ACTIVE') = (closed_on IS NULL)),
    created_at         timestamptz NOT NULL
);
CREATE INDEX plan_by_affiliate ON plan (affiliate);

CREATE TABLE debit (
    request_id      uuid          NOT NULL REFERENCES plan (request_id),
    sequence        integer       NOT NULL CHECK (sequence BETWEEN 1 AND 999),
    kind            text          NOT NULL CHECK (kind IN ('FULL', 'ADVANCE', 'INSTALLMENT')),
    due_date        date          NOT NULL,
    collection_date date          NOT NULL CHECK (collection_date >= due_date),
    amount          numeric(16,2) NOT NULL CHECK (amount > 0),
    state           text          NOT NULL CHECK (state IN ('SCHEDULED', 'ORDERED', 'SETTLED', 'FAILED', 'CANCELLED')),
    attempts        integer       NOT NULL DEFAULT 0 CHECK (attempts BETWEEN 0 AND 99),
    -- When the debit is (again) to be presented: set exactly while it waits to be sent.
    next_attempt_on date,
    PRIMARY KEY (request_id, sequence),
    CHECK (state <> 'SCHEDULED' OR next_attempt_on IS NOT NULL),
    CHECK (state IN ('SCHEDULED', 'FAILED') OR next_attempt_on IS NULL)
);
-- What a debit run reads: only the debits waiting to be sent, by date.
-- In the order the run takes them: each page is an index scan that stops after the page, not a
-- sort of every debit still due (quadratic over a run of a million).
CREATE INDEX debit_due ON debit (next_attempt_on, request_id, sequence) WHERE next_attempt_on IS NOT NULL;

-- Every order sent to a bank. The primary key (the end-to-end id) and the unique
-- (request, installment, attempt) make a second order for the same attempt impossible, whatever
-- the code does: a run that crashed and the next one cannot both commit it.
CREATE TABLE debit_order (
    end_to_end_id             text          PRIMARY KEY CHECK (end_to_end_id ~ '^[A-Za-z0-9-]{1,35}$'),
    request_id                uuid          NOT NULL,
    sequence                  integer       NOT NULL,
    attempt                   integer       NOT NULL CHECK (attempt >= 1),
    bank_code                 text          NOT NULL CHECK (bank_code ~ '^[0-9]{3}$'),
    amount                    numeric(16,2) NOT NULL CHECK (amount > 0),
    requested_collection_date date          NOT NULL,
    run_date                  date          NOT NULL,
    ordered_at                timestamptz   NOT NULL,
    outcome                   text          CHECK (outcome IN ('EXECUTED', 'REJECTED')),
    reason_code               text          CHECK (reason_code ~ '^[A-Z0-9]{4}$'),
    result_on                 date,
    CHECK ((outcome IS NULL) = (result_on IS NULL)),
    CHECK ((outcome = 'REJECTED') = (reason_code IS NOT NULL)),
    UNIQUE (request_id, sequence, attempt),
    FOREIGN KEY (request_id, sequence) REFERENCES debit (request_id, sequence)
);
CREATE INDEX debit_order_by_run ON debit_order (run_date, bank_code);

-- Every change of state of a debit, with when and why.
CREATE TABLE debit_history (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id      uuid        NOT NULL,
    sequence        integer     NOT NULL,
    at              timestamptz NOT NULL,
    from_state      text        CHECK (from_state IN ('SCHEDULED', 'ORDERED', 'SETTLED', 'FAILED', 'CANCELLED')),
    to_state        text        NOT NULL CHECK (to_state IN ('SCHEDULED', 'ORDERED', 'SETTLED', 'FAILED', 'CANCELLED')),
    attempt         integer     NOT NULL CHECK (attempt >= 0),
    reason          text        NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    end_to_end_id   text        CHECK (end_to_end_id ~ '^[A-Za-z0-9-]{1,35}$'),
    reason_code     text        CHECK (reason_code ~ '^[A-Z0-9]{4}$'),
    final           boolean     NOT NULL DEFAULT false,
    next_attempt_on date,
    FOREIGN KEY (request_id, sequence) REFERENCES debit (request_id, sequence)
);
CREATE INDEX debit_history_by_debit ON debit_history (request_id, sequence, id);
