-- Documents a process typeset (a `document` connector's call): the PDF,
-- kept with its instance. One per call: the id is the connector job's, so
-- a call that is made again after a crash cannot store a second copy.
CREATE TABLE documents (
    id          TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    node_id     TEXT NOT NULL,        -- the connector task that made it
    name        TEXT NOT NULL,        -- what staff see: "Receipt REQ-2024-000001"
    template    TEXT NOT NULL,        -- the .typ file, as its connector names it
    media_type  TEXT NOT NULL,
    size        BIGINT NOT NULL,
    content     BYTEA NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX documents_by_instance ON documents (instance_id, created_at);
