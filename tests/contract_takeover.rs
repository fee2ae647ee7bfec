//! The contract-takeover process (seed 004) through the HTTP API, as its
//! users work it: an operator of the administration department files two
//! takeovers. In the first, a customer (Thomas Nguyen, whose record has no
//! tax code) takes over Aisha Patel's supply with a power load increase that
//! is first refused; the details check sends the operator back for the tax
//! code; a field technician reads the meter. In the second, a new holder is
//! filed with the wizard's four steps, each opening as the next step of the
//! same operator with the step indicator. Afterwards the contracts of both
//! POD, the customers, the POD's power, the service order, the statistics
//! and the mail in a real SMTP server are checked.

mod common;

use chrono::Datelike;
use common::server::Client;
use common::walk::{complete, named_rows, task_at, Office};
use serde_json::{json, Value};

/// The first business day at least a week from today (the business
/// calendar's holidays are those of processes/reference-data.json).
fn takeover_day() -> String {
    let data: Value = serde_json::from_str(
        &std::fs::read_to_string(common::server::repo().join("processes/reference-data.json"))
            .expect("the reference data"),
    )
    .expect("JSON");
    let holidays: Vec<String> = data["holidays"]
        .as_array()
        .expect("holidays")
        .iter()
        .filter_map(|h| h["day"].as_str().map(str::to_string))
        .collect();
    let mut day = chrono::Utc::now().date_naive() + chrono::Duration::days(7);
    loop {
        let iso = day.format("%Y-%m-%d").to_string();
        let weekend = matches!(day.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
        if !weekend && !holidays.contains(&iso) {
            return iso;
        }
        day += chrono::Duration::days(1);
    }
}

fn takeover(
    operator: &Client,
    pod: &str,
    name: &str,
    phone: &str,
    date: &str,
    power: &str,
) -> String {
    let (s, b) = operator.call(
        "POST",
        "/api/process-definitions/contract-takeover/start",
        Some(json!({ "variables": {
            "podOrContract": pod, "newHolderName": name, "newHolderPhone": phone,
            "takeoverDate": date, "powerIncrease": power
        } })),
    );
    assert_eq!(s, 201, "{b}");
    b["id"].as_str().expect("instance id").to_string()
}

fn variables(who: &Client, instance: &str) -> Value {
    let (s, inst) = who.call("GET", &format!("/api/process-instances/{instance}"), None);
    assert_eq!(s, 200, "{inst}");
    inst["variables"].clone()
}

/// The task's form as the task page gets it: its field messages and steps.
fn form(who: &Client, task: &Value) -> Value {
    let id = task["id"].as_str().expect("task id");
    let (s, form) = who.call("GET", &format!("/api/tasks/{id}/form"), None);
    assert_eq!(s, 200, "{form}");
    form
}

fn step_states(form: &Value) -> Vec<(String, String)> {
    form["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            (
                s["elementId"].as_str().unwrap_or_default().to_string(),
                s["state"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The number as a decimal text, whether the API shows it as a number or text.
fn decimal(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn administration_and_a_technician_take_over_two_contracts_on_the_same_pods() {
    let office = Office::open();
    let admin = &office.admin;
    let olivia = office.staff("olivia.admin", &["administration"]);
    let tom = office.staff("tom.tech", &["field-technicians"]);
    let year = chrono::Utc::now().format("%Y").to_string();
    let date = takeover_day();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();

    // The start form is offered to the administration department, not to technicians.
    let (s, forms) = olivia.call("GET", "/api/start-forms", None);
    assert_eq!(s, 200);
    assert!(forms.to_string().contains("contract-takeover"), "{forms}");
    let (_, theirs) = tom.call("GET", "/api/start-forms", None);
    assert!(
        !theirs.to_string().contains("contract-takeover"),
        "{theirs}"
    );

    // 1. Thomas Nguyen (CUST-0005) takes over POD-002210-E with more power.
    let first = takeover(
        &olivia,
        "POD-002210-E",
        "Thomas Nguyen",
        "(555) 771-0042",
        &date,
        "yes",
    );
    let vars = variables(&olivia, &first);
    assert_eq!(vars["requestId"], format!("TKO-{year}-000001"), "{vars}");
    assert_eq!(vars["status"], "Requested");
    assert_eq!(vars["newHolderId"], "CUST-0005");
    let power = task_at(&olivia, &first, "Task_PowerIncrease");
    // 10 kW single phase at 230 V: sent back with the messages on their fields.
    complete(
        &olivia,
        &power,
        json!({ "newPowerKw": 10, "newVoltage": "230 V", "newPhase": "Single phase" }),
    );
    let power = task_at(&olivia, &first, "Task_PowerIncrease");
    let again = form(&olivia, &power);
    assert_eq!(
        again["fieldErrors"]["newPhase"], "Above 6 kW the supply must be three phase",
        "{again}"
    );
    assert_eq!(
        again["fieldErrors"]["newVoltage"],
        "Above 6 kW the supply must be 400 V"
    );
    let schedule = complete(
        &olivia,
        &power,
        json!({ "newPowerKw": 10, "newVoltage": "400 V", "newPhase": "Three phase" }),
    );
    assert_eq!(schedule["elementId"], "Task_Schedule", "{schedule}");
    let confirm = complete(&olivia, &schedule, json!({ "takeoverDate": date }));
    assert_eq!(confirm["elementId"], "Task_Confirm", "{confirm}");
    assert_eq!(variables(&olivia, &first)["status"], "Scheduled");
    let details = complete(&olivia, &confirm, json!({ "confirmation": "confirm" }));
    // Thomas has no tax code: the operator is told on its field.
    assert_eq!(details["elementId"], "Task_CompleteDetails", "{details}");
    let shown = form(&olivia, &details);
    assert_eq!(
        shown["fieldErrors"]["detailTaxCode"],
        "Missing: the tax code is needed for the new contract",
        "{shown}"
    );
    // The server checks the form too: the tax code is required.
    let id = details["id"].as_str().expect("id");
    let (s, b) = olivia.call("POST", &format!("/api/tasks/{id}/claim"), None);
    assert!(s == 204 || s == 200, "claim: {s} {b}");
    let (s, refused) = olivia.call(
        "POST",
        &format!("/api/tasks/{id}/complete"),
        Some(json!({ "variables": {
            "detailName": "Thomas Nguyen", "detailPhone": "(555) 771-0042",
            "detailEmail": "thomas.nguyen@email.com",
            "detailBillingAddress": "310 Birch Lane, Springfield, IL 62704",
            "detailIdDocument": "DL-IL-5530981"
        } })),
    );
    assert_eq!(
        (s, refused["field"].as_str()),
        (400, Some("detailTaxCode")),
        "{refused}"
    );
    let next = complete(
        &olivia,
        &details,
        json!({
            "detailName": "Thomas Nguyen", "detailPhone": "(555) 771-0042",
            "detailEmail": "thomas.nguyen@email.com",
            "detailBillingAddress": "310 Birch Lane, Springfield, IL 62704",
            "detailIdDocument": "DL-IL-5530981", "detailTaxCode": "NGYTHM79L15Z404R"
        }),
    );
    // The meter reading is the technicians' work, not the operator's next step.
    assert_eq!(next, Value::Null, "{next}");
    // (Once it is there, the calls before it are made.)
    let reading = task_at(&tom, &first, "Task_ReadMeter");
    let vars = variables(&olivia, &first);
    assert_eq!(vars["status"], "Completed", "{vars}");
    assert_eq!(vars["route"], "existing");
    complete(
        &tom,
        &reading,
        json!({ "meterNumber": "MTR-E-612230", "meterReading": 5300, "readingDate": today }),
    );
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{first}"), None);
    assert_eq!(inst["state"], "completed", "{inst}");

    // 2. Emma Clarke, not a customer, takes over POD-001789-E through the wizard.
    let second = takeover(
        &olivia,
        "SC-2024-001789",
        "Emma Clarke",
        "(555) 404-1188",
        &date,
        "no",
    );
    let choose = task_at(&olivia, &second, "Task_ChooseRoute");
    let step1 = complete(
        &olivia,
        &choose,
        json!({ "newHolderName": "Emma Clarke", "newHolderPhone": "(555) 404-1188", "registrationRoute": "wizard" }),
    );
    assert_eq!(step1["elementId"], "Task_WizardContact", "{step1}");
    let steps = step_states(&form(&olivia, &step1));
    assert!(
        steps.contains(&("Task_WizardContact".into(), "current".into())),
        "{steps:?}"
    );
    for ahead in [
        "Task_WizardIdentity",
        "Task_WizardAssociate",
        "Task_WizardSupply",
    ] {
        assert!(
            steps.contains(&(ahead.into(), "ahead".into())),
            "{ahead}: {steps:?}"
        );
    }
    let step2 = complete(
        &olivia,
        &step1,
        json!({ "newHolderName": "Emma Clarke", "newHolderPhone": "(555) 404-1188",
                "newHolderEmail": "emma.clarke@email.com", "customerCategory": "Residential" }),
    );
    assert_eq!(step2["elementId"], "Task_WizardIdentity", "{step2}");
    assert_eq!(variables(&olivia, &second)["newHolderId"], "CUST-0006");
    let steps = step_states(&form(&olivia, &step2));
    assert!(
        steps.contains(&("Task_WizardContact".into(), "done".into())),
        "{steps:?}"
    );
    let step3 = complete(
        &olivia,
        &step2,
        json!({ "idDocument": "DL-IL-7730412", "taxCode": "CLRMME90A41Z404X",
                "billingAddress": "123 Oak Street, Springfield, IL 62701" }),
    );
    assert_eq!(step3["elementId"], "Task_WizardAssociate", "{step3}");
    let step4 = complete(
        &olivia,
        &step3,
        json!({ "podConfirmed": true, "oldHolderMovingOut": true, "takeoverReason": "moving-in" }),
    );
    assert_eq!(step4["elementId"], "Task_WizardSupply", "{step4}");
    let schedule = complete(
        &olivia,
        &step4,
        json!({ "billDelivery": "email", "paymentMethod": "card" }),
    );
    assert_eq!(schedule["elementId"], "Task_Schedule", "{schedule}");
    let confirm = complete(&olivia, &schedule, json!({ "takeoverDate": date }));
    let next = complete(&olivia, &confirm, json!({ "confirmation": "confirm" }));
    assert_eq!(next, Value::Null, "{next}");
    let reading = task_at(&tom, &second, "Task_ReadMeter");
    complete(
        &tom,
        &reading,
        json!({ "meterNumber": "MTR-E-558812", "meterReading": 15412, "readingDate": today }),
    );
    common::walk::completed(admin, &second);

    // The reference data afterwards, through the process's own queries.
    let first_id = format!("TKO-{year}-000001");
    let second_id = format!("TKO-{year}-000002");
    common::walk::with_store(&office.server.db, async |store| {
        let q = |query: &'static str, input: Value| {
            named_rows(store, "contract-takeover", query, input)
        };
        // Same POD, new holder: the old contract closed on the takeover date, a new one from it.
        let contracts = q("contracts_of_pod", json!({ "podId": "POD-002210-E" })).await;
        assert_eq!(contracts.len(), 2, "{contracts:?}");
        assert_eq!(contracts[0]["contract_id"], "SC-2024-002210");
        assert_eq!(contracts[0]["status"], "Closed");
        assert_eq!(contracts[0]["end_date"], date.as_str());
        assert_eq!(contracts[1]["contract_id"], format!("SC-{year}-000001"));
        assert_eq!(contracts[1]["holder_id"], "CUST-0005");
        assert_eq!(contracts[1]["account_number"], format!("ACC-{year}-000001"));
        assert_eq!(contracts[1]["status"], "Active");
        assert_eq!(contracts[1]["start_date"], date.as_str());
        let contracts = q("contracts_of_pod", json!({ "podId": "POD-001789-E" })).await;
        assert_eq!(contracts.len(), 2, "{contracts:?}");
        assert_eq!(contracts[0]["status"], "Closed");
        assert_eq!(contracts[1]["holder_id"], "CUST-0006");
        assert_eq!(contracts[1]["contract_id"], format!("SC-{year}-000002"));
        // The details completed, the new customer filed by the wizard.
        let thomas = q("customer", json!({ "customerId": "CUST-0005" })).await;
        assert_eq!(thomas[0]["tax_code"], "NGYTHM79L15Z404R", "{thomas:?}");
        let emma = q("customer", json!({ "customerId": "CUST-0006" })).await;
        assert_eq!(emma[0]["name"], "Emma Clarke", "{emma:?}");
        assert_eq!(emma[0]["id_document"], "DL-IL-7730412");
        assert_eq!(
            emma[0]["service_address"],
            "123 Oak Street, Springfield, IL 62701"
        );
        // The power increase on the POD.
        let pod = q("pod", json!({ "podId": "POD-002210-E" })).await;
        assert_eq!(
            decimal(&pod[0]["power_kw"]).trim_end_matches(".0"),
            "10",
            "{pod:?}"
        );
        assert_eq!(pod[0]["voltage"], "400 V");
        assert_eq!(pod[0]["phase"], "Three phase");
        // The service order, created for the new account and completed by the technician.
        let orders = q(
            "service_orders_of_request",
            json!({ "requestId": first_id }),
        )
        .await;
        assert_eq!(orders.len(), 1, "{orders:?}");
        assert_eq!(orders[0]["so_type"], "Takeover");
        assert_eq!(orders[0]["account_number"], format!("ACC-{year}-000001"));
        assert_eq!(orders[0]["status"], "Completed");
        assert_eq!(orders[0]["completed_on"], today.as_str());
        let readings = q("readings", json!({ "meterNumber": "MTR-E-612230" })).await;
        assert_eq!(
            readings.last().map(|r| r["reading_date"].clone()),
            Some(json!(today)),
            "{readings:?}"
        );
        // The takeovers and their statistics by route.
        let row = q("takeover", json!({ "takeoverId": second_id })).await;
        assert_eq!(row[0]["route"], "wizard", "{row:?}");
        assert_eq!(row[0]["status"], "Completed");
        assert_eq!(row[0]["new_holder_id"], "CUST-0006");
        let stats = q("statistics", json!({})).await;
        let routes: Vec<(&str, i64)> = stats
            .iter()
            .map(|r| {
                (
                    r["route"].as_str().unwrap_or_default(),
                    r["takeovers"].as_i64().unwrap_or_default(),
                )
            })
            .collect();
        assert_eq!(routes, [("existing", 1), ("wizard", 1)], "{stats:?}");
    });

    // The two new holders were mailed their confirmation.
    let mails = office.mails(2);
    let all = mails.join("\n----\n");
    assert!(all.contains("To: thomas.nguyen@email.com"), "{all}");
    assert!(all.contains("To: emma.clarke@email.com"), "{all}");
    assert!(
        all.contains(&format!("Your contract takeover {first_id} is confirmed")),
        "{all}"
    );
}
