-- Workloads get a small integer id so samples stay compact.
CREATE TABLE workloads (
    id        INTEGER PRIMARY KEY,
    namespace TEXT NOT NULL,
    name      TEXT NOT NULL,
    UNIQUE (namespace, name)
);

-- One row per workload per sampler run. CPU in cores, memory in bytes, rate in req/s.
CREATE TABLE samples (
    workload_id      INTEGER NOT NULL REFERENCES workloads (id),
    at_ms            INTEGER NOT NULL,
    replicas_desired INTEGER NOT NULL,
    replicas_ready   INTEGER NOT NULL,
    hpa_min          INTEGER,
    hpa_max          INTEGER,
    hpa_cpu_target   INTEGER,
    cpu_requests     REAL NOT NULL,
    cpu_limits       REAL,
    cpu_usage        REAL,
    memory_requests  REAL NOT NULL,
    memory_limits    REAL,
    memory_usage     REAL,
    request_rate     REAL,
    PRIMARY KEY (workload_id, at_ms)
) WITHOUT ROWID;

-- min/avg/max per bucket of `resolution_ms` (5 minutes, 1 hour), for long ranges.
CREATE TABLE rollups (
    workload_id          INTEGER NOT NULL REFERENCES workloads (id),
    resolution_ms        INTEGER NOT NULL,
    bucket_ms            INTEGER NOT NULL,
    samples              INTEGER NOT NULL,
    replicas_desired_min REAL, replicas_desired_avg REAL, replicas_desired_max REAL,
    replicas_ready_min   REAL, replicas_ready_avg   REAL, replicas_ready_max   REAL,
    cpu_usage_min        REAL, cpu_usage_avg        REAL, cpu_usage_max        REAL,
    memory_usage_min     REAL, memory_usage_avg     REAL, memory_usage_max     REAL,
    request_rate_min     REAL, request_rate_avg     REAL, request_rate_max     REAL,
    cpu_requests         REAL, cpu_limits           REAL,
    memory_requests      REAL, memory_limits        REAL,
    hpa_min              REAL, hpa_max              REAL, hpa_cpu_target REAL,
    PRIMARY KEY (workload_id, resolution_ms, bucket_ms)
) WITHOUT ROWID;

-- What happened: scale changes, HPA spec changes, (later) audited edits.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    workload_id INTEGER NOT NULL REFERENCES workloads (id),
    at_ms       INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    message     TEXT NOT NULL
);
CREATE INDEX events_by_workload ON events (workload_id, at_ms);

-- How far rollups have been computed, per resolution.
CREATE TABLE rollup_progress (
    resolution_ms INTEGER PRIMARY KEY,
    done_until_ms INTEGER NOT NULL
);
