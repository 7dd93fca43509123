-- The audit log under load:
--  * indexes for every filter the listing takes (user, outcome, time), so a filtered read
--    walks its rows, not the whole log;
--  * sealed rows (format 2): the hash covers the row's header (time, user, workload,
--    outcome, intent) and the digest of its body (groups, target, before, after, reason,
--    detail), kept in body_digest. A refused attempt (invalid or denied, with nothing sent)
--    may have its body removed after its retention period (pruned = 1): the chain still
--    verifies, and its header stays covered. Rows written before keep format 1.
ALTER TABLE audit ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit ADD COLUMN body_digest TEXT;
ALTER TABLE audit ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;

CREATE INDEX audit_by_user ON audit (user, seq);
CREATE INDEX audit_by_outcome ON audit (outcome, seq);
CREATE INDEX audit_by_time ON audit (at_ms);
-- The retention sweep's rows.
CREATE INDEX audit_refusals ON audit (at_ms) WHERE pruned = 0 AND format = 2
    AND intent_seq IS NULL AND outcome IN ('invalid', 'denied');

-- Append-only still, but for removing a refused attempt's body: every column the hash
-- covers directly stays as it was.
DROP TRIGGER audit_no_update;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
WHEN NOT (
    OLD.format = 2 AND OLD.pruned = 0 AND NEW.pruned = 1
    AND OLD.intent_seq IS NULL AND OLD.outcome IN ('invalid', 'denied')
    AND NEW.seq = OLD.seq AND NEW.at_ms = OLD.at_ms AND NEW.user = OLD.user
    AND NEW.namespace = OLD.namespace AND NEW.name = OLD.name AND NEW.outcome = OLD.outcome
    AND NEW.intent_seq IS NULL AND NEW.keyed = OLD.keyed AND NEW.format = OLD.format
    AND NEW.prev_hash = OLD.prev_hash AND NEW.hash = OLD.hash AND NEW.body_digest = OLD.body_digest
)
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only (a refused attempt''s details may only be removed after its retention period)'); END;
