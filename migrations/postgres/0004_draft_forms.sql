-- The form-js forms a draft adds or changes: saved with the draft's BPMN
-- under its revision, deployed with it, removed with it. A form the draft has
-- not touched is read from the latest version's deployment.
CREATE TABLE draft_forms (
    key     TEXT NOT NULL REFERENCES drafts (key) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    content TEXT NOT NULL,
    PRIMARY KEY (key, name)
);
