-- What notifications keeps of others' events, and what it sent. Each projection row is replaced by the
-- latest event about it; the notification rows are the record the affiliate reads ("Mes notifications").

-- auth.affiliates.v1: where and in which language the affiliate is told.
CREATE TABLE contact (
    affiliate  text        PRIMARY KEY CHECK (affiliate ~ '^[0-9]{7}$'),
    email      text,
    mobile     text,
    language   text        NOT NULL CHECK (language IN ('fr', 'ar')),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- requests.events.v1: the request as it stands.
CREATE TABLE request_view (
    request_id         uuid        PRIMARY KEY,
    affiliate          text        NOT NULL,
    state              text        NOT NULL,
    modality           text,
    office             text,
    guarantee_amount   numeric(16, 2),
    guarantee_deadline date,
    bank_account_id    text,
    to_pay             numeric(16, 2),
    remise             numeric(16, 2),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX request_view_awaiting ON request_view (guarantee_deadline) WHERE state = 'AWAITING_GUARANTEE';

-- debits.accounts.v1: the affiliate's accounts, masked (a full RIB never reaches this service).
CREATE TABLE bank_account (
    affiliate  text NOT NULL,
    id         text NOT NULL,
    bank_name  text NOT NULL,
    rib_masked text NOT NULL CHECK (rib_masked ~ '^\*{20}[0-9]{4}$'),
    version    integer NOT NULL,
    PRIMARY KEY (affiliate, id)
);

-- debits.events.v1: each debit's next presentation, for the pre-notification.
CREATE TABLE upcoming_debit (
    request_id   uuid    NOT NULL,
    sequence     integer NOT NULL,
    affiliate    text    NOT NULL,
    amount       numeric(16, 2) NOT NULL,
    state        text    NOT NULL,
    next_on      date,
    attempt      integer NOT NULL,
    PRIMARY KEY (request_id, sequence)
);
CREATE INDEX upcoming_debit_next ON upcoming_debit (next_on) WHERE next_on IS NOT NULL;

CREATE TABLE notification (
    id              uuid        PRIMARY KEY,
    dedupe_key      text        NOT NULL UNIQUE,
    affiliate       text        NOT NULL,
    request_id      uuid,
    kind            text        NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('email', 'sms')),
    facts           jsonb       NOT NULL,
    state           text        NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'SENT', 'FAILED', 'SKIPPED')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    language        text,
    recipient       text,
    subject         text,
    traceparent     text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX notification_due ON notification (next_attempt_at) WHERE state = 'PENDING';
CREATE INDEX notification_of_affiliate ON notification (affiliate, created_at DESC, id DESC);
