-- Requests and their history, owned by this service.
CREATE TABLE request (
    id uuid PRIMARY KEY,
    affiliate text NOT NULL CHECK (affiliate ~ '^[0-9]{7}$'),
    programme text NOT NULL,
    state text NOT NULL CHECK (state IN ('DRAFT', 'AWAITING_GUARANTEE', 'VALIDATED', 'IN_PROGRESS', 'COMPLETED',
                                         'EXPIRED', 'REJECTED', 'CANCELLED', 'DEFAULTED')),
    modality text CHECK (modality IN ('FULL', 'INSTALLMENTS')),
    guarantee_obligation_accepted boolean NOT NULL DEFAULT false,
    bank_account_id text,
    quote_id uuid,
    quote jsonb,
    cg_version text,
    guarantee_deadline date,
    validation_date date,
    schedule jsonb NOT NULL DEFAULT '[]',
    guarantee jsonb,
    created_at timestamptz NOT NULL,
    last_activity_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- At most one request in progress per affiliate, whatever the code does: two simultaneous
-- creations cannot both commit.
CREATE UNIQUE INDEX request_one_in_progress ON request (affiliate)
    WHERE state NOT IN ('COMPLETED', 'EXPIRED', 'REJECTED', 'CANCELLED', 'DEFAULTED');
CREATE INDEX request_by_affiliate ON request (affiliate, created_at DESC);
CREATE INDEX request_awaiting_by_deadline ON request (guarantee_deadline) WHERE state = 'AWAITING_GUARANTEE';
CREATE INDEX request_draft_by_activity ON request (last_activity_at) WHERE state = 'DRAFT';

CREATE TABLE request_history (
    request_id uuid NOT NULL REFERENCES request (id),
    seq integer NOT NULL,
    at timestamptz NOT NULL,
    event text NOT NULL,
    from_state text,
    to_state text NOT NULL,
    actor_kind text NOT NULL,
    actor_id text NOT NULL,
    reason text NOT NULL,
    PRIMARY KEY (request_id, seq)
);

-- Projections of the other services' facts, each kept at the newest version it has seen.
CREATE TABLE debt_position (
    affiliate text PRIMARY KEY,
    version bigint NOT NULL,
    remissible numeric(16, 2) NOT NULL,
    arrangement_perception_code text,
    arrangement_perception_name text
);

CREATE TABLE affiliate_profile (
    affiliate text PRIMARY KEY,
    raison_sociale text NOT NULL,
    perception_code text NOT NULL,
    perception_name text NOT NULL
);

CREATE TABLE bank_accounts (
    affiliate text PRIMARY KEY,
    version bigint NOT NULL,
    accounts jsonb NOT NULL
);

CREATE TABLE quote (
    quote_id uuid PRIMARY KEY,
    affiliate text NOT NULL,
    modality text NOT NULL,
    issued_at timestamptz NOT NULL,
    body jsonb NOT NULL
);
CREATE INDEX quote_latest ON quote (affiliate, issued_at DESC);
