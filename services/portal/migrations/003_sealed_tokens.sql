-- The tokens of a session are now sealed with a key derived from its cookie (services/portal/sessions.py),
-- which the database never holds. Sessions stored before carry their tokens in clear and cannot be
-- sealed (their cookies are not known here): they end, and their users log in again once.
DELETE FROM portal_sessions;
