-- The engine's tables. Instance state is one JSON document per instance
-- (`body`), guarded by `rev` for optimistic concurrency; the other tables
-- are what the executor's effects wrote, for queries and for the workers.

CREATE TABLE deployments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    deployed_by TEXT,
    deployed_at TEXT NOT NULL
);

-- Every file of a deployment (BPMN, scripts, forms), so a definition can be
-- compiled again from the database alone.
CREATE TABLE resources (
    deployment_id INTEGER NOT NULL REFERENCES deployments(id),
    name          TEXT NOT NULL,
    content       TEXT NOT NULL,
    PRIMARY KEY (deployment_id, name)
);

CREATE TABLE definitions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT NOT NULL,
    version       INTEGER NOT NULL,
    name          TEXT,
    deployment_id INTEGER NOT NULL REFERENCES deployments(id),
    resource_name TEXT NOT NULL,
    retired       INTEGER NOT NULL DEFAULT 0,
    deployed_at   TEXT NOT NULL,
    -- SHA-256 of the BPMN text and the scripts it uses: same content, same version.
    fingerprint   TEXT NOT NULL,
    UNIQUE (key, version)
);

CREATE TABLE instances (
    id            TEXT PRIMARY KEY,
    key           TEXT NOT NULL,
    version       INTEGER NOT NULL,
    business_key  TEXT,
    state         TEXT NOT NULL,
    has_incident  INTEGER NOT NULL DEFAULT 0,
    parent_id     TEXT,
    started_at    TEXT NOT NULL,
    ended_at      TEXT,
    rev           INTEGER NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX instances_by_key ON instances (key, state);
CREATE INDEX instances_by_business_key ON instances (business_key);
CREATE INDEX instances_by_parent ON instances (parent_id);

CREATE TABLE tasks (
    id           TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL,
    local_id     INTEGER NOT NULL,
    key          TEXT NOT NULL,
    node_id      TEXT NOT NULL,
    name         TEXT,
    assignee     TEXT,
    due          TEXT,
    priority     INTEGER NOT NULL,
    form         TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX tasks_by_instance ON tasks (instance_id);
CREATE INDEX tasks_by_assignee ON tasks (assignee);

CREATE TABLE task_candidates (
    task_id TEXT NOT NULL,
    kind    TEXT NOT NULL, -- 'group' or 'user'
    name    TEXT NOT NULL,
    PRIMARY KEY (task_id, kind, name)
);
CREATE INDEX task_candidates_by_name ON task_candidates (kind, name, task_id);

CREATE TABLE subscriptions (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    local_id    INTEGER NOT NULL,
    event       TEXT NOT NULL, -- 'message' or 'signal'
    name        TEXT NOT NULL
);
CREATE INDEX subscriptions_by_name ON subscriptions (event, name);
CREATE INDEX subscriptions_by_instance ON subscriptions (instance_id);

CREATE TABLE jobs (
    id            TEXT PRIMARY KEY,
    instance_id   TEXT NOT NULL,
    local_id      INTEGER NOT NULL,
    kind          TEXT NOT NULL, -- 'timer', 'async' or 'external'
    topic         TEXT,
    due           TEXT NOT NULL,
    retries       INTEGER NOT NULL DEFAULT 3,
    lease_owner   TEXT,
    lease_expires TEXT,
    last_error    TEXT
);
CREATE INDEX jobs_by_due ON jobs (kind, due);
CREATE INDEX jobs_by_instance ON jobs (instance_id);

CREATE TABLE incidents (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    local_id    INTEGER NOT NULL,
    node_id     TEXT NOT NULL,
    message     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    resolved_at TEXT
);
CREATE INDEX incidents_open ON incidents (resolved_at, instance_id);

-- The audit trail: append-only.
CREATE TABLE history (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT,
    event       TEXT NOT NULL,
    node_id     TEXT,
    detail      TEXT
);
CREATE INDEX history_by_instance ON history (instance_id, seq);
