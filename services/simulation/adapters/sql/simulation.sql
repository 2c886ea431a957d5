-- name: upsert_position(affiliate, version, periods, eligible_until, eligible_periods, principal, majorations, astreintes, frais, has_arrangement)!
-- Positions may arrive out of order (redelivery, replay): an older version never replaces a newer one.
INSERT INTO positions AS p (affiliate, version, periods, eligible_until, eligible_periods,
                            principal, majorations, astreintes, frais, has_arrangement)
VALUES (:affiliate, :version, :periods::jsonb, :eligible_until, :eligible_periods::text[],
        :principal, :majorations, :astreintes, :frais, :has_arrangement)
ON CONFLICT (affiliate) DO UPDATE SET
    version = EXCLUDED.version, periods = EXCLUDED.periods, eligible_until = EXCLUDED.eligible_until,
    eligible_periods = EXCLUDED.eligible_periods, principal = EXCLUDED.principal,
    majorations = EXCLUDED.majorations, astreintes = EXCLUDED.astreintes, frais = EXCLUDED.frais,
    has_arrangement = EXCLUDED.has_arrangement, updated_at = now()
WHERE p.version < EXCLUDED.version;

-- name: eligible_of(affiliate)^
SELECT version, eligible_until, eligible_periods, principal, majorations, astreintes, frais, has_arrangement
FROM positions WHERE affiliate = :affiliate;

-- name: periods_of(affiliate)$
SELECT periods::text FROM positions WHERE affiliate = :affiliate;

-- name: quote_of(quote_id)^
SELECT affiliate, body::text AS body FROM quotes WHERE quote_id = :quote_id;

-- name: insert_quote_announced(quote_id, affiliate, debt_version, issued_at, expires_at, body, event_id, topic, key, event_type, event_body, traceparent, tracestate)!
-- The quote and its outbox row in ONE statement, hence one implicit transaction: both commit or
-- neither (no BEGIN/COMMIT round trips); the outbox's trigger wakes the relay at that commit.
WITH quote AS (
    INSERT INTO quotes (quote_id, affiliate, debt_version, issued_at, expires_at, body)
    VALUES (:quote_id, :affiliate, :debt_version, :issued_at, :expires_at, :body::jsonb)
)
INSERT INTO outbox (event_id, topic, key, event_type, body, traceparent, tracestate)
VALUES (:event_id, :topic, :key, :event_type, :event_body, :traceparent, :tracestate);

-- name: purge_quotes(before)$
-- Quotes expired before ``before``: none can be validated any more, and requests keeps its own copy
-- of every quote a request bound.
WITH gone AS (
    DELETE FROM quotes WHERE quote_id IN (SELECT quote_id FROM quotes WHERE expires_at < :before LIMIT 5000)
    RETURNING 1
)
SELECT count(*) FROM gone;
