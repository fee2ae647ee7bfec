-- The inbox filtered by process, in inbox order: read from this index until
-- the page is full of tasks the reader may see, instead of sorting every
-- task of the process (measured on a million tasks in docs/PERFORMANCE.md).
CREATE INDEX tasks_inbox_by_key ON tasks (key, priority DESC, created_at, id);
