-- Named queries of the customer-onboarding process (seed 000), on the
-- reference data: connection requests and their milestones, non-energy
-- invoices and the payments the billing side records against them, service
-- orders, districts and their installers, connection fees, meters, and the
-- customer, account, service point and contract made at the end.

-- name: settings
-- The settings, as rows of name and value (application_fee, non_energy_invoice_due_days, …).
SELECT name, value FROM utility_settings ORDER BY name

-- name: districts
-- Every district and who installs meters there.
SELECT district_code, name, installer_kind, lrp FROM districts ORDER BY name

-- name: next_number
-- write
-- The next number of a series (requests, invoices, service orders, contracts, …).
UPDATE number_series SET next_value = next_value + 1 WHERE series = :series
RETURNING next_value - 1 AS value

-- name: register_request
-- write
-- The service request, at its first milestone.
INSERT INTO connection_requests (request_id, customer_name, phone, email, address, district_code, category,
                                 milestone, created_on, created_by, updated_on, updated_by)
VALUES (:requestId, trim(:customerName), trim(:phone), trim(:email), trim(:address), :districtCode, :category,
        'Application Fee Generated', :at, :byUser, :at, :byUser)

-- name: set_milestone
-- write
UPDATE connection_requests SET milestone = :milestone, updated_on = :at, updated_by = :byUser
WHERE request_id = :requestId

-- name: request
-- One request as staff see it (reports, tests).
SELECT request_id, customer_name, phone, email, district_code, milestone, installation_type, meter_phase,
       contract_number, code_sent_count, contract_signed_on, installer_id, spn, meter_number, account_number
FROM connection_requests WHERE request_id = :requestId

-- name: issue_invoice
-- write
-- decimal: amount
-- A non-energy invoice tied to the request and the customer's phone number.
INSERT INTO non_energy_invoices (invoice_number, request_id, phone, kind, amount, issued_on, due_date, status)
VALUES (:invoiceNumber, :requestId, trim(:phone), :kind, :amount, :issuedOn, :dueDate, 'Open')
RETURNING invoice_number, kind, amount, issued_on, due_date, status

-- name: invoice_payments
-- decimal: amount
-- What the billing side has received against an invoice ("Check status").
SELECT payment_reference, paid_on, amount, channel
FROM non_energy_payments WHERE invoice_number = :invoiceNumber ORDER BY paid_on, payment_reference

-- name: record_payment
-- write
-- A payment the billing side announced with its invoice-paid message, once per reference.
INSERT INTO non_energy_payments (payment_reference, invoice_number, paid_on, amount, channel)
VALUES (:paymentReference, :invoiceNumber, :paidOn, :amount, :channel)
ON CONFLICT DO NOTHING

-- name: mark_invoice_paid
-- write
UPDATE non_energy_invoices SET status = 'Paid', paid_on = :at WHERE invoice_number = :invoiceNumber AND status = 'Open'

-- name: invoices
-- The non-energy invoices of a phone number (the staff portal's list; tests).
SELECT invoice_number, request_id, kind, amount, due_date, status FROM non_energy_invoices
WHERE phone = trim(:phone) ORDER BY invoice_number

-- name: create_service_order
-- write
INSERT INTO service_orders (so_id, account_number, name, so_type, status, priority, created_on, created_by,
                            remarks, request_id)
VALUES (:soId, NULL, :name, :soType, 'Created', :priority, :at, :byUser, :remarks, :requestId)

-- name: assign_service_order
-- write
-- The installation order assigned to the installer the DTO chose, on the order and on the request.
UPDATE service_orders SET status = 'Assigned', assigned_to = :installer, assigned_on = :at WHERE so_id = :soId

-- name: complete_service_order
-- write
UPDATE service_orders SET status = 'Completed', completed_on = :at, approved_by = :approvedBy, remarks = :remarks
WHERE so_id = :soId

-- name: service_orders
-- A request's service orders (the DTO's portal; tests).
SELECT so_id, name, so_type, status, assigned_to, approved_by FROM service_orders
WHERE request_id = :requestId ORDER BY so_id

-- name: inspection_failed
-- write
-- A failed inspection: no contract; the inspection order is closed with the findings.
UPDATE connection_requests SET milestone = 'Inspection Failed', inspection_notes = :notes, updated_on = :at,
       updated_by = :byUser
WHERE request_id = :requestId

-- name: generate_contract
-- write
-- The contract, with a fresh authorisation code for the customer to sign it.
UPDATE connection_requests SET milestone = 'Contract Generated', contract_number = :contractNumber,
       installation_type = :installationType, meter_phase = :meterPhase, inspection_notes = :notes,
       authorisation_code = upper(substr(:nonce, 1, 8)), updated_on = :at, updated_by = :byUser
