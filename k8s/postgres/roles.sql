-- A PostgreSQL role for Paydeck that can record and read, but not rewrite, the audit log.
--
-- Run as the role that owns Paydeck's tables, in Paydeck's database, after the owner has
-- created them once:
--   paydeck migrate-store --to 'postgres://paydeck_owner@db.internal:5432/paydeck?sslmode=verify-full&sslrootcert=/etc/paydeck/db-ca.pem'
--   psql 'postgres://paydeck_owner@db.internal:5432/paydeck' -f roles.sql
-- then give the role a password (ALTER ROLE paydeck_app PASSWORD '…') or a client certificate,
-- and run Paydeck with PAYDECK_DATABASE_URL=postgres://paydeck_app@…
--
-- Paydeck as paydeck_app writes history freely (retention deletes old samples), appends to the
-- audit log, and may replace the body of a refused attempt after its retention period (the
-- audit table's trigger allows that one update and nothing else). It has no UPDATE on the
-- columns the hash covers, no DELETE and no TRUNCATE on the audit table, and cannot change the
-- schema or drop the trigger (it owns nothing).

CREATE ROLE paydeck_app LOGIN;

GRANT USAGE ON SCHEMA public TO paydeck_app;
GRANT SELECT ON _sqlx_migrations TO paydeck_app;

-- History: samples, rollups, demand and events come and go with retention.
GRANT SELECT, INSERT, UPDATE, DELETE
    ON workloads, samples, rollups, events, rollup_progress, demand, scale_decisions, simulated_past
    TO paydeck_app;
-- Leadership terms: a new leader's claim (an upsert), read by every write only it makes.
GRANT SELECT, INSERT, UPDATE ON leadership TO paydeck_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO paydeck_app;

-- The audit log: read and append; of updates, only the retention's (the body columns).
GRANT SELECT, INSERT ON audit TO paydeck_app;
GRANT UPDATE (groups, target, before, after, reason, detail, pruned) ON audit TO paydeck_app;
REVOKE DELETE, TRUNCATE ON audit FROM paydeck_app;
