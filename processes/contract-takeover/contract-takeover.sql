-- Named queries of the contract-takeover process (seed 004): a new holder
-- takes over the supply contract of a point of delivery (POD) without a new
-- POD or meter. They read and write the reference data: supply contracts,
-- customers, accounts, points of delivery, service accounts, meters and
-- their readings, service orders, the takeovers and the number series. See
-- docs/processes/contract-takeover.md.

-- name: holidays
-- The days off of the business calendar (the takeover date is a business day).
SELECT day, name FROM holidays ORDER BY day

-- name: current_contract
-- decimal: power_kw
-- The point of delivery named by its id or by a contract number (any case,
-- spaces ignored), with its active supply contract and that contract's
-- holder. No row: no such POD or contract; a row without contract_id: the
-- POD has no active contract.
SELECT p.pod_id, p.address, p.utility, p.status AS pod_status, p.power_kw, p.voltage, p.phase,
       sc.contract_id, sc.account_number, sc.holder_id, sc.start_date,
       c.name AS holder_name, c.phone AS holder_phone, c.email AS holder_email
FROM points_of_delivery p
LEFT JOIN supply_contracts sc ON sc.pod_id = p.pod_id AND sc.status = 'Active'
LEFT JOIN customers c ON c.customer_id = sc.holder_id
WHERE p.pod_id = upper(replace(trim(:reference), ' ', ''))
   OR p.pod_id IN (SELECT s.pod_id FROM supply_contracts s
                   WHERE s.contract_id = upper(replace(trim(:reference), ' ', '')))
ORDER BY sc.start_date DESC
LIMIT 1

-- name: next_number
-- write
-- The next number of a series (TKO takeovers, CUS customers, ACC accounts,
-- SC supply contracts, SO service orders).
UPDATE number_series SET next_value = next_value + 1 WHERE series = :series
RETURNING next_value - 1 AS value

-- name: create_takeover
-- write
-- The takeover as requested; the route is known once the new holder is filed.
INSERT INTO takeovers (takeover_id, pod_id, old_contract_id, old_holder_id, route, power_increase,
                       takeover_date, status, requested_on, requested_by)
VALUES (:takeoverId, :podId, :oldContractId, :oldHolderId, 'pending', :powerIncrease,
        :takeoverDate, 'Requested', :requestedOn, :requestedBy)
ON CONFLICT DO NOTHING

-- name: find_holder
-- The new holder among the customers: by customer id when one is given,
-- otherwise by the same name (any case) and phone number (digits only).
SELECT customer_id, name, phone, email, billing_address, id_document, tax_code, category
FROM customers
WHERE (length(trim(:customerId)) > 0 AND customer_id = upper(trim(:customerId)))
   OR (length(trim(:customerId)) = 0
       AND lower(trim(name)) = lower(trim(:name))
       AND replace(replace(replace(replace(replace(phone, '(', ''), ')', ''), '-', ''), ' ', ''), '+', '')
           = replace(replace(replace(replace(replace(trim(:phone), '(', ''), ')', ''), '-', ''), ' ', ''), '+', ''))
ORDER BY customer_id
LIMIT 1

-- name: create_customer
-- write
-- The new holder as a customer: the contact (wizard step 1) or all the
-- details at once (the registration form). The service address is the POD's.
INSERT INTO customers (customer_id, name, category, sub_category, vip, status, registration_date,
                       service_address, billing_address, phone, email, id_document, tax_code)
VALUES (:customerId, :name, :category, 'Standard', 0, 'Active', :registrationDate,
        :serviceAddress, :billingAddress, :phone, :email, :idDocument, :taxCode)
ON CONFLICT DO NOTHING

-- name: update_identity
-- write
-- Wizard step 2: the identity document, the tax code and the billing address.
UPDATE customers SET id_document = :idDocument, tax_code = :taxCode, billing_address = :billingAddress
WHERE customer_id = :customerId

-- name: associate_holder
-- write
-- Wizard step 3 (and the registration form): the new holder is tied to the takeover of the POD.
UPDATE takeovers SET new_holder_id = :customerId WHERE takeover_id = :takeoverId

-- name: set_route
-- write
-- How the new holder was filed: existing, wizard or forms.
UPDATE takeovers SET route = :route, new_holder_id = :customerId WHERE takeover_id = :takeoverId

-- name: record_power
-- write
-- The power load increase asked for, applied to the POD when the takeover completes.
UPDATE takeovers SET power_increase = 1, power_kw = :powerKw, voltage = :voltage, phase = :phase
WHERE takeover_id = :takeoverId

-- name: schedule
-- write
UPDATE takeovers SET takeover_date = :takeoverDate, status = 'Scheduled' WHERE takeover_id = :takeoverId

-- name: set_status
-- write
UPDATE takeovers SET status = :status WHERE takeover_id = :takeoverId

-- name: cancel
-- write
UPDATE takeovers SET status = 'Cancelled' WHERE takeover_id = :takeoverId

-- name: customer
-- The new holder's record, for the completeness check.
SELECT customer_id, name, phone, email, billing_address, service_address, id_document, tax_code, category
FROM customers WHERE customer_id = :customerId

-- name: update_details
-- write
-- The details completed by the operator.
UPDATE customers SET name = :name, phone = :phone, email = :email, billing_address = :billingAddress,
                     id_document = :idDocument, tax_code = :taxCode
