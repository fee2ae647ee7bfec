-- Each instance's process-level scalar variables as text, kept by the store
-- at every save, so instances and tasks are found by a variable's value
-- (an account number, a customer's name) without reading instance bodies.
CREATE TABLE instance_variables (
    instance_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (instance_id, name)
);
CREATE INDEX instance_variables_by_value ON instance_variables (name, value);
-- Instances saved before this table existed are indexed once when the store
-- opens; this row says that is still to do.
INSERT INTO instance_variables (instance_id, name, value) VALUES ('', '.backfill', 'pending');
