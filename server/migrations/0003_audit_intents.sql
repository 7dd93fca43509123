-- The audit table again, with
--  * AUTOINCREMENT, so a sequence number is never used twice (not even after rows at the end
--    were removed behind Paydeck's back: the gap shows);
--  * intent_seq: an apply is recorded as an intent before it is sent, and its outcome row
--    points back at that intent;
--  * keyed: the row's hash is an HMAC with the audit key.
-- Existing rows keep their sequence numbers and hashes. Dropping the old table drops its
-- triggers first, so the copy is not refused.
CREATE TABLE audit_v3 (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms      INTEGER NOT NULL,
    user       TEXT NOT NULL,
    groups     TEXT NOT NULL,  -- JSON array
    namespace  TEXT NOT NULL,
    name       TEXT NOT NULL,
    target     TEXT NOT NULL,  -- what was changed, e.g. HorizontalPodAutoscaler/ledger
    before     TEXT NOT NULL,  -- JSON
    after      TEXT NOT NULL,  -- JSON
    reason     TEXT NOT NULL,
    outcome    TEXT NOT NULL,  -- intent, applied, previewed, invalid, denied, conflict, failed, unknown
    detail     TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL,
    intent_seq INTEGER,
    keyed      INTEGER NOT NULL DEFAULT 0
);

INSERT INTO audit_v3 (seq, at_ms, user, groups, namespace, name, target, before, after, reason, outcome, detail, prev_hash, hash)
SELECT seq, at_ms, user, groups, namespace, name, target, before, after, reason, outcome, detail, prev_hash, hash FROM audit;

DROP TABLE audit;
ALTER TABLE audit_v3 RENAME TO audit;

CREATE INDEX audit_by_workload ON audit (namespace, name, at_ms);
CREATE INDEX audit_by_intent ON audit (intent_seq) WHERE intent_seq IS NOT NULL;

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