WHERE customer_id = :customerId

-- name: pod_meter
-- decimal: last_reading
-- The meter installed on the POD (through its service account), with its latest reading.
SELECT m.meter_number, m.meter_type, s.service_account_id,
       (SELECT r.reading FROM meter_readings r WHERE r.meter_number = m.meter_number
        ORDER BY r.reading_date DESC LIMIT 1) AS last_reading,
       (SELECT max(r.reading_date) FROM meter_readings r WHERE r.meter_number = m.meter_number) AS last_reading_date
FROM meters m JOIN service_accounts s ON s.service_account_id = m.service_account_id
WHERE s.pod_id = :podId AND m.inventory_status = 'Installed'
ORDER BY m.meter_number
LIMIT 1

-- name: close_contract
-- write
-- The old holder's contract ends on the takeover date.
UPDATE supply_contracts SET status = 'Closed', end_date = :endDate
WHERE contract_id = :contractId AND status = 'Active'

-- name: open_account
-- write
INSERT INTO accounts (account_number, customer_id, status, opened_on)
VALUES (:accountNumber, :customerId, 'Active', :openedOn)
ON CONFLICT DO NOTHING

-- name: open_contract
-- write
-- The new holder's contract on the same POD, from the takeover date.
INSERT INTO supply_contracts (contract_id, pod_id, account_number, holder_id, status, start_date)
VALUES (:contractId, :podId, :accountNumber, :holderId, 'Active', :startDate)
ON CONFLICT DO NOTHING

-- name: move_service_account
-- write
-- The POD's service account (and the meter on it) now bills the new account.
UPDATE service_accounts SET account_number = :accountNumber WHERE pod_id = :podId AND status = 'Active'

-- name: apply_power
-- write
UPDATE points_of_delivery SET power_kw = :powerKw, voltage = :voltage, phase = :phase WHERE pod_id = :podId

-- name: template
-- The service order template of a takeover's meter reading (TKO-TECH).
SELECT template_code, name, so_type FROM service_order_templates WHERE template_code = :templateCode

-- name: create_service_order
-- write
INSERT INTO service_orders (so_id, account_number, name, so_type, status, priority, scheduled_date,
                            created_on, created_by, assigned_to, assigned_on, remarks, request_id)
VALUES (:soId, :accountNumber, :name, :soType, 'Assigned', 'Medium', :scheduledDate,
        :createdOn, :createdBy, 'Field technicians', :createdOn, :remarks, :requestId)
ON CONFLICT DO NOTHING

-- name: complete_takeover
-- write
UPDATE takeovers SET status = 'Completed', completed_on = :completedOn, resolution_hours = :resolutionHours,
                     new_holder_id = :newHolderId, new_contract_id = :newContractId,
                     service_order_id = :soId
WHERE takeover_id = :takeoverId

-- name: record_reading
-- write
-- The meter reading at the change of holder.
INSERT INTO meter_readings (meter_number, reading_date, reading) VALUES (:meterNumber, :readingDate, :reading)
ON CONFLICT DO NOTHING

-- name: complete_service_order
-- write
UPDATE service_orders SET status = 'Completed', completed_on = :completedOn,
                          remarks = :remarks
WHERE so_id = :soId

-- name: takeover
-- decimal: power_kw, resolution_hours
-- One takeover (reports, tests).
SELECT takeover_id, pod_id, old_contract_id, old_holder_id, new_holder_id, new_contract_id, route,
       power_increase, power_kw, voltage, phase, takeover_date, status, requested_by, completed_on,
       resolution_hours, service_order_id
FROM takeovers WHERE takeover_id = :takeoverId

-- name: contracts_of_pod
-- The supply contracts of a POD, oldest first (reports, tests).
SELECT contract_id, account_number, holder_id, status, start_date, end_date
FROM supply_contracts WHERE pod_id = :podId ORDER BY start_date, contract_id

-- name: pod
-- decimal: power_kw
SELECT pod_id, address, status, power_kw, voltage, phase FROM points_of_delivery WHERE pod_id = :podId

-- name: customer_accounts
-- The accounts of a customer and the service accounts that bill them (reports, tests).
SELECT a.account_number, a.status, a.opened_on, s.service_account_id, s.pod_id
FROM accounts a LEFT JOIN service_accounts s ON s.account_number = a.account_number
WHERE a.customer_id = :customerId ORDER BY a.account_number, s.service_account_id

-- name: service_orders_of_request
-- The service orders of a takeover (reports, tests).
SELECT so_id, account_number, name, so_type, status, priority, scheduled_date, created_by, assigned_to,
       completed_on, remarks, request_id
FROM service_orders WHERE request_id = :requestId ORDER BY so_id

-- name: readings
-- The readings of a meter, oldest first (reports, tests).
SELECT reading_date, reading FROM meter_readings WHERE meter_number = :meterNumber ORDER BY reading_date

-- name: statistics
-- report: Completed takeovers by route
-- decimal: average_hours
-- Completed takeovers by route (existing, wizard, forms): how many, and the
-- average hours from request to completion; for the dashboard.
SELECT route, count(*) AS takeovers,
       CAST(round(avg(CAST(resolution_hours AS NUMERIC)), 2) AS TEXT) AS average_hours
FROM takeovers WHERE status = 'Completed'
GROUP BY route ORDER BY route
