-- The designer's drafts: one per process key, shared by the analysts who edit
-- it; every save adds one to `revision`, and a save from an older revision is
-- refused (no silent overwrite).
CREATE TABLE drafts (
    key        TEXT PRIMARY KEY,
    xml        TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    based_on   INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Why a version was deployed, shown beside it in the process library.
ALTER TABLE deployments ADD COLUMN note TEXT;
