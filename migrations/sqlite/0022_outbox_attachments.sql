-- The documents a mail carries as files: a JSON list of document ids of the
-- same instance, read by the sender when it delivers.
ALTER TABLE outbox ADD COLUMN attachments TEXT NOT NULL DEFAULT '[]';
