//! Reports through the HTTP API: the named queries the shipped processes mark
//! `-- report:` are listed for whoever may read the process and run with
//! their defaults or the reader's values, as JSON and as CSV; someone without
//! read access sees none of them, and running one answers 404 as for a
//! report that does not exist; each run is audited.

mod common;

use common::server::{add_user, admin, Client};
use common::walk::task_at;
use serde_json::json;

#[test]
fn reports_run_with_defaults_or_given_values_as_json_and_csv_for_readers_only() {
    let server = common::server::start_server_with("processes");
    let admin = admin(&server);
    let cre = {
        let password = add_user(
            &admin,
            "rita.cre",
            "staff",
            &["customer-service-executives"],
        );
        Client::login(&server, "rita.cre", &password)
    };

    // What the shipped processes offer, to an administrator.
    let (s, list) = admin.call("GET", "/api/reports", None);
    assert_eq!(s, 200, "{list}");
    let names: Vec<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["key"].as_str().unwrap_or_default(),
                r["name"].as_str().unwrap_or_default()
            )
        })
        .collect();
    for expected in [
        "contract-takeover/statistics",
        "customer-onboarding/milestones",
        "customer-onboarding/open_invoices",
        "disconnection/current_requests",
        "disconnection/kpis",
        "support-inquiry/open_cases",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    let kpis = list
        .as_array()
        .and_then(|l| l.iter().find(|r| r["name"] == "kpis"))
        .expect("kpis");
    let month_start = chrono::Utc::now().format("%Y-%m-01").to_string();
    assert_eq!(kpis["parameters"][0]["name"], "monthStart", "{kpis}");
    assert_eq!(
        kpis["parameters"][0]["default"],
        month_start.as_str(),
        "{kpis}"
    );

    // A request registered, then the milestones report counts it.
    let (s, b) = cre.call(
        "POST",
        "/api/process-definitions/customer-onboarding/start",
        Some(json!({ "variables": {
            "customerName": "Grace Obi", "phone": "(555) 700-1234", "email": "grace.obi@example.com",
            "address": "12 Willow Road", "districtCode": "NORTH", "category": "Residential"
        } })),
    );
    assert_eq!(s, 201, "{b}");
    task_at(
        &cre,
        b["id"].as_str().expect("id"),
        "Task_AwaitApplicationFee",
    );
    let (s, run) = admin.call("GET", "/api/reports/customer-onboarding/milestones", None);
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["columns"], json!(["milestone", "requests"]), "{run}");
    assert_eq!(
        run["rows"],
        json!([["Application Fee Generated", 1]]),
        "{run}"
    );
    // Money keeps its scale, in JSON and in CSV.
    let (s, invoices) = admin.call(
        "GET",
        "/api/reports/customer-onboarding/open_invoices",
        None,
    );
    assert_eq!(s, 200, "{invoices}");
    assert_eq!(invoices["rows"][0][2], "50.00", "{invoices}");
    let (s, body, kind) =
        admin.get_bytes("/api/reports/customer-onboarding/open_invoices?format=csv");
    assert_eq!((s, kind.as_str()), (200, "text/csv; charset=utf-8"));
    let text = String::from_utf8(body).expect("utf-8");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("invoice_number,kind,amount,due_date,request_id,customer_name,phone,milestone")
    );
    let row = lines.next().expect("a row");
    assert!(row.contains(",Application Fee,50.00,"), "{row}");
    assert!(
        row.contains(",\"(555) 700-1234\",") || row.contains(",(555) 700-1234,"),
        "{row}"
    );

    // Defaults, or the reader's values; a value the database refuses is a 400.
    let (s, run) = admin.call("GET", "/api/reports/disconnection/kpis", None);
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["input"]["monthStart"], month_start.as_str(), "{run}");
    let (s, run) = admin.call(
        "GET",
        "/api/reports/disconnection/kpis?monthStart=2000-01-01&monthEnd=2000-02-01",
        None,
    );
    assert_eq!((s, run["rows"].clone()), (200, json!([])), "{run}");
    let (s, b) = admin.call(
        "GET",
        "/api/reports/customer-onboarding/milestones?format=xml",
        None,
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("format")), "{b}");

    // Without read access: none listed, and 404 as for no such report.
    let (s, none) = cre.call("GET", "/api/reports", None);
    assert_eq!((s, none), (200, json!([])));
    let (s, _) = cre.call("GET", "/api/reports/customer-onboarding/milestones", None);
    assert_eq!(s, 404);
    let (s, _) = admin.call("GET", "/api/reports/customer-onboarding/request", None);
    assert_eq!(s, 404, "a query that is not a report is not run");
    // A read grant opens that process's reports, and only those.
    let (s, b) = admin.call(
        "POST",
        "/api/grants",
        Some(json!({ "key": "customer-onboarding", "permission": "read", "group": "customer-service-executives" })),
    );
    assert_eq!(s, 201, "{b}");
    let (_, mine) = cre.call("GET", "/api/reports", None);
    let keys: Vec<&str> = mine
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|r| r["key"].as_str())
        .collect();
    assert_eq!(
        keys,
        ["customer-onboarding", "customer-onboarding"],
        "{mine}"
    );
    let (s, _) = cre.call("GET", "/api/reports/customer-onboarding/milestones", None);
    assert_eq!(s, 200);

    // Every run is in the audit trail.
    let (s, audit) = admin.call("GET", "/api/audit", None);
    assert_eq!(s, 200, "{audit}");
    assert!(
        audit.to_string().contains("customer-onboarding/milestones"),
        "{audit}"
    );
}
