-- Mail to send, written in the same transaction as the step that sends it.
-- The sender delivers at least once; `id` is the idempotency key it passes on
-- (as the Message-ID), so a receiver can drop a repeat.
CREATE TABLE outbox (
    id           TEXT PRIMARY KEY,
    instance_id  TEXT NOT NULL,
    recipients   TEXT NOT NULL, -- JSON array
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    next_attempt TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    sent_at      TEXT
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt);
