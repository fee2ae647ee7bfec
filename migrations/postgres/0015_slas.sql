-- The SLA clocks of every instance (the targets a process or an activity
-- declares in camunda:properties), as the engine last left them: what the
-- inbox, the request view and the dashboard read without instance bodies.
-- Removed with the instance by the history cleanup.
CREATE TABLE slas (
    id               TEXT PRIMARY KEY,
    instance_id      TEXT NOT NULL,
    key              TEXT NOT NULL,
    name             TEXT NOT NULL,
    element_id       TEXT,
    group_name       TEXT,
    started_at       TEXT NOT NULL,
    due_at           TEXT NOT NULL,
    target_seconds   BIGINT NOT NULL,
    business_hours   BIGINT NOT NULL,
    met_at           TEXT,
    achieved_seconds BIGINT,
    breached         BIGINT NOT NULL,
    cancelled        BIGINT NOT NULL
);
CREATE INDEX slas_by_instance ON slas (instance_id);
CREATE INDEX slas_by_key_started ON slas (key, started_at);
