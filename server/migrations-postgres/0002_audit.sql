-- The audit log on PostgreSQL: the same rows, hashes and formats as on SQLite (server/migrations
-- 0002, 0003, 0008), so a chain copied from one store verifies on the other.
--  * seq is assigned by Paydeck under the chain's advisory lock (max + 1), so two processes
--    appending at once still make one gapless chain;
--  * the column SQLite calls `user` is `user_name` here (USER is a reserved word);
--  * append-only is enforced by triggers: no DELETE, no TRUNCATE, and no UPDATE but the one the
--    retention of refused attempts makes (the body of an invalid or denied row replaced by its
--    digest, every column the hash covers directly unchanged).
CREATE TABLE audit (
    seq         BIGINT PRIMARY KEY CHECK (seq > 0),
    at_ms       BIGINT NOT NULL,
    user_name   TEXT NOT NULL,
    groups      TEXT NOT NULL,  -- JSON array
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    target      TEXT NOT NULL,  -- what was changed, e.g. HorizontalPodAutoscaler/ledger
    before      TEXT NOT NULL,  -- JSON
    after       TEXT NOT NULL,  -- JSON
    reason      TEXT NOT NULL,
    outcome     TEXT NOT NULL,  -- intent, applied, previewed, invalid, denied, conflict, failed, unknown
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    intent_seq  BIGINT,
    keyed       BOOLEAN NOT NULL DEFAULT FALSE,
    format      SMALLINT NOT NULL DEFAULT 2,
    body_digest TEXT,
    pruned      BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE INDEX audit_by_workload ON audit (namespace, name, at_ms);
CREATE INDEX audit_by_intent ON audit (intent_seq) WHERE intent_seq IS NOT NULL;
CREATE INDEX audit_by_user ON audit (user_name, seq);
CREATE INDEX audit_by_outcome ON audit (outcome, seq);
CREATE INDEX audit_by_time ON audit (at_ms);
-- The retention sweep's rows.
CREATE INDEX audit_refusals ON audit (at_ms) WHERE NOT pruned AND format = 2
    AND intent_seq IS NULL AND outcome IN ('invalid', 'denied');

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND OLD.format = 2 AND NOT OLD.pruned AND NEW.pruned
        AND OLD.intent_seq IS NULL AND OLD.outcome IN ('invalid', 'denied')
        AND NEW.seq = OLD.seq AND NEW.at_ms = OLD.at_ms AND NEW.user_name = OLD.user_name
        AND NEW.namespace = OLD.namespace AND NEW.name = OLD.name AND NEW.outcome = OLD.outcome
        AND NEW.intent_seq IS NULL AND NEW.keyed = OLD.keyed AND NEW.format = OLD.format
        AND NEW.prev_hash = OLD.prev_hash AND NEW.hash = OLD.hash
        AND NEW.body_digest IS NOT DISTINCT FROM OLD.body_digest
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only (a refused attempt''s details may only be removed after its retention period)'
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
