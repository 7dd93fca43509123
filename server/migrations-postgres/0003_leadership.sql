-- The newest leadership term issued per Lease: what only the leader writes carries its term,
-- and a write under an older one is refused (server/src/store/fence.rs). Writers read the row
-- FOR SHARE in their own transaction, so a new term cannot commit between their check and
-- their write.
CREATE TABLE leadership (
    lease    TEXT PRIMARY KEY,
    term     BIGINT NOT NULL,
    holder   TEXT NOT NULL,
    since_ms BIGINT NOT NULL
);
