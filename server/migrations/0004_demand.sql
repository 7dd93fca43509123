-- Each workload's demand at full resolution, for replaying it through a proposed HPA (the
-- what-if): one narrow row per sample, kept longer than the raw samples (default 14 days).
-- CPU in millicores, memory in MiB, the request rate in hundredths of a request per second.
CREATE TABLE demand (
    workload_id INTEGER NOT NULL REFERENCES workloads (id),
    at_s        INTEGER NOT NULL,
    cpu_m       INTEGER,
    memory_mib  INTEGER,
    rate_c      INTEGER,
    ready       INTEGER NOT NULL,
    desired     INTEGER NOT NULL,
    PRIMARY KEY (workload_id, at_s)
) WITHOUT ROWID;
