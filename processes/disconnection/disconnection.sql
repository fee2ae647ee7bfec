-- Named queries of the disconnection process (seed 002), called by its sql
-- connector tasks. Each runs inside the task's own job, on the reference-data
-- tables only; a write says so. See docs/processes/disconnection.md.

-- name: customer_search
-- Customers whose name, account number or phone contains the search text
-- (any case; the phone's punctuation ignored), AC001.
SELECT c.customer_id, c.name, a.account_number, c.phone, c.email, c.category,
       c.sub_category, c.vip, c.status, c.service_address, c.billing_address
FROM customers c JOIN accounts a ON a.customer_id = c.customer_id
WHERE lower(c.name) LIKE '%' || lower(trim(:search)) || '%'
   OR lower(a.account_number) LIKE '%' || lower(trim(:search)) || '%'
   OR (length(replace(replace(replace(replace(trim(:search), '(', ''), ')', ''), '-', ''), ' ', '')) > 0
       AND replace(replace(replace(replace(c.phone, '(', ''), ')', ''), '-', ''), ' ', '')
           LIKE '%' || replace(replace(replace(replace(trim(:search), '(', ''), ')', ''), '-', ''), ' ', '') || '%')
ORDER BY c.name, a.account_number
LIMIT 25

-- name: next_number
-- write
-- The next number of a series (request ids, invoices, service orders).
UPDATE number_series SET next_value = next_value + 1 WHERE series = :series
RETURNING next_value - 1 AS value

-- name: lock_customer
-- write
-- Locks the account for this request; no row changes when another request holds it (AC002).
INSERT INTO customer_locks (account_number, request_id, locked_on, locked_by)
VALUES (:accountNumber, :requestId, :lockedOn, :lockedBy)
ON CONFLICT DO NOTHING

-- name: lock_holder
SELECT request_id, locked_on, locked_by FROM customer_locks WHERE account_number = :accountNumber

-- name: release_lock
-- write
DELETE FROM customer_locks WHERE account_number = :accountNumber AND request_id = :requestId

-- name: reasons
-- decimal: approval_above
SELECT code, name, priority, description, approval_above
FROM disconnection_reasons WHERE request_type = :requestType AND active = 1 ORDER BY code

-- name: time_slots
SELECT slot_id, label, starts, ends FROM time_slots WHERE active = 1 ORDER BY position

-- name: sla_targets
SELECT metric, hours FROM sla_targets WHERE request_type = :requestType

-- name: settings
SELECT name, value FROM utility_settings ORDER BY name

-- name: checklist
SELECT item_id, label FROM checklist_items WHERE process_key = 'disconnection' AND active = 1 ORDER BY position

-- name: ledger
-- decimal: amount
-- The account's invoices (not cancelled) and successful payments, oldest first.
SELECT 'invoice' AS entry, invoice_number AS reference, due_date AS on_date, amount, status AS detail
FROM invoices WHERE account_number = :accountNumber AND status <> 'Cancelled'
UNION ALL
SELECT 'payment' AS entry, payment_id AS reference, paid_on AS on_date, amount, method AS detail
FROM payments WHERE account_number = :accountNumber AND status = 'Succeeded'
ORDER BY on_date, reference

-- name: deposit
-- decimal: amount, applied
SELECT amount, deposit_date, applied FROM security_deposits WHERE account_number = :accountNumber

-- name: meters
-- decimal: last_reading
-- The meters linked to the account's service accounts, with their latest reading.
SELECT m.meter_number, m.device_number, m.meter_type, m.utility, m.inventory_status,
       m.service_account_id,
       (SELECT r.reading FROM meter_readings r WHERE r.meter_number = m.meter_number
        ORDER BY r.reading_date DESC LIMIT 1) AS last_reading,
       (SELECT max(r.reading_date) FROM meter_readings r WHERE r.meter_number = m.meter_number) AS last_reading_date
FROM meters m JOIN service_accounts s ON s.service_account_id = m.service_account_id
WHERE s.account_number = :accountNumber
ORDER BY m.utility, m.meter_number

-- name: service_accounts
SELECT service_account_id, utility, status, pod_id FROM service_accounts WHERE account_number = :accountNumber ORDER BY utility

-- name: meter
-- decimal: last_reading
SELECT m.meter_number, m.device_number, m.meter_type, m.utility, m.inventory_status, m.service_account_id,
       (SELECT r.reading FROM meter_readings r WHERE r.meter_number = m.meter_number
        ORDER BY r.reading_date DESC LIMIT 1) AS last_reading
FROM meters m WHERE m.meter_number = :meterNumber

-- name: templates
SELECT template_code, name, so_type FROM service_order_templates WHERE category = :category ORDER BY template_code

-- name: service_order
SELECT so_id, name, so_type, status, assigned_to, assigned_on, completed_on, approved_by, scheduled_date
FROM service_orders WHERE so_id = :soId AND account_number = :accountNumber

-- name: service_orders_of_account
SELECT so_id, name, so_type, status, scheduled_date, created_on, created_by, assigned_to, assigned_on, remarks
FROM service_orders WHERE account_number = :accountNumber ORDER BY created_on DESC

-- name: create_service_order
-- write
INSERT INTO service_orders (so_id, account_number, name, so_type, status, priority, scheduled_date,
                            scheduled_time, created_on, created_by, remarks, request_id)
VALUES (:soId, :accountNumber, :name, :soType, 'Created', :priority, :scheduledDate,
        :scheduledTime, :createdOn, :createdBy, :remarks, :requestId)

-- name: complete_service_order
-- write
UPDATE service_orders SET status = 'Completed', completed_on = :completedOn WHERE so_id = :soId

-- name: register_request
-- write
INSERT INTO service_requests (request_id, request_type, account_number, customer_name, address,
                              reason_code, priority, status, sla_due, preferred_date, time_slot,
                              outstanding, created_on, created_by, updated_on, updated_by)
VALUES (:requestId, :requestType, :accountNumber, :customerName, :address, :reasonCode, :priority,
        'Pending', :slaDue, :preferredDate, :timeSlot, :outstanding, :createdOn, :createdBy,
        :createdOn, :createdBy)

-- name: set_request_status
-- write
UPDATE service_requests SET status = :status, updated_on = :updatedOn, updated_by = :updatedBy
WHERE request_id = :requestId

-- name: set_sla_breached
-- write
UPDATE service_requests SET sla_status = 'Breached' WHERE request_id = :requestId

-- name: close_request
-- write
UPDATE service_requests SET status = 'Closed', close_reason = :closeReason, close_notes = :closeNotes,
       updated_on = :updatedOn, updated_by = :updatedBy
WHERE request_id = :requestId

-- name: request
SELECT request_id, request_type, account_number, customer_name, status, sla_status, sla_due, priority,
       reason_code, outstanding, close_reason, created_by, updated_by
FROM service_requests WHERE request_id = :requestId

-- name: log_communication
-- write
-- Every mail to the customer and every note, with its time and user (AC020).
-- The call's id keeps a repeated call from logging twice.
INSERT INTO communications (communication_id, request_id, at, by_user, channel, audience, subject, body)
VALUES (:callId, :requestId, :at, :byUser, :channel, :audience, :subject, :body)
ON CONFLICT DO NOTHING

-- name: communications
SELECT at, by_user, channel, audience, subject, body FROM communications
WHERE request_id = :requestId ORDER BY at, communication_id

-- name: post_final_bill
-- write
INSERT INTO invoices (invoice_number, account_number, kind, issued_on, due_date, period_from,
                      period_to, amount, status)
VALUES (:invoiceNumber, :accountNumber, 'final', :issuedOn, :dueDate, :periodFrom, :periodTo,
        :amount, 'Open')

-- name: apply_deposit
-- write
UPDATE security_deposits SET applied = :applied WHERE account_number = :accountNumber

-- name: record_reading
-- write
INSERT INTO meter_readings (meter_number, reading_date, reading) VALUES (:meterNumber, :readingDate, :reading)
ON CONFLICT DO NOTHING

-- name: move_meter
-- write
-- Unlinks the meter from the account: "Unassigned" stays at the premises,
-- "Warehouse" is removed (with an inventory movement).
UPDATE meters SET service_account_id = NULL, inventory_status = :inventoryStatus
WHERE meter_number = :meterNumber

-- name: inventory_movement
-- write
INSERT INTO inventory_movements (movement_id, meter_number, moved_on, from_status, to_status, reason)
VALUES (:callId, :meterNumber, :movedOn, 'Installed', :toStatus, :reason)

-- name: assign_meter
-- write
UPDATE meters SET service_account_id = :serviceAccountId, inventory_status = 'Installed'
WHERE meter_number = :meterNumber AND service_account_id IS NULL

-- name: set_account_status
-- write
-- Disconnected accounts are inactive and their billing frozen; reconnected ones active again.
UPDATE accounts SET status = :status, billing_frozen = :billingFrozen WHERE account_number = :accountNumber

-- name: set_customer_status
-- write
UPDATE customers SET status = :status WHERE customer_id = :customerId

-- name: customer
SELECT c.customer_id, c.name, c.status, a.status AS account_status, a.billing_frozen
FROM customers c JOIN accounts a ON a.customer_id = c.customer_id WHERE a.account_number = :accountNumber

-- name: kpis
-- report: Requests this month, by type and status
-- default monthStart: month_start
-- default monthEnd: next_month_start
-- The landing page's KPI cards: disconnection and reconnection requests created from monthStart (an ISO date) up to monthEnd, by status.
SELECT request_type, status, count(*) AS requests FROM service_requests
WHERE created_on >= :monthStart AND created_on < :monthEnd
GROUP BY request_type, status ORDER BY request_type, status

-- name: current_requests
-- report: Open requests
-- decimal: outstanding
-- The disconnection and reconnection requests not yet completed or closed, newest first.
SELECT request_id, customer_name, account_number, address, request_type, created_on, status, outstanding, priority, sla_status
FROM service_requests WHERE status NOT IN ('Closed', 'Completed') ORDER BY created_on DESC
