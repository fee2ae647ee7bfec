-- Customer onboarding (seed 000) and contract takeover (seed 004): the
-- reference data their named queries read and write
-- (processes/customer-onboarding/customer-onboarding.sql,
-- processes/contract-takeover/contract-takeover.sql).

-- A new connection: the service request, its milestone, and the
-- identifiers made when it completes. A new customer has no account yet, so
-- the request is keyed by its own number and tied to the customer's phone.
CREATE TABLE connection_requests (
    request_id         TEXT PRIMARY KEY,      -- SR-2026-000001
    customer_name      TEXT NOT NULL,
    phone              TEXT NOT NULL,
    email              TEXT,
    address            TEXT NOT NULL,
    district_code      TEXT NOT NULL,
    category           TEXT NOT NULL,         -- Residential, Commercial, Industrial
    milestone          TEXT NOT NULL,         -- Application Fee Generated … Completed; Inspection Failed
    installation_type  TEXT,                  -- chosen by the estimator
    meter_phase        TEXT,
    inspection_notes   TEXT,
    contract_number    TEXT,
    authorisation_code TEXT,
    code_sent_count    BIGINT NOT NULL DEFAULT 0,
    contract_signed_on TEXT,
    installer_id       TEXT,
    spn                TEXT,                  -- service point number (the new point of delivery)
    meter_number       TEXT,
    account_number     TEXT,
    created_on         TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    updated_on         TEXT NOT NULL,
    updated_by         TEXT NOT NULL
);
CREATE INDEX connection_requests_by_phone ON connection_requests (phone);

-- Non-energy invoices (application and connection fees), tied to the
-- request and the customer's phone number; the billing side records
-- payments against their numbers.
CREATE TABLE non_energy_invoices (
    invoice_number TEXT PRIMARY KEY,          -- NEI-2026-000001
    request_id     TEXT NOT NULL REFERENCES connection_requests (request_id),
    phone          TEXT NOT NULL,
    kind           TEXT NOT NULL,             -- Application Fee, Connection Fee
    amount         TEXT NOT NULL,
    issued_on      TEXT NOT NULL,
    due_date       TEXT NOT NULL,
    status         TEXT NOT NULL,             -- Open, Paid
    paid_on        TEXT
);
CREATE INDEX non_energy_invoices_by_phone ON non_energy_invoices (phone);

CREATE TABLE non_energy_payments (
    payment_reference TEXT PRIMARY KEY,       -- the billing side's reference
    invoice_number    TEXT NOT NULL,
    paid_on           TEXT NOT NULL,
    amount            TEXT NOT NULL,
    channel           TEXT NOT NULL           -- Bank, Mobile money, Cash, …
);
CREATE INDEX non_energy_payments_by_invoice ON non_energy_payments (invoice_number);

-- Who installs meters in a district: a meter installer, a farming-out
-- contractor, or (LRP districts) a meter supplier.
CREATE TABLE districts (
    district_code  TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    installer_kind TEXT NOT NULL,             -- Meter Installer, Farming-out Contractor, Meter Supplier
    lrp            BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE installers (
    installer_id  TEXT PRIMARY KEY,           -- the installer's user name
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL,              -- as districts.installer_kind
    district_code TEXT NOT NULL REFERENCES districts (district_code),
    phone         TEXT NOT NULL
);

-- The connection fee by installation type and meter phase.
CREATE TABLE connection_fees (
    installation_type TEXT NOT NULL,          -- Overhead, Underground
    meter_phase       TEXT NOT NULL,          -- Single phase, Three phase
    amount            TEXT NOT NULL,
    PRIMARY KEY (installation_type, meter_phase)
);

-- Contract takeover: what a complete customer record has, and the power a
-- point of delivery is contracted for.
ALTER TABLE customers ADD COLUMN id_document TEXT;
ALTER TABLE customers ADD COLUMN tax_code TEXT;
ALTER TABLE points_of_delivery ADD COLUMN power_kw TEXT;
ALTER TABLE points_of_delivery ADD COLUMN voltage TEXT;
ALTER TABLE points_of_delivery ADD COLUMN phase TEXT;

-- One takeover: the same point of delivery, a new holder; kept for the
-- statistics on number, route and resolution time.
CREATE TABLE takeovers (
    takeover_id      TEXT PRIMARY KEY,        -- TKO-2026-000001
    pod_id           TEXT NOT NULL REFERENCES points_of_delivery (pod_id),
    old_contract_id  TEXT NOT NULL,
    old_holder_id    TEXT NOT NULL,
    new_holder_id    TEXT,
    new_contract_id  TEXT,
    route            TEXT NOT NULL,           -- existing, wizard, forms (how the new holder was filed)
    power_increase   BIGINT NOT NULL DEFAULT 0,
    power_kw         TEXT,
    voltage          TEXT,
    phase            TEXT,
    takeover_date    TEXT,
    status           TEXT NOT NULL,           -- Requested, Scheduled, Confirmed, Completed
    requested_on     TEXT NOT NULL,
    requested_by     TEXT NOT NULL,
    completed_on     TEXT,
    resolution_hours TEXT,
    service_order_id TEXT
);
CREATE INDEX takeovers_by_pod ON takeovers (pod_id);

-- An onboarding's service orders (inspection, installation) exist before
-- the customer has an account: the account becomes optional, and an order
-- may name its connection request instead.
ALTER TABLE service_orders ALTER COLUMN account_number DROP NOT NULL;
CREATE INDEX service_orders_by_request ON service_orders (request_id);

-- What the inbox shows of a request: its process-level `status` variable
-- and its `requestId` variable, copied from the instance at every save.
ALTER TABLE instances ADD COLUMN status TEXT;
ALTER TABLE instances ADD COLUMN request_id TEXT;
