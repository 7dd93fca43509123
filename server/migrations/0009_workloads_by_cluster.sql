-- no-transaction
-- Every workload belongs to a cluster: its row is keyed by (cluster, namespace, name). Rows
-- recorded before clusters had names get the empty name; the first cluster that opens the
-- store adopts them (`History::open_for_cluster`), so a single-cluster install keeps its
-- history whatever its cluster is called.
--
-- SQLite cannot change a table's UNIQUE constraint in place: the table is rebuilt with the
-- same ids (samples, rollups, events, demand and decisions keep pointing at the same rows),
-- foreign keys off for the swap, in one transaction of its own. It runs outside the
-- migrator's transaction because `PRAGMA foreign_keys` is ignored inside one.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE workloads_by_cluster (
    id        INTEGER PRIMARY KEY,
    cluster   TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    UNIQUE (cluster, namespace, name)
);
INSERT INTO workloads_by_cluster (id, cluster, namespace, name) SELECT id, '', namespace, name FROM workloads;
DROP TABLE workloads;
ALTER TABLE workloads_by_cluster RENAME TO workloads;
COMMIT;
PRAGMA foreign_keys = ON;
