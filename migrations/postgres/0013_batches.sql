-- Batch operations (migrate, cancel, retry, modify many instances): one row
-- per batch, one per item with its result. Work goes on from the items'
-- states, so a batch survives a restart and any node may take a share.
CREATE TABLE batches (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    spec        TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    state       TEXT NOT NULL,
    total       INTEGER NOT NULL,
    ended_at    TEXT
);
CREATE INDEX batches_state ON batches (state, created_at);
CREATE TABLE batch_items (
    batch_id    TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    target      TEXT NOT NULL,
    state       TEXT NOT NULL,
    message     TEXT,
    done_at     TEXT,
    PRIMARY KEY (batch_id, seq)
);
CREATE INDEX batch_items_state ON batch_items (batch_id, state, seq);
