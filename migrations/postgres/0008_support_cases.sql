-- Support cases (seeds 001 and 003), reference data like the utility's:
-- a homeowner's system contract with its installer, and the cases the
-- support team opens and follows (read and written by the support-inquiry
-- process's named queries, processes/support-inquiry/support-inquiry.sql).

CREATE TABLE system_contracts (
    contract_id       TEXT PRIMARY KEY,      -- C-1001
    homeowner         TEXT NOT NULL,
    address           TEXT NOT NULL,
    phone             TEXT NOT NULL,
    email             TEXT NOT NULL,
    contract_type     TEXT NOT NULL,         -- PPA (power purchase) or RIC (retail installment)
    m3_approved       BIGINT NOT NULL DEFAULT 0,  -- the job's final milestone approved
    installer_name    TEXT NOT NULL,
    installer_phone   TEXT NOT NULL,
    installer_email   TEXT NOT NULL,
    manufacturer      TEXT NOT NULL,
    monitoring_status TEXT NOT NULL          -- Active, Deactivated
);

CREATE TABLE support_cases (
    case_id          TEXT PRIMARY KEY,       -- CASE-2024-000101
    contract_id      TEXT NOT NULL REFERENCES system_contracts (contract_id),
    concern          TEXT NOT NULL,          -- the inquiry's concern: maintenance, reactivation, …
    primary_reason   TEXT NOT NULL,          -- Billing/Payments/Collections, System Operations
    secondary_reason TEXT NOT NULL,          -- Other, Reactivation Request, …
    subject          TEXT NOT NULL,
    status           TEXT NOT NULL,          -- Open, Closed
    owner            TEXT NOT NULL,          -- the group that works it: back-office, o-and-m
    channel          TEXT NOT NULL,          -- phone, chat, email
    created_by       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    last_update_at   TEXT NOT NULL,
    last_update      TEXT NOT NULL,
    closed_at        TEXT
);
CREATE INDEX support_cases_by_contract ON support_cases (contract_id, status);

-- The case feed and the inquiries' disposition notes: who wrote what, when.
CREATE TABLE case_notes (
    note_id     TEXT PRIMARY KEY,            -- the writing call's id: written once
    contract_id TEXT NOT NULL REFERENCES system_contracts (contract_id),
    case_id     TEXT REFERENCES support_cases (case_id),
    at          TEXT NOT NULL,
    by_user     TEXT NOT NULL,
    kind        TEXT NOT NULL,               -- disposition, tag, update
    body        TEXT NOT NULL
);
CREATE INDEX case_notes_by_contract ON case_notes (contract_id, at);
