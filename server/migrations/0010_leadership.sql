-- The newest leadership term issued per Lease: what only the leader writes carries its term,
-- and a write under an older one is refused (server/src/store/fence.rs).
CREATE TABLE leadership (
    lease    TEXT PRIMARY KEY,
    term     INTEGER NOT NULL,
    holder   TEXT NOT NULL,
    since_ms INTEGER NOT NULL
);
