-- The utility's reference data (DESIGN.md, "Utility reference data and
-- connectors"): what the seeds' processes read and write through `sql`
-- connectors, each with a named query from a `.sql` file deployed with the
-- process. None of the engine's own tables is reachable that way
-- (`millrace_store::connector::REFERENCE_TABLES` lists these). Money is
-- decimal text ("456.78"), dates are ISO 8601 text, flags are 0/1.

-- A connector's call: its input parameters as evaluated when the task was entered.
ALTER TABLE jobs ADD COLUMN payload TEXT;

CREATE TABLE customers (
    customer_id       TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    category          TEXT NOT NULL,          -- Residential, Commercial, Industrial
    sub_category      TEXT NOT NULL,          -- Standard, Senior, …
    vip               BIGINT NOT NULL DEFAULT 0,
    status            TEXT NOT NULL,          -- Active, Inactive
    registration_date TEXT NOT NULL,
    service_address   TEXT NOT NULL,
    billing_address   TEXT NOT NULL,
    phone             TEXT NOT NULL,
    email             TEXT
);

CREATE TABLE accounts (
    account_number TEXT PRIMARY KEY,
    customer_id    TEXT NOT NULL REFERENCES customers (customer_id),
    status         TEXT NOT NULL,             -- Active, Inactive
    opened_on      TEXT NOT NULL,
    billing_frozen BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX accounts_by_customer ON accounts (customer_id);

CREATE TABLE points_of_delivery (
    pod_id  TEXT PRIMARY KEY,
    address TEXT NOT NULL,
    utility TEXT NOT NULL,                    -- electricity, water
    status  TEXT NOT NULL                     -- Connected, Disconnected
);

CREATE TABLE service_accounts (
    service_account_id TEXT PRIMARY KEY,
    account_number     TEXT NOT NULL REFERENCES accounts (account_number),
    utility            TEXT NOT NULL,         -- electricity, water
    status             TEXT NOT NULL,
    pod_id             TEXT REFERENCES points_of_delivery (pod_id)
);
CREATE INDEX service_accounts_by_account ON service_accounts (account_number);

CREATE TABLE supply_contracts (
    contract_id    TEXT PRIMARY KEY,
    pod_id         TEXT NOT NULL REFERENCES points_of_delivery (pod_id),
    account_number TEXT NOT NULL REFERENCES accounts (account_number),
    holder_id      TEXT NOT NULL REFERENCES customers (customer_id),
    status         TEXT NOT NULL,             -- Active, Closed
    start_date     TEXT NOT NULL,
    end_date       TEXT
);

CREATE TABLE invoices (
    invoice_number TEXT PRIMARY KEY,
    account_number TEXT NOT NULL REFERENCES accounts (account_number),
    kind           TEXT NOT NULL,             -- energy, non-energy, final
    issued_on      TEXT NOT NULL,
    due_date       TEXT NOT NULL,
    period_from    TEXT,
    period_to      TEXT,
    amount         TEXT NOT NULL,
    status         TEXT NOT NULL              -- Open, Paid, Cancelled
);
CREATE INDEX invoices_by_account ON invoices (account_number, due_date);

CREATE TABLE payments (
    payment_id     TEXT PRIMARY KEY,
    account_number TEXT NOT NULL REFERENCES accounts (account_number),
    paid_on        TEXT NOT NULL,
    amount         TEXT NOT NULL,
    method         TEXT NOT NULL,             -- Online Banking, Cash, Card, …
    status         TEXT NOT NULL              -- Succeeded, Failed
);
CREATE INDEX payments_by_account ON payments (account_number, paid_on);

CREATE TABLE security_deposits (
    account_number TEXT PRIMARY KEY REFERENCES accounts (account_number),
    amount         TEXT NOT NULL,
    deposit_date   TEXT NOT NULL,
    applied        TEXT NOT NULL DEFAULT '0.00'
);

CREATE TABLE meters (
    meter_number       TEXT PRIMARY KEY,
    device_number      TEXT NOT NULL UNIQUE,
    meter_type         TEXT NOT NULL,         -- Smart, Electromechanical, …
    utility            TEXT NOT NULL,
    service_account_id TEXT REFERENCES service_accounts (service_account_id),
    inventory_status   TEXT NOT NULL          -- Installed, Unassigned, Warehouse, Decommissioned
);
CREATE INDEX meters_by_service_account ON meters (service_account_id);

CREATE TABLE meter_readings (
    meter_number TEXT NOT NULL REFERENCES meters (meter_number),
    reading_date TEXT NOT NULL,
    reading      TEXT NOT NULL,
    PRIMARY KEY (meter_number, reading_date)
);

CREATE TABLE inventory_movements (
    movement_id  TEXT PRIMARY KEY,
    meter_number TEXT NOT NULL REFERENCES meters (meter_number),
    moved_on     TEXT NOT NULL,
    from_status  TEXT NOT NULL,
    to_status    TEXT NOT NULL,
    reason       TEXT NOT NULL
);

CREATE TABLE service_order_templates (
    template_code TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    so_type       TEXT NOT NULL,              -- Disconnection, Reconnection, Inspection, Installation
    category      TEXT NOT NULL               -- the customer category it applies to
);

CREATE TABLE service_orders (
    so_id          TEXT PRIMARY KEY,
    account_number TEXT NOT NULL REFERENCES accounts (account_number),
    name           TEXT NOT NULL,
    so_type        TEXT NOT NULL,
    status         TEXT NOT NULL,             -- Created, Assigned, Completed, Cancelled
    priority       TEXT NOT NULL,
    scheduled_date TEXT,
    scheduled_time TEXT,
    created_on     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    assigned_to    TEXT,
    assigned_on    TEXT,
    approved_by    TEXT,
    completed_on   TEXT,
    remarks        TEXT,
    request_id     TEXT
);
CREATE INDEX service_orders_by_account ON service_orders (account_number);

CREATE TABLE disconnection_reasons (
    code                    TEXT PRIMARY KEY,
    request_type            TEXT NOT NULL,    -- Disconnection, Reconnection
    name                    TEXT NOT NULL,
    priority                TEXT NOT NULL,    -- High, Medium, Low
    description             TEXT NOT NULL,
    -- Approval is required when the outstanding balance is above this amount
    -- (NULL: never; '0.00': always).
    approval_above          TEXT,
    active                  BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE time_slots (
    slot_id  TEXT PRIMARY KEY,
    label    TEXT NOT NULL,                   -- "10:00 AM - 12:00 PM"
    starts   TEXT NOT NULL,                   -- "10:00"
    ends     TEXT NOT NULL,
    position BIGINT NOT NULL,
    active   BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE holidays (
    day  TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE checklist_items (
    item_id     TEXT PRIMARY KEY,
    process_key TEXT NOT NULL,
    label       TEXT NOT NULL,
    position    BIGINT NOT NULL,
    active      BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE sla_targets (
    request_type TEXT NOT NULL,               -- Disconnection, Reconnection
    metric       TEXT NOT NULL,               -- acknowledgement, response, resolution
    hours        BIGINT NOT NULL,
    PRIMARY KEY (request_type, metric)
);

CREATE TABLE utility_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Numbers handed out in order (request ids, invoice numbers): one row per series.
CREATE TABLE number_series (
    series     TEXT PRIMARY KEY,
    next_value BIGINT NOT NULL
);

-- The requests staff track (the landing page's list and KPIs), written by the processes.
CREATE TABLE service_requests (
    request_id     TEXT PRIMARY KEY,
    request_type   TEXT NOT NULL,             -- Disconnection, Reconnection
    account_number TEXT NOT NULL REFERENCES accounts (account_number),
    customer_name  TEXT NOT NULL,
    address        TEXT NOT NULL,
    reason_code    TEXT,
    priority       TEXT,
    status         TEXT NOT NULL,             -- Pending, In Progress, On Hold, Completed, Closed
    sla_status     TEXT NOT NULL DEFAULT 'On Track', -- On Track, Breached
    sla_due        TEXT,
    preferred_date TEXT,
    time_slot      TEXT,
    outstanding    TEXT,
    created_on     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    updated_on     TEXT NOT NULL,
    updated_by     TEXT NOT NULL,
    close_reason   TEXT,
    close_notes    TEXT
);
CREATE INDEX service_requests_by_status ON service_requests (status, created_on);

-- A customer with an open request is locked against a second one (AC002):
-- the primary key makes two nodes' inserts for one account race to one winner.
CREATE TABLE customer_locks (
    account_number TEXT PRIMARY KEY REFERENCES accounts (account_number),
    request_id     TEXT NOT NULL,
    locked_on      TEXT NOT NULL,
    locked_by      TEXT NOT NULL
);

-- Every message to the customer and internal note on a request (AC020).
CREATE TABLE communications (
    communication_id TEXT PRIMARY KEY,
    request_id       TEXT NOT NULL,
    at               TEXT NOT NULL,
    by_user          TEXT NOT NULL,
    channel          TEXT NOT NULL,           -- email, note
    audience         TEXT NOT NULL,           -- consumer, internal
    subject          TEXT,
    body             TEXT NOT NULL
);
CREATE INDEX communications_by_request ON communications (request_id, at);
