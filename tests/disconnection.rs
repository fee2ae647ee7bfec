//! The disconnection process (seed 002) through the HTTP API, as its users
//! work it: real users in the seed's groups walk the sample customer from the
//! request to the executed disconnection and the final bill, a second request
//! for the same customer is refused, the server's form checks answer on the
//! field they name, and afterwards the ledger, the meter's inventory state,
//! the customer's status and the mail in a real SMTP server are checked.

use std::time::Duration;

mod common;

use common::server::{add_user, admin, Client, Server};
use common::walk::{complete, named_rows, task_at};
use serde_json::{json, Value};

fn start(who: &Client, search: &str) -> String {
    let (s, b) = who.call(
        "POST",
        "/api/process-definitions/disconnection/start",
        Some(json!({ "variables": { "search": search } })),
    );
    assert_eq!(s, 201, "{b}");
    b["id"].as_str().expect("instance id").to_string()
}

fn day(offset: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(offset))
        .format("%Y-%m-%d")
        .to_string()
}

/// The text of a PDF, as `pdftotext` (poppler-utils) reads it.
fn pdf_text(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("d.pdf");
    std::fs::write(&file, pdf).expect("write the PDF");
    let out = std::process::Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils; tests/run.sh installs it)");
    assert!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The documents of `instance` that `who` may read, by name, with their text.
fn documents(who: &Client, instance: &str) -> Vec<(String, String)> {
    let (s, list) = who.call(
        "GET",
        &format!("/api/process-instances/{instance}/documents"),
        None,
    );
    assert_eq!(s, 200, "{list}");
    list.as_array()
        .expect("a list")
        .iter()
        .map(|d| {
            let (s, pdf, kind) = who.get_bytes(d["url"].as_str().expect("a url"));
            assert_eq!((s, kind.as_str()), (200, "application/pdf"), "{d}");
            (
                d["name"].as_str().expect("a name").to_string(),
                pdf_text(&pdf),
            )
        })
        .collect()
}

