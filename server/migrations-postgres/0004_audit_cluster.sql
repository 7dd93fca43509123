-- A fleet's audit log, as SQLite's 0011: every row names the cluster its change was for
-- (format 3, whose hash covers it); older rows keep an empty cluster.
ALTER TABLE audit ADD COLUMN cluster TEXT NOT NULL DEFAULT '';

CREATE INDEX audit_by_cluster ON audit (cluster, seq);

DROP INDEX audit_refusals;
CREATE INDEX audit_refusals ON audit (at_ms) WHERE NOT pruned AND format IN (2, 3)
    AND intent_seq IS NULL AND outcome IN ('invalid', 'denied');

-- Append-only still, but for the retention's removal of a refused attempt's body: every
-- column the hash covers directly (the cluster now too) unchanged.
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND OLD.format IN (2, 3) AND NOT OLD.pruned AND NEW.pruned
        AND OLD.intent_seq IS NULL AND OLD.outcome IN ('invalid', 'denied')
        AND NEW.seq = OLD.seq AND NEW.at_ms = OLD.at_ms AND NEW.user_name = OLD.user_name
        AND NEW.namespace = OLD.namespace AND NEW.name = OLD.name AND NEW.outcome = OLD.outcome
        AND NEW.intent_seq IS NULL AND NEW.keyed = OLD.keyed AND NEW.format = OLD.format
        AND NEW.prev_hash = OLD.prev_hash AND NEW.hash = OLD.hash
        AND NEW.body_digest IS NOT DISTINCT FROM OLD.body_digest
        AND NEW.cluster = OLD.cluster
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only (a refused attempt''s details may only be removed after its retention period)'
        USING ERRCODE = 'insufficient_privilege';
END
$$;