WHERE request_id = :requestId
RETURNING contract_number, authorisation_code

-- name: code_sent
-- write
UPDATE connection_requests SET code_sent_count = code_sent_count + 1, updated_on = :at WHERE request_id = :requestId
RETURNING code_sent_count

-- name: contract_signed
-- write
UPDATE connection_requests SET contract_signed_on = :at, updated_on = :at, updated_by = :byUser
WHERE request_id = :requestId

-- name: connection_fee
-- decimal: amount
-- The connection fee for the installation type and meter phase the estimator chose.
SELECT amount FROM connection_fees WHERE installation_type = :installationType AND meter_phase = :meterPhase

-- name: installers
-- Who may install in the district: the district's kind of installer.
SELECT installer_id, name, kind, phone FROM installers
WHERE district_code = :districtCode AND kind = :kind ORDER BY name

-- name: meters_in_stock
-- Meters in the warehouse for the meter phase.
SELECT meter_number, device_number, meter_type FROM meters
WHERE inventory_status = 'Warehouse' AND utility = 'electricity'
  AND lower(meter_type) LIKE '%' || lower(:meterPhase) || '%'
ORDER BY meter_number

-- name: create_customer
-- write
INSERT INTO customers (customer_id, name, category, sub_category, vip, status, registration_date, service_address,
                       billing_address, phone, email)
VALUES (:customerId, trim(:name), :category, 'Standard', 0, 'Active', :today, trim(:address), trim(:address),
        trim(:phone), trim(:email))

-- name: create_account
-- write
INSERT INTO accounts (account_number, customer_id, status, opened_on, billing_frozen)
VALUES (:accountNumber, :customerId, 'Active', :today, 0)

-- name: create_service_point
-- write
-- The new point of delivery: its id is the SPN.
INSERT INTO points_of_delivery (pod_id, address, utility, status, phase)
VALUES (:spn, trim(:address), 'electricity', 'Connected', :meterPhase)

-- name: create_service_account
-- write
INSERT INTO service_accounts (service_account_id, account_number, utility, status, pod_id)
VALUES ('SA-' || :spn, :accountNumber, 'electricity', 'Active', :spn)

-- name: install_meter
-- write
UPDATE meters SET service_account_id = 'SA-' || :spn, inventory_status = 'Installed'
WHERE meter_number = :meterNumber AND inventory_status = 'Warehouse'

-- name: meter_movement
-- write
INSERT INTO inventory_movements (movement_id, meter_number, moved_on, from_status, to_status, reason)
VALUES (:callId, :meterNumber, :today, 'Warehouse', 'Installed', 'New connection ' || :requestId)
ON CONFLICT DO NOTHING

-- name: first_reading
-- write
INSERT INTO meter_readings (meter_number, reading_date, reading) VALUES (:meterNumber, :today, :reading)
ON CONFLICT DO NOTHING

-- name: create_supply_contract
-- write
INSERT INTO supply_contracts (contract_id, pod_id, account_number, holder_id, status, start_date)
VALUES (:contractNumber, :spn, :accountNumber, :customerId, 'Active', :today)

-- name: request_identifiers
-- write
-- The identifiers CREs see on a completed request.
UPDATE connection_requests SET spn = :spn, meter_number = :meterNumber, account_number = :accountNumber,
       installer_id = :installer, updated_on = :at, updated_by = :byUser
WHERE request_id = :requestId

-- name: customer_account
-- The customer's account, service point, meter and contract once completed (tests).
SELECT c.customer_id, c.name, c.status, a.account_number, p.pod_id, m.meter_number, m.inventory_status,
       s.contract_id, s.status AS contract_status
FROM customers c JOIN accounts a ON a.customer_id = c.customer_id
JOIN supply_contracts s ON s.account_number = a.account_number
JOIN points_of_delivery p ON p.pod_id = s.pod_id
JOIN service_accounts sa ON sa.pod_id = p.pod_id
JOIN meters m ON m.service_account_id = sa.service_account_id
WHERE a.account_number = :accountNumber

-- name: milestones
-- report: Service requests by milestone
-- How many new-connection requests stand at each milestone.
SELECT milestone, count(*) AS requests FROM connection_requests GROUP BY milestone ORDER BY milestone

-- name: open_invoices
-- report: Unpaid non-energy invoices
-- decimal: amount
-- Application and connection fees not paid yet, oldest due first.
SELECT i.invoice_number, i.kind, i.amount, i.due_date, r.request_id, r.customer_name, r.phone, r.milestone
FROM non_energy_invoices i JOIN connection_requests r ON r.request_id = i.request_id
WHERE i.status = 'Open' ORDER BY i.due_date, i.invoice_number
