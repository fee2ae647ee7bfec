-- A draft carries every text file it changes, not only its forms: the named
-- queries (`.sql`) and document templates (`.typ`) an analyst edits in the
-- designer are saved, deployed and removed with it the same way.
ALTER TABLE draft_forms RENAME TO draft_files;
