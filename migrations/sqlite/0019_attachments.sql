-- Files staff attach to a request (an instance), from one of its tasks or
-- from the instance page: kept in the database with the instance, removed
-- with it by the history cleanup.
CREATE TABLE attachments (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    task_id     TEXT,
    name        TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    size        INTEGER NOT NULL,
    content     BLOB NOT NULL,
    added_by    TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX attachments_by_instance ON attachments (instance_id, created_at);
