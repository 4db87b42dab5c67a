-- The database the stack uses, as an app created it: everything owned by
-- the superuser, except an audit table that belongs to another role and
-- that ordinary roles may not read.
CREATE DATABASE shop;
\c shop
CREATE SCHEMA app;
CREATE TABLE app.items (id bigserial PRIMARY KEY, source text, created_at timestamptz DEFAULT now());
INSERT INTO app.items (source) SELECT 'seed' FROM generate_series(1, 10);
CREATE ROLE auditor NOLOGIN;
CREATE TABLE app.audit_log (id serial PRIMARY KEY, what text);
ALTER TABLE app.audit_log OWNER TO auditor;
REVOKE ALL ON app.audit_log FROM PUBLIC;
