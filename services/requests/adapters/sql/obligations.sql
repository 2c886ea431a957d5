-- Article 2: the running plans the sweep watches, and the notices it gave.

-- name: lock_unchecked_plans(today, after, page)
-- Running plans not yet looked at as of :today, with what debt says of their current contributions.
-- "Not as of :today" rather than "before :today": an operator replaying an earlier day (or a later
-- one) must not leave the plans unwatched until the calendar catches up.
-- SKIP LOCKED: replicas sweeping at once share the plans; one a payment holds waits for the next pass.
SELECT r.*, p.contributions::text AS contributions
FROM request r
LEFT JOIN debt_position p ON p.affiliate = r.affiliate
WHERE r.state IN ('VALIDATED', 'IN_PROGRESS') AND r.id > :after
  AND r.contributions_checked_on IS DISTINCT FROM :today
ORDER BY r.id LIMIT :page
FOR UPDATE OF r SKIP LOCKED;

-- name: mark_checked(ids, today)!
UPDATE request SET contributions_checked_on = :today WHERE id = ANY(:ids::uuid[]);

-- name: notices_of(ids)
SELECT * FROM contributions_notice WHERE request_id = ANY(:ids::uuid[]) ORDER BY request_id, period;

-- name: insert_notice(request_id, period, amount, due_on, noticed_on, cure_deadline)!
INSERT INTO contributions_notice (request_id, period, amount, due_on, noticed_on, cure_deadline)
VALUES (:request_id, :period, :amount, :due_on, :noticed_on, :cure_deadline)
ON CONFLICT (request_id, period) DO NOTHING;

-- name: mark_cured(request_id, period, cured_on)!
UPDATE contributions_notice SET cured_on = :cured_on
WHERE request_id = :request_id AND period = :period AND cured_on IS NULL;

-- name: contributions_of(affiliate)$
SELECT contributions::text FROM debt_position WHERE affiliate = :affiliate;

-- name: watch_per_state()
-- For the gauge: notices open on running plans, notices cured, and running plans the sweep has not
-- looked at for more than a day (validated before yesterday): a sweeper that stopped.
SELECT 'noticed' AS state, count(*) AS n
FROM contributions_notice c JOIN request r ON r.id = c.request_id
WHERE c.cured_on IS NULL AND r.state IN ('VALIDATED', 'IN_PROGRESS')
UNION ALL
SELECT 'cured', count(*) FROM contributions_notice WHERE cured_on IS NOT NULL
UNION ALL
SELECT 'unwatched', count(*) FROM request
WHERE state IN ('VALIDATED', 'IN_PROGRESS')
  AND validation_date < (now() AT TIME ZONE 'Africa/Casablanca')::date - 1
  AND (contributions_checked_on IS NULL
       OR contributions_checked_on < (now() AT TIME ZONE 'Africa/Casablanca')::date - 1);
