-- Scheduled scaling plans: one row per plan, the plan itself as JSON (its schedule, people,
-- holding and backtest), with what it is found by beside it. Every change to a plan is also
-- an audit row; this table is the plan as it stands. `version` goes up with each change: a
-- change made against an older one is refused.
CREATE TABLE plans (
    id BIGSERIAL PRIMARY KEY,
    cluster TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);

CREATE INDEX plans_by_workload ON plans (cluster, namespace, name);
