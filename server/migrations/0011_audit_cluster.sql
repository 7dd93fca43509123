-- A fleet's audit log: every row names the cluster its change was for (format 3, whose hash
-- covers the cluster in its header). Rows written before keep format 1 or 2 and an empty
-- cluster; a listing of one cluster includes them.
ALTER TABLE audit ADD COLUMN cluster TEXT NOT NULL DEFAULT '';

CREATE INDEX audit_by_cluster ON audit (cluster, seq);

-- The retention sweep prunes refused attempts of either sealed format.
DROP INDEX audit_refusals;
CREATE INDEX audit_refusals ON audit (at_ms) WHERE pruned = 0 AND format IN (2, 3)
    AND intent_seq IS NULL AND outcome IN ('invalid', 'denied');

-- Append-only still, but for removing a refused attempt's body: every column the hash covers
-- directly (the cluster now too) stays as it was.
DROP TRIGGER audit_no_update;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
WHEN NOT (
    OLD.format IN (2, 3) AND OLD.pruned = 0 AND NEW.pruned = 1
    AND OLD.intent_seq IS NULL AND OLD.outcome IN ('invalid', 'denied')
    AND NEW.seq = OLD.seq AND NEW.at_ms = OLD.at_ms AND NEW.user = OLD.user
    AND NEW.namespace = OLD.namespace AND NEW.name = OLD.name AND NEW.outcome = OLD.outcome
    AND NEW.intent_seq IS NULL AND NEW.keyed = OLD.keyed AND NEW.format = OLD.format
    AND NEW.prev_hash = OLD.prev_hash AND NEW.hash = OLD.hash AND NEW.body_digest = OLD.body_digest
    AND NEW.cluster = OLD.cluster
)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only (a refused attempt''s details may only be removed after its retention period)'); END;
