-- Notifications on their way out: one row per message and sink, written in the same
-- transaction as what made it (the audit log's position read, a condition opened or
-- resolved), and taken out only once the sink acknowledged it or Paydeck gave up. A restart
-- finds every undelivered message here. `(sink, dedupe_key)` is unique: one message per
-- finding or change, however often it is seen.
CREATE TABLE notification_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    cluster TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    next_at_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT NOT NULL DEFAULT '',
    done_ms INTEGER,
    UNIQUE (sink, dedupe_key)
);

CREATE INDEX notification_outbox_due ON notification_outbox (state, next_at_ms);

-- How far each source has been read (the audit log: its last sequence number).
CREATE TABLE notification_cursors (
    name TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);

-- What is open now (a finding, an HPA held at its maximum, a cluster unreachable), so each is
-- told once when it opens and once when it is resolved, across restarts.
CREATE TABLE notification_conditions (
    cluster TEXT NOT NULL,
    key TEXT NOT NULL,
    opened_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (cluster, key)
);
