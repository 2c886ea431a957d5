-- The debt positions simulation quotes from, as announced on debt.positions.v1: the latest version
-- only. The eligible totals are computed once when the position arrives, so a quote reads one row;
-- ``periods`` keeps every period's outstanding amounts to recompute them under another cut-off.
CREATE TABLE positions (
    affiliate         text           PRIMARY KEY CHECK (affiliate ~ '^[0-9]{7}$'),
    version           integer        NOT NULL CHECK (version >= 1),
    periods           jsonb          NOT NULL,
    eligible_until    text           NOT NULL,
    eligible_periods  text[]         NOT NULL,
    principal         numeric(16, 2) NOT NULL,
    majorations       numeric(16, 2) NOT NULL,
    astreintes        numeric(16, 2) NOT NULL,
    frais             numeric(16, 2) NOT NULL,
    has_arrangement   boolean        NOT NULL,
    updated_at        timestamptz    NOT NULL DEFAULT now()
);

-- Every quote issued, as sent: requests binds the last one at validation, and it can be read back.
CREATE TABLE quotes (
    quote_id      uuid        PRIMARY KEY,
    affiliate     text        NOT NULL,
    debt_version  integer     NOT NULL,
    issued_at     timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    body          jsonb       NOT NULL
);
CREATE INDEX quotes_affiliate ON quotes (affiliate, issued_at DESC);
