-- Where an affiliate is told what happens to its requests (services/notifications), as Damancom holds it.
-- The checks repeat the contract's (contracts/identifiers.py): a row the import wrote is one a relay takes.
ALTER TABLE affiliate
    ADD COLUMN email    text CHECK (email IS NULL OR (length(email) <= 254 AND email !~ '[[:space:][:cntrl:]]')),
    ADD COLUMN mobile   text CHECK (mobile IS NULL OR mobile ~ '^\+212[67][0-9]{8}$'),
    ADD COLUMN language text NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'ar'));
