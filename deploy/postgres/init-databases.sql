-- One database per service (services.stack.provisioning.SERVICES_WITH_DATABASE): no service can read
-- another's tables, even by mistake. Run once by the postgres image on an empty data directory
-- (/docker-entrypoint-initdb.d); each service migrates its own schema at start.
CREATE DATABASE auth;
CREATE DATABASE debt;
CREATE DATABASE simulation;
CREATE DATABASE requests;
CREATE DATABASE debits;
CREATE DATABASE notifications;
CREATE DATABASE portal;
