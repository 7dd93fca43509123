-- What the what-if replays is what the HPA controller saw and did, at its own moments:
-- each `demand` row is now one metrics reading, at the time metrics-server took it (at_s)
-- over its window (window_s; NULL for rows sampled at Paydeck's own moments before this
-- migration), and `scale_decisions` holds each scale the controller made, at its
-- lastScaleTime, with the replica count it set. The controller's syncs are aligned to them.
ALTER TABLE demand ADD COLUMN window_s INTEGER;

CREATE TABLE scale_decisions (
    workload_id INTEGER NOT NULL REFERENCES workloads (id),
    at_s        INTEGER NOT NULL,
    replicas    INTEGER NOT NULL,
    PRIMARY KEY (workload_id, at_s)
) WITHOUT ROWID;
