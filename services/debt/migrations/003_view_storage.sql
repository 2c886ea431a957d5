-- The stored document is read on every debt screen: keep it uncompressed (EXTERNAL) so a read
-- is a copy, not a pglz decompression. It costs disk, a few tens of kB per affiliate.
ALTER TABLE position ALTER COLUMN view SET STORAGE EXTERNAL;
