-- Failures count per login AND per address: five wrong passwords from one address lock that login
-- for that address only, so nobody can keep someone else's login locked from afar (issue 13). A
-- login's attempts from every address together are held by a rate limit instead (auth's LoginGate).
ALTER TABLE login_attempt ADD COLUMN address text NOT NULL DEFAULT '';
ALTER TABLE login_attempt DROP CONSTRAINT login_attempt_pkey;
ALTER TABLE login_attempt ADD PRIMARY KEY (login, address);
