-- Who may do what with a process's instances, besides administrators: an
-- administrator's grant of `read`, `start`, `act` or `operate` on one process
-- key (or on every process: key '*') to a group or a user. Denied by default.
CREATE TABLE grants (
    key        TEXT NOT NULL,
    permission TEXT NOT NULL, -- 'read', 'start', 'act' or 'operate'
    kind       TEXT NOT NULL, -- 'group' or 'user'
    name       TEXT NOT NULL,
    granted_by TEXT,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (key, permission, kind, name)
);

-- The people an instance concerns: who started it, and every user and group
-- that is or was a task's assignee or candidate in it. They may read it; the
-- rows outlive the tasks.
CREATE TABLE instance_people (
    instance_id TEXT NOT NULL,
    kind        TEXT NOT NULL, -- 'user' or 'group'
    name        TEXT NOT NULL,
    PRIMARY KEY (instance_id, kind, name)
);
CREATE INDEX instance_people_by_person ON instance_people (kind, name, instance_id);

INSERT INTO instance_people (instance_id, kind, name)
    SELECT DISTINCT t.instance_id, CASE c.kind WHEN 'group' THEN 'group' ELSE 'user' END, c.name
    FROM task_candidates c JOIN tasks t ON t.id = c.task_id
    WHERE true
    ON CONFLICT DO NOTHING;
INSERT INTO instance_people (instance_id, kind, name)
    SELECT DISTINCT instance_id, 'user', actor FROM history
    WHERE event = 'instanceStarted' AND actor IN (SELECT name FROM users)
    ON CONFLICT DO NOTHING;

-- A disabled user cannot sign in and their sessions and API tokens stop working.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

-- One row per node, rewritten by `/health` to learn whether the database
-- still takes writes (a full disk answers reads but not writes).
CREATE TABLE health_probe (
    node TEXT PRIMARY KEY,
    at   TEXT NOT NULL
);