#[test]
fn staff_walk_the_sample_customer_from_request_to_disconnection_and_final_bill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let maildir = dir.path().join("maildir");
    let (_smtp, smtp_port) = common::smtp::start(&maildir);
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    let server: Server =
        common::server::start_server_with_args("processes", &["--smtp-url", &smtp_url]);

    let admin = admin(&server);
    let people = [
        ("sarah.johnson", "customer-service-executives"),
        ("ana.ccr", "call-centre-representatives"),
        ("rita.recovery", "recovery-executives"),
        ("bill.specialist", "billing-specialists"),
        ("david.chen", "supervisors"),
        ("mike.thompson", "field-technicians"),
    ];
    let login = |name: &str, group: &str| {
        let password = add_user(&admin, name, "staff", &[group]);
        Client::login(&server, name, &password)
    };
    let [sarah, ana, rita, bill, david, mike] = people.map(|(n, g)| login(n, g));

    // Sarah starts a request; the search's connector has run when the start answers.
    let (s, forms) = sarah.call("GET", "/api/start-forms", None);
    assert_eq!(s, 200);
    assert!(forms.to_string().contains("disconnection"), "{forms}");
    let id = start(&sarah, "smith");
    let select = task_at(&sarah, &id, "Task_SelectCustomer");
    let (s, form) = sarah.call(
        "GET",
        &format!("/api/tasks/{}/form", select["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(s, 200, "{form}");
    assert_eq!(
        form["context"]["customerOptions"][0]["value"], "ACC-2024-001789",
        "{form}"
    );
    let details = complete(
        &sarah,
        &select,
        json!({ "accountNumber": "ACC-2024-001789", "identityVerified": true }),
    );
    let details = common::walk::step_at(&sarah, &details, &id, "Task_RequestDetails");

    // The server checks the form on the field it names, and changes nothing.
    let details_id = details["id"].as_str().unwrap().to_string();
    let refused = |variables: Value| {
        let (s, b) = sarah.call(
            "POST",
            &format!("/api/tasks/{details_id}/complete"),
            Some(json!({ "variables": variables })),
        );
        assert_eq!(s, 400, "{b}");
        (
            b["field"].as_str().unwrap_or_default().to_string(),
            b["reason"].as_str().unwrap_or_default().to_string(),
        )
    };
    let good = json!({ "reasonCode": "NP-001", "preferredDate": day(5), "timeSlot": "SLOT-10",
                       "notes": "Customer requested morning slot due to work schedule" });
    let mut past = good.clone();
    past["preferredDate"] = json!(day(-1));
    assert_eq!(
        refused(past),
        ("preferredDate".into(), "Cannot select past date".into())
    );
    let mut slot = good.clone();
    slot["timeSlot"] = json!("SLOT-07");
    assert_eq!(refused(slot).0, "timeSlot");
    let mut notes = good.clone();
    notes["notes"] = json!("n".repeat(251));
    assert_eq!(refused(notes).0, "notes");
    let mut reason = good.clone();
    reason["reasonCode"] = json!("XX-999");
    assert_eq!(refused(reason).0, "reasonCode");
    let review = complete(&sarah, &details, good);
    let review = common::walk::step_at(&sarah, &review, &id, "Task_Review");
    let receipt = complete(&sarah, &review, json!({ "notifyCustomer": true }));
    let receipt = common::walk::step_at(&sarah, &receipt, &id, "Task_Receipt");
    let (_, receipt_form) = sarah.call(
        "GET",
        &format!("/api/tasks/{}/form", receipt["id"].as_str().unwrap()),
        None,
    );
    let year = chrono::Utc::now().format("%Y").to_string();
    let request_id = format!("DIS-{year}-001234");
    assert_eq!(
        receipt_form["context"]["requestId"],
        request_id.as_str(),
        "{receipt_form}"
    );
    // The receipt, typeset when the request was submitted (a PDF).
    assert_eq!(
        receipt_form["documents"][0]["name"],
        format!("Receipt {request_id}").as_str(),
        "{receipt_form}"
    );
    let receipts = documents(&sarah, &id);
    assert_eq!(receipts.len(), 1);
    let text = &receipts[0].1;
    for expected in [
        request_id.as_str(),
        "John Michael Smith",
        "ACC-2024-001789",
        "$456.78",
        "−$200.00",
        "$256.78",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} not in the receipt:\n{text}"
        );
    }
    complete(&sarah, &receipt, json!({}));

    // A second request for the same customer, from another desk, is refused (AC002).
    let second = start(&ana, "ACC-2024-001789");
    let select = task_at(&ana, &second, "Task_SelectCustomer");
    let locked = complete(
        &ana,
        &select,
        json!({ "accountNumber": "ACC-2024-001789", "identityVerified": true }),
    );
    assert_eq!(locked["elementId"], "Task_CustomerLocked", "{locked}");
    let (_, locked_form) = ana.call(
        "GET",
        &format!("/api/tasks/{}/form", locked["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(
        locked_form["context"]["lockHolder"]["request_id"],
        request_id.as_str(),
        "{locked_form}"
    );
    complete(&ana, &locked, json!({}));

    // Acknowledged, approved by a supervisor, settled, billed.
    complete(
        &sarah,
        &task_at(&sarah, &id, "Task_Acknowledge"),
        json!({ "ackAction": "acknowledge" }),
    );
    complete(
        &david,
        &task_at(&david, &id, "Task_Approve"),
        json!({ "approval": "approve" }),
    );
    complete(
        &rita,
        &task_at(&rita, &id, "Task_Settle"),
        json!({ "useDepositInBill": true, "settlementAction": "continue" }),
    );
    let reading = task_at(&bill, &id, "Task_FinalReading");
    let again = complete(
        &bill,
        &reading,
        json!({ "meterNumber": "MTR-E-301177", "finalReading": 15480, "readingDate": day(0) }),
    );
    // Sent back with the message on the field it names (AC015).
    assert_eq!(again["elementId"], "Task_FinalReading", "{again}");
    let (_, again_form) = bill.call(
        "GET",
        &format!("/api/tasks/{}/form", again["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(
        again_form["fieldErrors"]["meterNumber"], "Meter not linked to this account",
        "{again_form}"
    );
    let review_bill = complete(
        &bill,
        &again,
        json!({ "meterNumber": "MTR-E-558812", "finalReading": 15480, "readingDate": day(0) }),
    );
    assert_eq!(review_bill["elementId"], "Task_ReviewBill", "{review_bill}");
    complete(&bill, &review_bill, json!({ "billDecision": "approve" }));
    complete(
        &rita,
        &task_at(&rita, &id, "Task_ServiceOrder"),
        json!({ "soAction": "existing", "soId": "SO-2024-005678" }),
    );
    let execute = task_at(&mike, &id, "Task_Execute");
    let all = json!(["DISC-1", "DISC-2", "DISC-3", "DISC-4", "DISC-5", "DISC-6"]);
    complete(
        &mike,
        &execute,
        json!({ "meterAction": "remove", "executionDevice": "DEV-E-77120", "soId": "SO-2024-005678", "checklist": all }),
    );
    complete(
        &sarah,
        &task_at(&sarah, &id, "Task_Close"),
        json!({ "closeReason": "issue-resolved", "closeNotes": "Disconnected as requested" }),
    );
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(inst["state"], "completed", "{inst}");

    // The receipt, the draft the billing specialist reviewed, and the bill.
    let papers = documents(&bill, &id);
    let names: Vec<&str> = papers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            format!("Receipt {request_id}").as_str(),
            format!("Final bill (draft) {request_id}").as_str(),
            "Final bill INV-414013"
        ],
        "{names:?}"
    );
    let draft = &papers[1].1;
    assert!(
        draft.contains("Draft") && !draft.contains("INV-414013"),
        "{draft}"
    );
    let final_bill = &papers[2].1;
    for expected in ["INV-414013", "$53.35", "$456.78", "−$200.00", "$310.13"] {
        assert!(
            final_bill.contains(expected),
            "{expected:?} not in the final bill:\n{final_bill}"
        );
    }
    // Someone the request does not concern may not read them.
    let stranger = login("olga.stranger", "meter-readers");
    let (s, _) = stranger.call(
        "GET",
        &format!("/api/process-instances/{id}/documents"),
        None,
    );
    assert_eq!(s, 404);
    let (_, listed) = bill.call(
        "GET",
        &format!("/api/process-instances/{id}/documents"),
        None,
    );
    let url = listed[0]["url"].as_str().expect("a document's url");
    assert_eq!(stranger.get_bytes(url).0, 404, "not theirs to read");

    // The reference data afterwards, read through the process's own queries.
    common::walk::with_store(&server.db, async |store| {
        let customer = named_rows(
            store,
            "disconnection",
            "customer",
            json!({ "accountNumber": "ACC-2024-001789" }),
        )
        .await;
        assert_eq!(customer[0]["status"], "Inactive", "{customer:?}");
        assert_eq!(customer[0]["account_status"], "Inactive");
        assert_eq!(customer[0]["billing_frozen"], 1);
        let meter = named_rows(
            store,
            "disconnection",
            "meter",
            json!({ "meterNumber": "MTR-E-558812" }),
        )
        .await;
        assert_eq!(meter[0]["inventory_status"], "Warehouse", "{meter:?}");
        assert_eq!(meter[0]["service_account_id"], Value::Null);
        let ledger = named_rows(
            store,
            "disconnection",
            "ledger",
            json!({ "accountNumber": "ACC-2024-001789" }),
        )
        .await;
        let last = ledger.last().expect("a final invoice");
        assert_eq!(last["reference"], "INV-414013", "{ledger:?}");
        // 246 kWh at $0.15 + $12.50, 8 % tax = $53.35; + $456.78 − $200.00.
        assert_eq!(last["amount"].to_string(), "310.13");
        let deposit = named_rows(
            store,
            "disconnection",
            "deposit",
            json!({ "accountNumber": "ACC-2024-001789" }),
        )
        .await;
        // The API's JSON writes an exact decimal without trailing zeros.
        assert_eq!(deposit[0]["applied"].to_string(), "200");
        let request = named_rows(
            store,
            "disconnection",
            "request",
            json!({ "requestId": request_id }),
        )
        .await;
        assert_eq!(request[0]["status"], "Closed");
        assert_eq!(request[0]["created_by"], "sarah.johnson");
    });

    // Three mails to the customer reached the SMTP server (AC019).
    let mails = common::smtp::mails(&maildir, 3, Duration::from_secs(20));
    let all = mails.join("\n----\n");
    assert!(
        all.contains(&format!(
            "Subject: Your disconnection request {request_id} was received"
        )),
        "{all}"
    );
    assert!(all.contains("Subject: Your final bill INV-414013"), "{all}");
    assert!(all.contains("Security deposit applied: -$200.00"), "{all}");
    assert!(all.contains("Outstanding amount: $456.78"), "{all}");
    assert!(all.contains("Net settlement: $256.78"), "{all}");
    assert!(
        all.contains(&format!(
            "Subject: Your service was disconnected ({request_id})"
        )),
        "{all}"
    );
    assert!(
        mails.iter().all(|m| m.contains("To: john.smith@email.com")),
        "{all}"
    );
}

#[test]
fn administrators_change_the_settings_as_data_and_new_requests_follow() {
    let server = common::server::start_server_with("processes");
    let admin = admin(&server);
    let password = add_user(&admin, "cse.kim", "staff", &["customer-service-executives"]);
    let kim = Client::login(&server, "cse.kim", &password);

    let (s, reasons) = admin.call("GET", "/api/reference/disconnection_reasons", None);
    assert_eq!(s, 200, "{reasons}");
    let np = reasons
        .as_array()
        .and_then(|r| r.iter().find(|x| x["code"] == "NP-001"))
        .cloned()
        .expect("NP-001");
    assert_eq!(np["approval_above"], "100.00", "{np}");
    assert_eq!(np["priority"], "High");

    // The tables administrators edit name their columns as the database has them.
    let (s, tables) = admin.call("GET", "/api/reference", None);
    assert_eq!(s, 200, "{tables}");
    let tables = tables.as_array().expect("a list").clone();
    assert_eq!(tables.len(), 9, "{tables:?}");
    for t in &tables {
        let name = t["table"].as_str().expect("a table");
        let (s, rows) = admin.call("GET", &format!("/api/reference/{name}"), None);
        assert_eq!(s, 200, "{rows}");
        let first = rows
            .as_array()
            .and_then(|r| r.first())
            .expect("loaded rows");
        let mut got: Vec<&str> = first
            .as_object()
            .expect("a row")
            .keys()
            .map(String::as_str)
            .collect();
        let mut want: Vec<&str> = t["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{name}");
    }

    // Staff read and change nothing here; engine tables are not reachable.
    let (s, _) = kim.call("GET", "/api/reference/disconnection_reasons", None);
    assert_eq!(s, 403);
    let (s, _) = kim.call("GET", "/api/reference", None);
    assert_eq!(s, 403);
    let (s, b) = admin.call("GET", "/api/reference/customers", None);
    assert_eq!(s, 404, "{b}");
    let (s, b) = admin.call(
        "PUT",
        "/api/reference/instances",
        Some(json!({ "rows": [{ "id": "x" }] })),
    );
    assert_eq!(s, 404, "{b}");

    // A bad row names itself and changes nothing.
    let (s, b) = admin.call(
        "PUT",
        "/api/reference/disconnection_reasons",
        Some(json!({ "rows": [
            { "code": "NP-001", "approval_above": "1000.00" },
            { "code": "XX-002", "colour": "red" }
        ] })),
    );
    assert_eq!(s, 400, "{b}");
    assert_eq!(b["field"], "rows[1]", "{b}");
    let (_, b) = admin.call(
        "PUT",
        "/api/reference/disconnection_reasons",
        Some(json!({ "rows": [{ "code": "NP-001", "approval_above": 1000.5 }] })),
    );
    assert!(
        b["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("write decimals as text"),
        "{b}"
    );
    let (_, again) = admin.call("GET", "/api/reference/disconnection_reasons", None);
    assert!(
        again.to_string().contains("\"100.00\""),
        "unchanged: {again}"
    );

    // The approval amount raised, and a new slot added.
    let (s, b) = admin.call(
        "PUT",
        "/api/reference/disconnection_reasons",
        Some(json!({ "rows": [{ "code": "NP-001", "approval_above": "1000.00" }] })),
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["changed"], 1);
    let (s, b) = admin.call(
        "PUT",
        "/api/reference/time_slots",
        Some(json!({ "rows": [{ "slot_id": "SLOT-18", "label": "06:00 PM - 08:00 PM", "starts": "18:00", "ends": "20:00", "position": 6 }] })),
    );
    assert_eq!(s, 200, "{b}");
    let (_, audit) = admin.call("GET", "/api/audit?action=reference.put", None);
    assert!(audit.to_string().contains("reference.put"), "{audit}");

    // A request made now follows the new settings, with no deployment.
    let id = start(&kim, "ACC-2024-001789");
    let select = task_at(&kim, &id, "Task_SelectCustomer");
    let details = complete(
        &kim,
        &select,
        json!({ "accountNumber": "ACC-2024-001789", "identityVerified": true }),
    );
    let (_, form) = kim.call(
        "GET",
        &format!("/api/tasks/{}/form", details["id"].as_str().unwrap()),
        None,
    );
    let slots = form["context"]["timeSlotOptions"].to_string();
    assert!(slots.contains("06:00 PM - 08:00 PM"), "{slots}");
    complete(
        &kim,
        &details,
        json!({ "reasonCode": "NP-001", "preferredDate": day(3), "timeSlot": "SLOT-18" }),
    );
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(inst["variables"]["requiresApproval"], false, "{inst}");
    assert_eq!(inst["variables"]["timeSlotLabel"], "06:00 PM - 08:00 PM");
}
