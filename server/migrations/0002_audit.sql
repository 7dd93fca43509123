-- Every attempt to change scaling, whatever its outcome. Append-only: the triggers refuse
-- updates and deletes, and each row's hash covers the previous row's hash and its own
-- fields, so a row changed behind Paydeck's back breaks the chain at that row.
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY,
    at_ms     INTEGER NOT NULL,
    user      TEXT NOT NULL,
    groups    TEXT NOT NULL,  -- JSON array
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    target    TEXT NOT NULL,  -- what was changed, e.g. HorizontalPodAutoscaler/ledger
    before    TEXT NOT NULL,  -- JSON
    after     TEXT NOT NULL,  -- JSON
    reason    TEXT NOT NULL,
    outcome   TEXT NOT NULL,  -- applied, previewed, invalid, denied, conflict, failed
    detail    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);

CREATE INDEX audit_by_workload ON audit (namespace, name, at_ms);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
