-- The inbox reads, for each of a user's principals (their name as assignee
-- or candidate, each of their groups), the first tasks in inbox order
-- straight from one index, whatever the number of open tasks.
ALTER TABLE task_candidates ADD COLUMN priority INTEGER NOT NULL DEFAULT 50;
ALTER TABLE task_candidates ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
CREATE INDEX task_candidates_inbox ON task_candidates (kind, name, priority DESC, created_at, task_id);
INSERT OR IGNORE INTO task_candidates (task_id, kind, name, priority, created_at)
    SELECT id, 'assignee', assignee, priority, created_at FROM tasks WHERE assignee IS NOT NULL;
UPDATE task_candidates SET
    priority = (SELECT t.priority FROM tasks t WHERE t.id = task_candidates.task_id),
    created_at = (SELECT t.created_at FROM tasks t WHERE t.id = task_candidates.task_id)
    WHERE created_at = '';
