-- Inbox filters a user saved, for themselves or shared with one of their
-- groups. `criteria` is the filter as JSON (the API's FilterCriteria); it
-- is applied for whoever reads it, within the tasks they may see.
CREATE TABLE saved_filters (
    id          TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    name        TEXT NOT NULL,
    criteria    TEXT NOT NULL,
    shared_with TEXT,
    created_at  TEXT NOT NULL,
    UNIQUE (owner, name)
);
CREATE INDEX saved_filters_shared ON saved_filters (shared_with);
