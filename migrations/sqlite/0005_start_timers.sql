-- Timer start events are jobs of kind 'start' that belong to a definition,
-- not an instance: `instance_id` holds the process key, `local_id` the
-- version, `topic` the start event's id, `remaining` the firings left after
-- this one (NULL: no end).
ALTER TABLE jobs ADD COLUMN remaining INTEGER;
