-- name: upsert_accounts(ids, affiliates, ribs, bank_codes, bank_names, holders, registered_at)
-- Returns the affiliates whose accounts really changed: re-importing the same file changes nothing.
-- An existing account keeps its id and registration date.
INSERT INTO bank_accounts AS b (id, affiliate, rib, bank_code, bank_name, holder, registered_at)
SELECT u.id, u.affiliate, u.rib, u.bank_code, u.bank_name, u.holder, :registered_at
FROM unnest(
    :ids::text[], :affiliates::text[], :ribs::text[], :bank_codes::text[], :bank_names::text[], :holders::text[]
) AS u(id, affiliate, rib, bank_code, bank_name, holder)
ON CONFLICT (affiliate, rib) DO UPDATE SET
    bank_code = EXCLUDED.bank_code, bank_name = EXCLUDED.bank_name, holder = EXCLUDED.holder
WHERE (b.bank_code, b.bank_name, b.holder) IS DISTINCT FROM (EXCLUDED.bank_code, EXCLUDED.bank_name, EXCLUDED.holder)
RETURNING b.affiliate;

-- name: bump_versions(affiliates)
INSERT INTO affiliate_accounts_version AS v (affiliate, version)
SELECT unnest(:affiliates::text[]), 1
ON CONFLICT (affiliate) DO UPDATE SET version = v.version + 1
RETURNING affiliate, version;

-- name: lock_versions(affiliates)
-- Holds each affiliate's version while its list is read and announced, so an older list never
-- follows a newer one on the topic.
SELECT affiliate, version FROM affiliate_accounts_version
WHERE affiliate = ANY(:affiliates::text[])
ORDER BY affiliate
FOR UPDATE;

-- name: affiliates_after(after, page)
SELECT affiliate FROM affiliate_accounts_version WHERE affiliate > :after ORDER BY affiliate LIMIT :page;

-- name: accounts_of(affiliates)
SELECT id, affiliate, rib, bank_code, bank_name, holder
FROM bank_accounts
WHERE affiliate = ANY(:affiliates::text[])
ORDER BY affiliate, registered_at, rib;
