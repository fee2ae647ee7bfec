-- What someone has entered into a task's form without completing it ("save
-- progress"): one draft per task, read back into the form, gone with the task.
CREATE TABLE task_drafts (
    task_id   TEXT PRIMARY KEY REFERENCES tasks (id) ON DELETE CASCADE,
    variables TEXT NOT NULL,
    saved_by  TEXT NOT NULL,
    saved_at  TEXT NOT NULL
);
