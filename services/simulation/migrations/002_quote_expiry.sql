-- The retention job deletes quotes by expiry.
CREATE INDEX quotes_expiry ON quotes (expires_at);
