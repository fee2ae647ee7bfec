-- Named queries of the support-inquiry process (seeds 001 and 003), on the
-- reference data: system contracts, support cases, the case feed, settings,
-- the holidays of the business calendar and the number series.

-- name: settings
-- The settings, as rows of name and value (om_escalation_email, …).
SELECT name, value FROM utility_settings ORDER BY name

-- name: holidays
-- The days off of the business calendar, which administrators edit.
SELECT day FROM holidays ORDER BY day

-- name: contract
-- The homeowner's system contract, with its installer and monitoring state.
SELECT contract_id, homeowner, address, phone, email, contract_type, m3_approved,
       installer_name, installer_phone, installer_email, manufacturer, monitoring_status
FROM system_contracts WHERE contract_id = upper(trim(:contractId))

-- name: open_case
-- The most recently updated open case on the same concern for this contract.
SELECT case_id, subject, owner, status, created_at, last_update_at, last_update
FROM support_cases
WHERE contract_id = :contractId AND concern = :concern AND status = 'Open'
ORDER BY last_update_at DESC LIMIT 1

-- name: next_number
-- write
-- The next number of a series (case numbers).
UPDATE number_series SET next_value = next_value + 1 WHERE series = :series
RETURNING next_value - 1 AS value

-- name: create_case
-- write
-- A case for the team that works it (Back Office, O&M).
INSERT INTO support_cases (case_id, contract_id, concern, primary_reason, secondary_reason, subject,
                           status, owner, channel, created_by, created_at, last_update_at, last_update)
VALUES (:caseId, :contractId, :concern, :primaryReason, :secondaryReason, :subject,
        'Open', :owner, :channel, :createdBy, :at, :at, :update)

-- name: close_case
-- write
UPDATE support_cases SET status = 'Closed', closed_at = :at, last_update_at = :at, last_update = :update
WHERE case_id = :caseId

-- name: add_note
-- write
-- A disposition note or a tag in the case feed, once per call.
INSERT INTO case_notes (note_id, contract_id, case_id, at, by_user, kind, body)
VALUES (:callId, :contractId, :caseId, :at, :byUser, :kind, :body)
ON CONFLICT DO NOTHING

-- name: notes
-- The case feed and disposition notes of a contract, oldest first (reports, tests).
SELECT case_id, at, by_user, kind, body FROM case_notes WHERE contract_id = :contractId ORDER BY at, note_id

-- name: cases
-- The cases of a contract (reports, tests).
SELECT case_id, concern, primary_reason, secondary_reason, subject, status, owner, channel, created_by, last_update, closed_at
FROM support_cases WHERE contract_id = :contractId ORDER BY case_id

-- name: open_cases
-- report: Open support cases
-- The cases still open, the longest without an update first.
SELECT case_id, contract_id, subject, owner, channel, created_at, last_update_at, last_update
FROM support_cases WHERE status = 'Open' ORDER BY last_update_at, case_id
