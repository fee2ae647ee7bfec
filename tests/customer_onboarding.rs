//! The customer-onboarding process (seed 000) through the HTTP API, as its
//! users work it: a CRE registers a new connection and checks the
//! application fee's status before it is paid; the billing side's
//! invoice-paid message moves the request on (once: a second one finds
//! nothing); an estimator and the DTO pass the inspection; the customer gets
//! the contract's authorisation code by mail (a real SMTP server); the
//! connection fee is paid; the DTO assigns the district's installer, who
//! installs the meter; the DTO approves and the CRE sees the new numbers.
//! The inbox shows the request and its milestone at every step; the ledger,
//! service orders, customer, account and contract are checked afterwards.

mod common;

use common::server::Client;
use common::walk::{complete, named_rows, task_at, Office};
use serde_json::{json, Value};

/// The request and status the inbox shows for `task`'s row.
fn inbox_row(who: &Client, task: &Value) -> (String, String) {
    let (s, tasks) = who.call("GET", "/api/tasks", None);
    assert_eq!(s, 200, "{tasks}");
    let row = tasks
        .as_array()
        .and_then(|l| l.iter().find(|t| t["id"] == task["id"]).cloned())
        .unwrap_or_else(|| panic!("{} is not in the inbox: {tasks}", task["id"]));
    (
        row["request"].as_str().unwrap_or_default().to_string(),
        row["status"].as_str().unwrap_or_default().to_string(),
    )
}

fn pay(billing: &Client, invoice: &str, reference: &str, amount: &str) -> (u16, Value) {
    billing.call(
        "POST",
        "/api/messages",
        Some(json!({
            "name": "invoice-paid",
            "correlationKeys": { "openInvoice": invoice },
            "variables": { "paymentReference": reference, "paidOn": "2026-12-01", "amount": amount, "channel": "Bank" },
        })),
    )
}

