-- A claim's lease carries a token of its own: the fencing check compares it,
-- so a worker whose lease expired and was taken cannot apply a late result
-- even if it claims the job again under the same owner name.
ALTER TABLE jobs ADD COLUMN lease_token TEXT;

-- Messages already correlated, by the sender's message id: a repeat delivery
-- is answered from here and changes nothing.
CREATE TABLE message_receipts (
    message_id  TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    instance_id TEXT,
    received_at TEXT NOT NULL
);
