-- People, sessions, API tokens, the audit of actions and denials, comments.

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    display_name  TEXT,
    -- Argon2id PHC string.
    password_hash TEXT NOT NULL,
    -- 'admin', 'analyst' or 'staff'.
    role          TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

CREATE TABLE user_groups (
    user_name  TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (user_name, group_name)
);

-- A session is found by the SHA-256 of its cookie value; the value itself is never stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_seen  TEXT NOT NULL
);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    label      TEXT,
    created_at TEXT NOT NULL
);

-- Every action and every denial: who, what, when, and how it ended.
CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    actor     TEXT,
    action    TEXT NOT NULL,
    target    TEXT,
    outcome   TEXT NOT NULL,
    detail    TEXT
);
CREATE INDEX audit_by_actor ON audit (actor, seq);

CREATE TABLE comments (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    instance_id TEXT NOT NULL,
    at          TEXT NOT NULL,
    user_name   TEXT NOT NULL,
    text        TEXT NOT NULL
);
CREATE INDEX comments_by_instance ON comments (instance_id, seq);