#[test]
fn a_new_connection_goes_through_every_milestone_to_the_customers_numbers() {
    let office = Office::open();
    let admin = &office.admin;
    let carla = office.staff("carla.cre", &["customer-service-executives"]);
    let eddie = office.staff("eddie.estimator", &["estimators"]);
    let dora = office.staff("dora.dto", &["district-technical-officers"]);
    // The installer is offered nothing by group: the DTO assigns the order to them.
    let ian = office.staff("ian.installer", &[]);
    let year = chrono::Utc::now().format("%Y").to_string();
    let request_id = format!("SR-{year}-000001");

    let (s, started) = carla.call(
        "POST",
        "/api/process-definitions/customer-onboarding/start",
        Some(json!({ "variables": {
            "customerName": "Grace Obi", "phone": "(555) 700-1234", "email": "grace.obi@example.com",
            "address": "12 Willow Road, Springfield, IL 62705", "districtCode": "NORTH", "category": "Residential"
        } })),
    );
    assert_eq!(s, 201, "{started}");
    let id = started["id"].as_str().expect("instance id").to_string();

    // Milestone 1: the application fee invoice, tied to the phone number.
    let await_fee = task_at(&carla, &id, "Task_AwaitApplicationFee");
    assert_eq!(
        inbox_row(&carla, &await_fee),
        (request_id.clone(), "Application Fee Generated".to_string())
    );
    let invoice = format!("NEI-{year}-000001");
    // Check status before any payment: it stays, and says so.
    complete(&carla, &await_fee, json!({}));
    let again = task_at(&carla, &id, "Task_AwaitApplicationFee");
    assert_ne!(again["id"], await_fee["id"], "the same step, again");
    let (_, form) = carla.call(
        "GET",
        &format!("/api/tasks/{}/form", again["id"].as_str().expect("id")),
        None,
    );
    assert!(
        form["context"]["paymentCheck"]
            .as_str()
            .is_some_and(|t| t.starts_with("Not paid yet: 0.00 of 50.00")),
        "{form}"
    );

    // Milestone 2: the billing side reports the payment; a second report finds nothing.
    let (s, b) = pay(admin, &invoice, "BNK-77120", "50.00");
    assert_eq!(s, 200, "{b}");
    let inspect = task_at(&eddie, &id, "Task_Inspect");
    assert_eq!(inbox_row(&eddie, &inspect).1, "Inspection Initiated");
    let (s, b) = pay(admin, &invoice, "BNK-77120", "50.00");
    assert_eq!(
        s, 422,
        "a second payment message moved the request again: {b}"
    );

    // Milestone 3: the estimator passes it, the DTO approves, the code is mailed.
    let approve = {
        complete(
            &eddie,
            &inspect,
            json!({ "inspectionResult": "passed", "installationType": "Overhead",
                    "meterPhase": "Single phase", "inspectionNotes": "Meter board to code" }),
        );
        task_at(&dora, &id, "Task_ApproveInspection")
    };
    complete(&dora, &approve, json!({ "inspectionDecision": "approve" }));
    let signing = task_at(&carla, &id, "Task_ContractSigning");
    assert_eq!(inbox_row(&carla, &signing).1, "Contract Generated");
    let (_, inst) = carla.call("GET", &format!("/api/process-instances/{id}"), None);
    let code = inst["variables"]["authorisationCode"]
        .as_str()
        .unwrap_or_else(|| panic!("no authorisation code: {inst}"))
        .to_string();
    assert!(
        code.len() == 8 && code.chars().all(|c| c.is_ascii_hexdigit()),
        "{code}"
    );

    // Milestones 4 and 5: signed; the connection fee for Overhead, single phase.
    complete(&carla, &signing, json!({ "signing": "signed" }));
    let await_connection = task_at(&carla, &id, "Task_AwaitConnectionFee");
    assert_eq!(
        inbox_row(&carla, &await_connection).1,
        "Connection Fee Generated"
    );
    let (s, b) = pay(admin, &format!("NEI-{year}-000002"), "BNK-77121", "150.00");
    assert_eq!(s, 200, "{b}");
    let assign = task_at(&dora, &id, "Task_AssignInstaller");
    assert_eq!(inbox_row(&dora, &assign).1, "Installation Initiated");
    complete(&dora, &assign, json!({ "installer": "ian.installer" }));

    // The installer sees the order assigned to them, and nobody else's.
    let install = task_at(&ian, &id, "Task_InstallMeter");
    assert_eq!(install["assignee"], "ian.installer", "{install}");
    complete(
        &ian,
        &install,
        json!({ "meterNumber": "MTR-E-900101", "initialReading": 0, "installedOn": "2026-12-03" }),
    );
    let vet = task_at(&dora, &id, "Task_VetInstallation");
    complete(&dora, &vet, json!({ "installationDecision": "approve" }));

    // Milestone 6: the CRE sees the generated numbers.
    let handover = task_at(&carla, &id, "Task_Handover");
    assert_eq!(inbox_row(&carla, &handover).1, "Completed");
    let (_, form) = carla.call(
        "GET",
        &format!("/api/tasks/{}/form", handover["id"].as_str().expect("id")),
        None,
    );
    let spn = format!("SPN-{year}-000001");
    let account = format!("ACC-{year}-000001");
    assert_eq!(form["context"]["spn"], spn.as_str(), "{form}");
    assert_eq!(form["context"]["accountNumber"], account.as_str(), "{form}");
    assert_eq!(form["context"]["meterNumber"], "MTR-E-900101", "{form}");
    complete(&carla, &handover, json!({}));
    let (_, inst) = carla.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(inst["state"], "completed", "{inst}");

    // The ledger, the service orders and the new customer afterwards.
    common::walk::with_store(&office.server.db, async |store| {
        let q = |query: &'static str, input: Value| {
            named_rows(store, "customer-onboarding", query, input)
        };
        let invoices = q("invoices", json!({ "phone": "(555) 700-1234" })).await;
        let paid: Vec<(&str, &str, &str)> = invoices
            .iter()
            .map(|i| {
                (
                    i["kind"].as_str().unwrap_or_default(),
                    i["amount"].as_str().unwrap_or_default(),
                    i["status"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            paid,
            [
                ("Application Fee", "50.00", "Paid"),
                ("Connection Fee", "150.00", "Paid")
            ]
        );
        let payments = q("invoice_payments", json!({ "invoiceNumber": invoice })).await;
        assert_eq!(payments.len(), 1, "paid once: {payments:?}");
        let orders = q("service_orders", json!({ "requestId": request_id })).await;
        let orders: Vec<(&str, &str)> = orders
            .iter()
            .map(|o| {
                (
                    o["so_type"].as_str().unwrap_or_default(),
                    o["status"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(
            orders,
            [("Inspection", "Completed"), ("Installation", "Completed")]
        );
        let request = q("request", json!({ "requestId": request_id })).await;
        assert_eq!(request[0]["milestone"], "Completed");
        assert_eq!(request[0]["installer_id"], "ian.installer");
        let customer = q("customer_account", json!({ "accountNumber": account })).await;
        assert_eq!(customer.len(), 1, "{customer:?}");
        assert_eq!(customer[0]["name"], "Grace Obi");
        assert_eq!(customer[0]["pod_id"], spn.as_str());
        assert_eq!(customer[0]["meter_number"], "MTR-E-900101");
        assert_eq!(customer[0]["inventory_status"], "Installed");
        assert_eq!(customer[0]["contract_status"], "Active");
    });

    // The customer's mailbox: the code, then the numbers.
    let mails = office.mails(2);
    let all = mails.join("\n----\n");
    assert!(all.contains("To: grace.obi@example.com"), "{all}");
    assert!(
        all.contains(&format!("Your contract authorisation code is: {code}")),
        "{all}"
    );
    assert!(
        all.contains(&format!("Service point number (SPN): {spn}")),
        "{all}"
    );
}
