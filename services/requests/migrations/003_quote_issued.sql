-- The retention job deletes the quotes' projection by age.
CREATE INDEX quote_issued ON quote (issued_at);
