//! SLAs end to end: a process declares its targets in `camunda:properties`;
//! a real `millrace serve` starts the clocks, shows them in the inbox and the
//! request view, breaches one when its time passes (the worker's job, real
//! time), which raises the escalation the BPMN models — mail to supervisors
//! through a real SMTP server and a task — and counts it on the dashboard.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;

use common::server::{add_user, admin, start_server_with_args, Client};

fn sla<'a>(slas: &'a Value, name: &str) -> &'a Value {
    slas.as_array()
        .and_then(|l| l.iter().find(|s| s["name"] == name))
        .unwrap_or_else(|| panic!("no SLA {name} in {slas}"))
}

#[test]
fn a_late_acknowledgement_is_breached_escalated_by_mail_and_task_and_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let maildir = dir.path().join("maildir");
    let (_smtp, port) = common::smtp::start(&maildir);
    let smtp_url = format!("smtp://127.0.0.1:{port}");
    let server = start_server_with_args("tests/fixtures/sla", &["--smtp-url", &smtp_url]);
    let admin = admin(&server);
    let ann = Client::login(
        &server,
        "ann",
        &add_user(&admin, "ann", "staff", &["agents"]),
    );
    let sue = Client::login(
        &server,
        "sue",
        &add_user(&admin, "sue", "staff", &["supervisors"]),
    );
    let out = Client::login(
        &server,
        "out",
        &add_user(&admin, "out", "staff", &["field-crew"]),
    );

    let (s, started) = ann.call(
        "POST",
        "/api/process-definitions/sla-line/start",
        Some(json!({ "businessKey": "Q-1001", "variables": {
            "subject": "Meter query",
            "customer": { "name": "Ada Lovelace", "accountNumber": "ACC-2024-0077", "phone": "(555) 010-7788", "vip": true }
        }})),
    );
    assert_eq!(s, 201, "{started}");
    let id = started["id"].as_str().expect("id").to_string();

    // The inbox row carries the SLA that falls due first, and filters by it.
    let (_, tasks) = ann.call("GET", &format!("/api/tasks?instanceId={id}"), None);
    assert_eq!(tasks[0]["sla"]["name"], "acknowledgement", "{tasks}");
    let (s, b) = ann.call("GET", "/api/tasks?sla=late", None);
    assert_eq!((s, b["field"].as_str()), (400, Some("sla")), "{b}");

    // The request view: header and details as the process declares them.
    let (s, r) = ann.call("GET", &format!("/api/requests/{id}"), None);
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["title"].as_str(), r["vip"].as_bool()),
        (Some("Meter query"), Some(true))
    );
    assert_eq!(r["request"], "Q-1001");
    let header: Vec<(&str, &str)> = r["header"]
        .as_array()
        .expect("header")
        .iter()
        .map(|f| {
            (
                f["label"].as_str().unwrap_or(""),
                f["value"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        header,
        [
            ("Customer", "Ada Lovelace"),
            ("Account number", "ACC-2024-0077"),
            ("Phone", "(555) 010-7788")
        ]
    );
    assert_eq!(r["tasks"][0]["elementId"], "Task_Ack");
    // The messages it waits for are offered to those who may send them (`act`).
    assert_eq!(r["actions"], json!([]), "{r}");
    let grant = json!({ "key": "sla-line", "permission": "act", "group": "agents" });
    let (s, b) = admin.call("POST", "/api/grants", Some(grant));
    assert_eq!(s, 201, "{b}");
    let (_, r) = ann.call("GET", &format!("/api/requests/{id}"), None);
    assert_eq!(r["actions"][0]["message"], "customer-called", "{r}");
    assert_eq!(r["actions"][0]["label"], "Customer called");

    // Found by part of the account number, in any case; not by someone it does not concern.
    let (_, found) = ann.call("GET", "/api/requests?q=acc-2024-0077", None);
    assert_eq!(found[0]["id"], id.as_str(), "{found}");
    let (_, found) = out.call("GET", "/api/requests?q=acc-2024-0077", None);
    assert_eq!(found, json!([]));
    let (s, _) = out.call("GET", &format!("/api/requests/{id}"), None);
    assert_eq!(s, 404);

    // Four seconds later the worker breaches it: the escalation event
    // sub-process mails the supervisors and gives them a task.
    let deadline = Instant::now() + Duration::from_secs(30);
    let breached = loop {
        let (_, slas) = ann.call("GET", &format!("/api/process-instances/{id}/slas"), None);
        if sla(&slas, "acknowledgement")["status"] == "breached" {
            break slas;
        }
        assert!(Instant::now() < deadline, "never breached: {slas}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(sla(&breached, "resolution")["status"], "onTrack");
    assert_eq!(sla(&breached, "acknowledgement")["targetHours"], "0.00");
    let (_, late) = ann.call("GET", "/api/tasks?sla=breached", None);
    assert_eq!(late.as_array().map(Vec::len), Some(1), "{late}");
    let (_, on_track) = ann.call("GET", "/api/tasks?sla=onTrack", None);
    assert_eq!(on_track, json!([]));
    let mails = common::smtp::mails(&maildir, 1, Duration::from_secs(20));
    assert!(
        mails[0].contains("SLA breached: acknowledgement of Meter query")
            && mails[0].contains("supervisors@utility.test"),
        "{mails:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let chase = loop {
        let (_, t) = sue.call("GET", &format!("/api/tasks?instanceId={id}"), None);
        if let Some(task) = t.as_array().and_then(|l| l.first()).cloned() {
            break task;
        }
        assert!(Instant::now() < deadline, "the supervisor got no task");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(chase["elementId"], "Task_Chase");

    // Acknowledged late: met late, with the hours it took; the response clock runs on.
    let task = r["tasks"][0]["id"].as_str().expect("task");
    let (s, b) = ann.call(
        "POST",
        &format!("/api/tasks/{task}/complete"),
        Some(json!({ "variables": {} })),
    );
    assert_eq!(s, 200, "{b}");
    let (_, slas) = ann.call("GET", &format!("/api/process-instances/{id}/slas"), None);
    let ack = sla(&slas, "acknowledgement");
    assert_eq!(ack["status"], "metLate", "{slas}");
    assert!(
        ack["achievedHours"]
            .as_str()
            .is_some_and(|h| h.starts_with("0.0")),
        "{ack}"
    );
    assert_eq!(ack["remainingSeconds"], Value::Null);

    // A quick action: the message the request waits for, sent to this request.
    let (s, b) = ann.call(
        "POST",
        "/api/messages",
        Some(json!({ "name": "customer-called", "processInstanceId": id })),
    );
    assert_eq!(
        (s, b["instanceId"].as_str()),
        (200, Some(id.as_str())),
        "{b}"
    );
    let (_, r) = ann.call("GET", &format!("/api/requests/{id}"), None);
    let open: Vec<&str> = r["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["elementId"].as_str())
        .collect();
    assert!(
        open.contains(&"Task_Callback") && open.contains(&"Task_Work"),
        "{r}"
    );
    let (s, b) = ann.call(
        "POST",
        "/api/messages",
        Some(json!({ "name": "customer-called", "processInstanceId": "no-such-instance" })),
    );
    assert_eq!(s, 422, "{b}");

    // The dashboard counts the month's acknowledgement as missed.
    let (s, d) = admin.call("GET", "/api/process-definitions/sla-line/dashboard", None);
    assert_eq!(s, 200, "{d}");
    let month = d["slas"]
        .as_array()
        .and_then(|l| l.iter().find(|m| m["name"] == "acknowledgement"))
        .unwrap_or_else(|| panic!("no acknowledgement in {d}"));
    assert_eq!(
        (month["met"].as_i64(), month["missed"].as_i64()),
        (Some(0), Some(1))
    );
    assert_eq!(month["compliance"], "0.0");
}
