//! The HTTP API against a real `millrace serve` on loopback with a fresh
//! database: the life of an instance, sign-in and permissions, refused input,
//! and two people completing one task at once.

use std::process::Command;

use serde_json::{json, Value};

mod common;

use common::server::*;

fn start_approval(c: &Client, business_key: &str) -> String {
    let (s, b) = c.call(
        "POST",
        "/api/process-definitions/approval/start",
        Some(json!({ "businessKey": business_key, "variables": { "fee": 12.50 } })),
    );
    assert_eq!(s, 201, "{b}");
    b["id"].as_str().expect("id").to_string()
}

fn review_task(c: &Client, instance: &str) -> String {
    let (s, b) = c.call("GET", &format!("/api/tasks?instanceId={instance}"), None);
    assert_eq!(s, 200, "{b}");
    b[0]["id"]
        .as_str()
        .expect("a visible review task")
        .to_string()
}

#[test]
fn the_life_of_an_instance_through_the_api() {
    let server = start_server();
    let admin = admin(&server);
    let password = add_user(&admin, "bea", "staff", &["billing-specialists"]);
    let bea = Client::login(&server, "bea", &password);

    let id = start_approval(&bea, "REQ-1");
    let task = review_task(&bea, &id);
    // The unfiltered inbox (one index range per principal) shows it too.
    let (s, inbox) = bea.call("GET", "/api/tasks", None);
    assert_eq!(s, 200, "{inbox}");
    assert!(
        inbox
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["id"] == task.as_str())),
        "the inbox lists the task: {inbox}"
    );
    let (s, b) = bea.call("POST", &format!("/api/tasks/{task}/claim"), None);
    assert_eq!(s, 204, "{b}");
    let (s, b) = bea.call(
        "POST",
        &format!("/api/tasks/{task}/complete"),
        Some(json!({ "variables": { "amount": 120, "decision": "approve" } })),
    );
    assert_eq!(s, 200, "{b}");

    let (s, b) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(s, 200);
    assert_eq!(b["activeActivities"], json!(["Wait_Payment"]));
    assert_eq!(
        b["variables"]["fee"],
        json!(12.5),
        "decimals stay exact numbers"
    );

    // A message by business key, with the sender's message id; nothing else
    // waits for it afterwards, and a repeat of the id changes nothing.
    let payment = json!({ "name": "PaymentReceived", "businessKey": "REQ-1", "variables": { "paid": true }, "messageId": "pay-REQ-1" });
    let (s, b) = admin.call("POST", "/api/messages", Some(payment.clone()));
    assert_eq!(
        (s, b["instanceId"].as_str(), &b["duplicate"]),
        (200, Some(id.as_str()), &json!(false)),
        "{b}"
    );
    let (s, b) = admin.call("POST", "/api/messages", Some(payment));
    assert_eq!(
        (s, b["instanceId"].as_str(), &b["duplicate"]),
        (200, Some(id.as_str()), &json!(true)),
        "the repeat is answered from the receipt: {b}"
    );
    let (s, _) = admin.call(
        "POST",
        "/api/messages",
        Some(json!({ "name": "PaymentReceived", "businessKey": "REQ-1" })),
    );
    assert_eq!(s, 422);
    let (s, b) = admin.call(
        "POST",
        "/api/messages",
        Some(json!({ "name": "PaymentReceived", "acceptNoMatch": true, "messageId": "dropped-1" })),
    );
    assert_eq!(
        (s, &b["instanceId"], &b["duplicate"]),
        (200, &Value::Null, &json!(false))
    );
    let (s, b) = admin.call(
        "POST",
        "/api/messages",
        Some(json!({ "name": "PaymentReceived", "acceptNoMatch": true, "messageId": "dropped-1" })),
    );
    assert_eq!(
        (s, &b["instanceId"], &b["duplicate"]),
        (200, &Value::Null, &json!(true)),
        "a dropped message's id is remembered too"
    );

    let (_, b) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(b["state"], "completed");
    let (s, h) = admin.call("GET", &format!("/api/process-instances/{id}/history"), None);
    assert_eq!(s, 200);
    let completed_by_bea = h.as_array().expect("history").iter().any(|e| {
        e["event"] == "activityCompleted" && e["node"] == "Task_Review" && e["actor"] == "bea"
    });
    assert!(
        completed_by_bea,
        "the audit trail says who completed the task: {h}"
    );
}

#[test]
fn unauthenticated_wrong_role_wrong_group_and_missing_csrf_are_refused() {
    let server = start_server();
    let admin = admin(&server);
    let staff_pw = add_user(&admin, "sam", "staff", &["call-centre-representatives"]);
    let sam = Client::login(&server, "sam", &staff_pw);
    let id = start_approval(&admin, "REQ-2");

    let (s, b) = Client::new(&server).call("GET", "/api/tasks", None);
    assert_eq!((s, b["error"].as_str()), (401, Some("unauthenticated")));
    let (s, _) = sam.call(
        "POST",
        "/api/deployments",
        Some(json!({ "name": "x", "files": [{ "name": "a.bpmn", "content": "<x/>" }] })),
    );
    assert_eq!(s, 403, "staff may not deploy");
    let (s, b) = sam.call("GET", &format!("/api/tasks?instanceId={id}"), None);
    assert_eq!(
        (s, b.as_array().map(Vec::len)),
        (200, Some(0)),
        "the task is offered to billing, not to sam's group"
    );
    let (_, tasks) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(tasks["activeActivities"], json!(["Task_Review"]));

    let mut no_csrf = Client::login(&server, "sam", &staff_pw);
    no_csrf.csrf = None;
    let (s, b) = no_csrf.call(
        "POST",
        "/api/process-definitions/approval/start",
        Some(json!({})),
    );
    assert_eq!(s, 403, "{b}");
    assert!(b["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("x-csrf-token"));

    let (s, b) = Client::new(&server).call(
        "POST",
        "/api/login",
        Some(json!({ "username": "sam", "password": "wrong" })),
    );
    assert_eq!((s, b["error"].as_str()), (401, Some("unauthenticated")));

    let (_, audit) = admin.call("GET", "/api/audit", None);
    let denials: Vec<&Value> = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter(|a| a["outcome"] == "denied")
        .collect();
    assert!(denials.len() >= 3, "denials are audited: {audit}");
}

#[test]
fn api_tokens_authenticate_systems_without_csrf() {
    let server = start_server();
    let admin = admin(&server);
    add_user(&admin, "payments", "system", &[]);
    let out = Command::new(env!("CARGO_BIN_EXE_millrace"))
        .args(["token", "create", "--user", "payments", "--database"])
        .arg(&server.db)
        .output()
        .expect("token create runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut system = Client::new(&server);
    system.bearer = Some(token);
    let (s, b) = system.call(
        "POST",
        "/api/process-definitions/approval/start",
        Some(json!({ "businessKey": "SYS-1" })),
    );
    assert_eq!(s, 201, "{b}");
    system.bearer = Some("not-a-token".into());
    let (s, _) = system.call("GET", "/api/tasks", None);
    assert_eq!(s, 401);
}

#[test]
fn bad_input_is_refused_with_the_field_named_and_changes_nothing() {
    let server = start_server();
    let admin = admin(&server);
    let pw = add_user(&admin, "bea", "staff", &["billing-specialists"]);
    let bea = Client::login(&server, "bea", &pw);
    let id = start_approval(&bea, "REQ-3");
    let task = review_task(&bea, &id);

    let (s, b) = bea.call(
        "POST",
        &format!("/api/tasks/{task}/complete"),
        Some(json!({ "variables": { "decision": "approve" } })),
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("amount")), "{b}");
    let (s, b) = bea.call(
        "POST",
        &format!("/api/tasks/{task}/complete"),
        Some(json!({ "variables": { "amount": 5, "decision": "maybe" } })),
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("decision")), "{b}");
    let (s, b) = bea.call(
        "POST",
        &format!("/api/tasks/{task}/complete"),
        Some(json!({ "variables": { "amount": 0, "decision": "reject" } })),
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("amount")), "{b}");
    let (s, b) = bea.call(
        "POST",
        "/api/process-definitions/approval/start",
        Some(json!({ "variabels": {} })),
    );
    assert_eq!(
        (s, b["field"].as_str()),
        (422, Some("variabels")),
        "unknown fields are named: {b}"
    );
    let (s, b) = bea.call("GET", "/api/process-instances?limit=100000", None);
    assert_eq!((s, b["field"].as_str()), (400, Some("limit")));
    let (_, defs_before) = admin.call("GET", "/api/process-definitions", None);
    let big = "x".repeat(5 * 1024 * 1024);
    // The server answers 413 as soon as it sees the length; the client may still be writing.
    // Its own connection: the server closes this one after refusing the body.
    let uploader = Client::login(&server, "admin", ADMIN_PASSWORD);
    match uploader.try_call(
        "POST",
        "/api/deployments",
        Some(json!({ "name": "big", "files": [{ "name": "a.bpmn", "content": big }] })),
    ) {
        Ok((s, _)) => assert_eq!(s, 413, "oversized bodies are refused"),
        Err(e) => assert!(
            e.contains("pipe") || e.contains("reset"),
            "refused while sending: {e}"
        ),
    }
    let (s, b) = admin.call("POST", "/api/deployments", Some(json!({ "name": "broken", "files": [{ "name": "broken.bpmn", "content": "<definitions" }] })));
    assert_eq!(s, 422, "{b}");

    // Nothing of the refused requests changed the instance or the deployments.
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(inst["activeActivities"], json!(["Task_Review"]));
    assert_eq!(inst["variables"], json!({ "fee": 12.5 }));
    let (_, defs) = admin.call("GET", "/api/process-definitions", None);
    assert_eq!(defs, defs_before);
}

#[test]
fn two_people_completing_one_task_one_wins_one_gets_409() {
    let server = start_server();
    let admin = admin(&server);
    let pa = add_user(&admin, "ann", "staff", &["billing-specialists"]);
    let pb = add_user(&admin, "ben", "staff", &["billing-specialists"]);
    let ann = Client::login(&server, "ann", &pa);
    let ben = Client::login(&server, "ben", &pb);
    let id = start_approval(&admin, "REQ-4");
    let task = review_task(&ann, &id);
    let body = json!({ "variables": { "amount": 10, "decision": "approve" } });
    let path = format!("/api/tasks/{task}/complete");
    let (a, b) = std::thread::scope(|s| {
        let ha = s.spawn(|| ann.call("POST", &path, Some(body.clone())).0);
        let hb = s.spawn(|| ben.call("POST", &path, Some(body.clone())).0);
        (ha.join().expect("ann"), hb.join().expect("ben"))
    });
    let mut statuses = [a, b];
    statuses.sort();
    assert_eq!(statuses, [200, 409]);
    let (_, h) = admin.call("GET", &format!("/api/process-instances/{id}/history"), None);
    let completions = h
        .as_array()
        .expect("history")
        .iter()
        .filter(|e| e["event"] == "activityCompleted" && e["node"] == "Task_Review")
        .count();
    assert_eq!(completions, 1);
}

#[test]
fn a_second_claim_is_told_who_has_the_task() {
    let server = start_server();
    let admin = admin(&server);
    let pa = add_user(&admin, "ann", "staff", &["billing-specialists"]);
    let pb = add_user(&admin, "ben", "staff", &["billing-specialists"]);
    let ann = Client::login(&server, "ann", &pa);
    let ben = Client::login(&server, "ben", &pb);
    let id = start_approval(&admin, "REQ-5");
    let task = review_task(&ann, &id);
    let claim = format!("/api/tasks/{task}/claim");
    assert_eq!(ann.call("POST", &claim, None).0, 204);
    let (s, b) = ben.call("POST", &claim, None);
    assert_eq!(s, 409, "{b}");
    assert_eq!(b["reason"], "ann has claimed the task");
}

#[test]
fn openapi_document_lists_the_core_paths() {
    let server = start_server();
    let (s, doc) = Client::new(&server).call("GET", "/api/openapi.json", None);
    assert_eq!(s, 200);
    for path in [
        "/api/deployments",
        "/api/process-definitions/{key}/start",
        "/api/tasks/{id}/complete",
        "/api/messages",
        "/api/incidents/{id}/retry",
        "/api/reports",
        "/api/reports/{key}/{name}",
        "/api/process-instances/{id}/modification",
        "/api/process-definitions/{key}/versions/{version}/heatmap",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
    let admin = admin(&server);
    start_approval(&admin, "M-1");
    let (s, metrics) = Client::new(&server).call("GET", "/metrics", None);
    assert_eq!(s, 200);
    let text = metrics.as_str().unwrap_or_default();
    for line in [
        "millrace_instances{state=\"active\"} 1",
        "millrace_tasks_open 1",
        "millrace_tasks_created_total 1",
        "millrace_job_lag_seconds",
        "millrace_process_instances{process=\"approval\",state=\"active\"} 1",
        "millrace_process_instances{process=\"approval\",state=\"completed\"} 0",
        "millrace_process_tasks_open{process=\"approval\"} 1",
        "millrace_process_tasks_overdue{process=\"approval\"} 0",
        "millrace_process_incidents_open{process=\"approval\"} 0",
        "# TYPE millrace_process_job_lag_seconds gauge",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
}

#[test]
fn external_workers_lock_complete_fail_and_lose_their_lock() {
    let server = start_server();
    let admin = admin(&server);
    let id_a = {
        let (s, b) = admin.call(
            "POST",
            "/api/process-definitions/charging/start",
            Some(json!({ "variables": { "fee": 150.00 } })),
        );
        assert_eq!(s, 201, "{b}");
        b["id"].as_str().expect("id").to_string()
    };
    let fetch = |worker: &str, ms: u64| {
        admin.call("POST", "/api/external-tasks/fetch-and-lock", Some(json!({ "workerId": worker, "topic": "billing", "lockDuration": ms, "maxTasks": 5 })))
    };
    // w1 locks briefly, loses the lock to w2, and may no longer complete.
    let (s, locked) = fetch("w1", 1);
    assert_eq!(s, 200, "{locked}");
    assert_eq!(
        locked[0]["variables"]["fee"].to_string(),
        "150",
        "an exact decimal, without trailing zeros"
    );
    let task = locked[0]["id"].as_str().expect("task").to_string();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (_, locked2) = fetch("w2", 60_000);
    assert_eq!(
        locked2[0]["id"].as_str(),
        Some(task.as_str()),
        "an expired lock is handed to another worker"
    );
    let (s, _) = admin.call(
        "POST",
        &format!("/api/external-tasks/{task}/complete"),
        Some(json!({ "workerId": "w1" })),
    );
    assert_eq!(s, 409, "a worker that lost its lock cannot complete");
    // w2 fails for good: an incident; a retry offers the task again.
    let (s, b) = admin.call(
        "POST",
        &format!("/api/external-tasks/{task}/failure"),
        Some(json!({ "workerId": "w2", "errorMessage": "card declined", "retries": 0 })),
    );
    assert_eq!(s, 204, "{b}");
    let (_, incidents) = admin.call("GET", "/api/incidents", None);
    let incident = incidents
        .as_array()
        .expect("incidents")
        .iter()
        .find(|i| i["instanceId"] == id_a.as_str())
        .expect("an incident at the charge");
    assert_eq!(incident["message"], "card declined");
    let (s, outcome) = admin.call(
        "POST",
        &format!(
            "/api/incidents/{}/retry",
            incident["id"].as_str().expect("id")
        ),
        None,
    );
    // The external task is offered again: the retry went on, no new incident.
    assert_eq!(
        (s, outcome["outcome"].as_str()),
        (200, Some("resolved")),
        "{outcome}"
    );
    let (_, locked3) = fetch("w3", 60_000);
    let again = locked3[0]["id"]
        .as_str()
        .expect("offered again")
        .to_string();
    let (s, b) = admin.call(
        "POST",
        &format!("/api/external-tasks/{again}/complete"),
        Some(json!({ "workerId": "w3", "variables": { "charged": true } })),
    );
    assert_eq!(s, 204, "{b}");
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{id_a}"), None);
    assert_eq!(
        (inst["state"].as_str(), &inst["variables"]["charged"]),
        (Some("completed"), &json!(true))
    );
}

#[test]
fn serve_reads_settings_from_a_config_file_and_flags_win() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("millrace.toml");
    let db = common::database(dir.path(), "cfg");
    std::fs::write(
        &config,
        format!(
            "database = \"{db}\"\nbind = \"127.0.0.1:1\"\nprocesses = \"tests/fixtures/http\"\nadmin_password = \"from-the-file-123\"\n",
        ),
    )
    .expect("config written");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_millrace"));
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--config"])
        .arg(&config);
    let server = spawn(cmd, db, dir);
    assert!(
        !server.base.ends_with(":1"),
        "the --bind flag wins over the file"
    );
    // The admin password and the processes folder came from the file.
    let admin = Client::login(&server, "admin", "from-the-file-123");
    let (_, defs) = admin.call("GET", "/api/process-definitions", None);
    assert!(
        defs.as_array()
            .is_some_and(|d| d.iter().any(|x| x["key"] == "approval")),
        "{defs}"
    );
}

#[test]
fn a_form_js_form_is_enforced_on_the_server() {
    let server = start_server();
    let admin = admin(&server);
    let pw = add_user(&admin, "bea", "staff", &["billing-specialists"]);
    let bea = Client::login(&server, "bea", &pw);
    let (s, b) = bea.call(
        "POST",
        "/api/process-definitions/meter-removal/start",
        Some(json!({})),
    );
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().expect("id").to_string();
    let task = review_task(&bea, &id);
    let path = format!("/api/tasks/{task}/complete");
    let (s, b) = bea.call(
        "POST",
        &path,
        Some(json!({ "variables": { "finalReading": 1200, "meterSerial": "12" } })),
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("meterSerial")), "{b}");
    let (s, b) = bea.call(
        "POST",
        &path,
        Some(json!({ "variables": { "finalReading": -5, "meterSerial": "MTR-0042" } })),
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("finalReading")), "{b}");
    let (s, b) = bea.call("POST", &path, Some(json!({ "variables": { "finalReading": 1200.5, "meterSerial": "MTR-0042", "condition": "ok" } })));
    assert_eq!(s, 200, "{b}");
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(inst["state"], "completed");
}

#[test]
fn serve_with_an_unreachable_postgres_says_why_at_once() {
    // Port 1 on loopback refuses connections. Run in an empty folder: nothing
    // may be created there (a URL is not a path whose folder needs making).
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(env!("CARGO_BIN_EXE_millrace"))
        .args(["serve", "--bind", "127.0.0.1:0", "--processes"])
        .arg(repo().join("tests/fixtures/http"))
        .arg("--database")
        .arg("postgres://millrace@127.0.0.1:1/millrace")
        .current_dir(dir.path())
        .output()
        .expect("millrace runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert!(
        left.is_empty(),
        "nothing is created in the working folder: {left:?}"
    );
    assert!(
        stderr.contains("postgres://millrace@127.0.0.1:1/millrace")
            && stderr.contains("Connection refused"),
        "names the database and the reason: {stderr}"
    );
}

#[test]
fn drafts_are_saved_under_a_revision_check_validated_and_deployed_by_administrators() {
    let server = start_server();
    let admin = admin(&server);
    let ana_pw = add_user(&admin, "ana", "analyst", &[]);
    let bea_pw = add_user(&admin, "bea", "analyst", &[]);
    let sam_pw = add_user(&admin, "sam", "staff", &["back-office"]);
    let ana = Client::login(&server, "ana", &ana_pw);
    let bea = Client::login(&server, "bea", &bea_pw);
    let sam = Client::login(&server, "sam", &sam_pw);

    // Staff may not design: neither the library nor a draft.
    assert_eq!(sam.call("GET", "/api/library", None).0, 403);
    assert_eq!(sam.call("GET", "/api/drafts/approval", None).0, 403);

    // Without a draft, the draft is the latest version's text at revision 0.
    let (s, d) = ana.call("GET", "/api/drafts/approval", None);
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        (d["revision"].as_i64(), d["basedOn"].as_i64()),
        (Some(0), Some(1))
    );
    let xml = d["xml"].as_str().expect("xml").to_string();

    // Text that is not BPMN is refused naming line and column, and nothing is saved.
    let (s, e) = ana.call(
        "PUT",
        "/api/drafts/approval",
        Some(json!({ "xml": "<bpmn:definitions>\n<oops", "revision": 0 })),
    );
    assert_eq!(s, 422, "{e}");
    assert_eq!(e["field"], "xml");
    assert!(
        e["reason"].as_str().is_some_and(|r| r.contains("line 2")),
        "{e}"
    );
    assert_eq!(
        ana.call("GET", "/api/drafts/approval", None).1["revision"],
        0
    );

    // A save validates with the engine's validator: a script that does not
    // compile is an error on its element, placed inside the script.
    let broken = xml.replacen(
        r#"<startEvent id="Start" />"#,
        r#"<startEvent id="Start" /><scriptTask id="Broken" scriptFormat="rhai"><script>let x = = 1;</script></scriptTask>"#,
        1,
    );
    let (s, saved) = ana.call(
        "PUT",
        "/api/drafts/approval",
        Some(json!({ "xml": broken, "revision": 0 })),
    );
    assert_eq!(s, 200, "{saved}");
    assert_eq!(saved["revision"], 1);
    let finding = saved["diagnostics"]
        .as_array()
        .and_then(|d| {
            d.iter()
                .find(|d| d["elementId"] == "Broken" && d["code"] == "E010")
        })
        .unwrap_or_else(|| panic!("the broken script is found: {saved}"));
    assert_eq!(
        (finding["severity"].as_str(), finding["scriptLine"].as_i64()),
        (Some("error"), Some(1))
    );
    let tagged = xml.replacen(
        r#"<process id="approval""#,
        r#"<process id="approval" camunda:versionTag="x""#,
        1,
    );

    // Two analysts from the same revision: the second is refused and told who saved.
    let (s, _) = ana.call(
        "PUT",
        "/api/drafts/approval",
        Some(json!({ "xml": tagged, "revision": 1 })),
    );
    assert_eq!(s, 200);
    let (s, e) = bea.call(
        "PUT",
        "/api/drafts/approval",
        Some(json!({ "xml": xml, "revision": 1 })),
    );
    assert_eq!(s, 409, "{e}");
    assert!(
        e["reason"]
            .as_str()
            .is_some_and(|r| r.contains("saved by ana")),
        "{e}"
    );
    let (_, now) = bea.call("GET", "/api/drafts/approval", None);
    assert_eq!(
        (now["revision"].as_i64(), now["updatedBy"].as_str()),
        (Some(2), Some("ana"))
    );

    // A script that does not compile is placed in its own text.
    let (s, p) = ana.call(
        "POST",
        "/api/scripts/check",
        Some(json!({ "kind": "condition", "text": "amount >\n > 3" })),
    );
    assert_eq!(s, 200, "{p}");
    assert_eq!(p[0]["line"], 2, "{p}");
    let (_, ok) = ana.call(
        "POST",
        "/api/scripts/check",
        Some(json!({ "kind": "condition", "text": "amount > 3" })),
    );
    assert_eq!(ok, json!([]));

    // The library lists the process with its version and the draft; search reads the BPMN text.
    let (_, lib) = ana.call("GET", "/api/library?q=versionTag", None);
    let entry = lib
        .as_array()
        .and_then(|l| l.iter().find(|e| e["key"] == "approval"))
        .expect("approval is found by text in its draft");
    assert_eq!(entry["draft"]["revision"], 2);
    assert_eq!(entry["versions"][0]["version"], 1);
    let (_, none) = ana.call("GET", "/api/library?q=no-such-text-anywhere", None);
    assert_eq!(none, json!([]));

    // Analysts may not deploy; administrators deploy the reviewed revision only, with a note.
    let deploy = |c: &Client, revision: i64, note: &str| {
        c.call(
            "POST",
            "/api/drafts/approval/deploy",
            Some(json!({ "note": note, "revision": revision })),
        )
    };
    assert_eq!(deploy(&ana, 2, "mine").0, 403);
    assert_eq!(deploy(&admin, 1, "stale").0, 409);
    assert_eq!(deploy(&admin, 2, "  ").0, 400);
    let (s, out) = deploy(&admin, 2, "version tag for the audit");
    assert_eq!(s, 201, "{out}");
    assert_eq!(out[0]["version"], 2);
    let (_, versions) = admin.call("GET", "/api/process-definitions?key=approval", None);
    assert_eq!(versions[0]["note"], "version tag for the audit");
    // The new version keeps its file's name (the folder deployment held three BPMN files).
    assert_eq!(
        versions[0]["resourceName"], versions[1]["resourceName"],
        "{versions}"
    );
    assert_eq!(versions[0]["deployedBy"], "admin");
    // The draft is gone: the draft is now version 2's text.
    let (_, d) = ana.call("GET", "/api/drafts/approval", None);
    assert_eq!(
        (d["revision"].as_i64(), d["basedOn"].as_i64()),
        (Some(0), Some(2))
    );
    let (_, audit) = admin.call("GET", "/api/audit?limit=200", None);
    assert!(
        audit
            .as_array()
            .is_some_and(|a| a.iter().any(|e| e["action"] == "deploy"
                && e["outcome"] == "ok"
                && e["target"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("approval")))),
        "{audit}"
    );

    // New processes: blank, and a copy; an existing id is refused.
    let (s, blank) = ana.call(
        "POST",
        "/api/drafts",
        Some(json!({ "key": "fresh", "name": "Fresh" })),
    );
    assert_eq!(s, 201, "{blank}");
    assert!(blank["xml"]
        .as_str()
        .is_some_and(|x| x.contains(r#"<bpmn:process id="fresh""#)));
    let (s, copy) = ana.call(
        "POST",
        "/api/drafts",
        Some(json!({ "key": "approval-copy", "copyOf": "approval" })),
    );
    assert_eq!(s, 201, "{copy}");
    assert!(copy["xml"]
        .as_str()
        .is_some_and(|x| x.contains(r#"id="approval-copy""#)));
    assert_eq!(
        ana.call("POST", "/api/drafts", Some(json!({ "key": "approval" })))
            .0,
        409
    );
    assert_eq!(
        ana.call("POST", "/api/drafts", Some(json!({ "key": "1 bad" })))
            .0,
        400
    );
}

#[test]
fn a_drafts_forms_are_saved_with_it_copied_with_it_and_deployed_with_it() {
    let server = start_server();
    let admin = admin(&server);
    let ana_pw = add_user(&admin, "ana", "analyst", &[]);
    let bea_pw = add_user(&admin, "bea", "staff", &["billing-specialists"]);
    let ana = Client::login(&server, "ana", &ana_pw);
    let bea = Client::login(&server, "bea", &bea_pw);

    // Without a draft, the forms are the latest version's.
    let (_, d) = ana.call("GET", "/api/drafts/meter-removal", None);
    let forms = d["forms"].as_array().expect("forms").clone();
    let form = forms
        .iter()
        .find(|f| {
            f["name"]
                .as_str()
                .is_some_and(|n| n.ends_with("final-meter.form"))
        })
        .unwrap_or_else(|| panic!("the deployed form is the draft's: {d}"));
    let name = form["name"].as_str().expect("name").to_string();
    let mut schema: Value =
        serde_json::from_str(form["content"].as_str().expect("content")).expect("form-js JSON");
    schema["components"]
        .as_array_mut()
        .expect("components")
        .push(json!({ "type": "textfield", "key": "sealNumber", "label": "Seal", "validate": { "required": true } }));
    let changed = serde_json::to_string_pretty(&schema).expect("json");
    let xml = d["xml"].as_str().expect("xml").to_string();

    // A bad form refuses the whole save, naming it; nothing is saved.
    let (s, e) = ana.call(
        "PUT",
        "/api/drafts/meter-removal",
        Some(json!({ "xml": xml, "revision": 0, "forms": [{ "name": name, "content": "{\"id\": " }] })),
    );
    assert_eq!(
        (s, e["field"].as_str()),
        (400, Some("forms[0].content")),
        "{e}"
    );
    assert_eq!(
        ana.call("GET", "/api/drafts/meter-removal", None).1["revision"],
        0
    );

    // Saved with the BPMN under one revision; read back over the version's.
    let (s, saved) = ana.call(
        "PUT",
        "/api/drafts/meter-removal",
        Some(json!({ "xml": xml, "revision": 0, "forms": [{ "name": name, "content": changed }] })),
    );
    assert_eq!(s, 200, "{saved}");
    let (_, d) = ana.call("GET", "/api/drafts/meter-removal", None);
    assert_eq!(d["revision"], 1);
    let mine: Vec<&Value> = d["forms"]
        .as_array()
        .expect("forms")
        .iter()
        .filter(|f| f["name"] == name.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{d}");
    assert!(mine[0]["content"]
        .as_str()
        .is_some_and(|c| c.contains("sealNumber")));

    // A copy brings the draft's forms along.
    let (s, copy) = ana.call(
        "POST",
        "/api/drafts",
        Some(json!({ "key": "meter-removal-copy", "copyOf": "meter-removal" })),
    );
    assert_eq!(s, 201, "{copy}");
    assert!(
        copy["forms"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f["content"]
                .as_str()
                .is_some_and(|c| c.contains("sealNumber")))),
        "{copy}"
    );

    // Only the form changed, and deploying makes a new version that enforces it.
    let (s, out) = admin.call(
        "POST",
        "/api/drafts/meter-removal/deploy",
        Some(json!({ "note": "seal number", "revision": 1 })),
    );
    assert_eq!(s, 201, "{out}");
    assert_eq!(out[0]["version"], 2, "{out}");
    let (s, b) = bea.call(
        "POST",
        "/api/process-definitions/meter-removal/start",
        Some(json!({})),
    );
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().expect("id").to_string();
    let task = review_task(&bea, &id);
    let (_, tf) = bea.call("GET", &format!("/api/tasks/{task}/form"), None);
    assert!(
        tf["formSchema"]
            .as_str()
            .is_some_and(|f| f.contains("sealNumber")),
        "the task's form is the new one: {tf}"
    );
    let (s, e) = bea.call(
        "POST",
        &format!("/api/tasks/{task}/complete"),
        Some(json!({ "variables": { "finalReading": 1, "meterSerial": "MTR-0001" } })),
    );
    assert_eq!((s, e["field"].as_str()), (400, Some("sealNumber")), "{e}");
    // The draft's forms went with it: the draft is version 2's again.
    let (_, d) = ana.call("GET", "/api/drafts/meter-removal", None);
    assert_eq!(
        (d["revision"].as_i64(), d["basedOn"].as_i64()),
        (Some(0), Some(2))
    );
}

#[test]
fn a_drafts_queries_and_templates_are_checked_saved_and_deployed_with_it() {
    let server = start_server();
    let admin = admin(&server);
    let ana_pw = add_user(&admin, "ana", "analyst", &[]);
    let ana = Client::login(&server, "ana", &ana_pw);
    let (_, d) = ana.call("GET", "/api/drafts/meter-removal", None);
    assert_eq!(
        d["files"],
        json!([]),
        "the fixtures have no queries or templates"
    );
    let xml = d["xml"].as_str().expect("xml").to_string();
    let query = "-- name: open_meters\nSELECT meter FROM meters WHERE account = :account\n";
    let template = "#let data = json(\"/data.json\")\n= Final reading\n#data.finalReading\n";

    // Checked as typed: where it is wrong, by line; sound text has no problems.
    let check = |name: &str, content: &str| {
        ana.call(
            "POST",
            "/api/drafts/meter-removal/files/check",
            Some(json!({ "name": name, "content": content })),
        )
    };
    let (s, found) = check("meter-removal.typ", "= Title\n#let x = (\n");
    assert_eq!(s, 200, "{found}");
    assert_eq!(found[0]["line"], 2, "{found}");
    let (s, found) = check("meter-removal.sql", "-- name: bad name\nSELECT 1\n");
    assert_eq!((s, found[0]["line"].as_i64()), (200, Some(1)), "{found}");
    assert!(
        found[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("bad name")),
        "{found}"
    );
    assert_eq!(check("meter-removal.sql", query).1, json!([]));
    assert_eq!(check("meter-removal.typ", template).1, json!([]));
    assert_eq!(check("../meter-removal.sql", query).0, 400);

    // A bad file refuses the whole save, naming it and its line; nothing is saved.
    let (s, e) = ana.call(
        "PUT",
        "/api/drafts/meter-removal",
        Some(json!({ "xml": xml, "revision": 0, "files": [
            { "name": "meter-removal.sql", "content": query },
            { "name": "meter-removal.typ", "content": "#let x = (\n" },
        ] })),
    );
    assert_eq!(
        (s, e["field"].as_str()),
        (400, Some("files[1].content")),
        "{e}"
    );
    assert!(
        e["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("meter-removal.typ:1"),
        "{e}"
    );
    for name in ["/etc/passwd.sql", "a/../b.sql", "notes.txt"] {
        let (s, e) = ana.call(
            "PUT",
            "/api/drafts/meter-removal",
            Some(
                json!({ "xml": xml, "revision": 0, "files": [{ "name": name, "content": query }] }),
            ),
        );
        assert_eq!(
            (s, e["field"].as_str()),
            (400, Some("files[0].name")),
            "{name}: {e}"
        );
    }
    assert_eq!(
        ana.call("GET", "/api/drafts/meter-removal", None).1["revision"],
        0
    );

    // Saved with the BPMN under one revision, and read back.
    let (s, saved) = ana.call(
        "PUT",
        "/api/drafts/meter-removal",
        Some(json!({ "xml": xml, "revision": 0, "files": [
            { "name": "meter-removal.sql", "content": query },
            { "name": "meter-removal.typ", "content": template },
        ] })),
    );
    assert_eq!(s, 200, "{saved}");
    let (_, d) = ana.call("GET", "/api/drafts/meter-removal", None);
    assert_eq!(
        d["files"],
        json!([
            { "name": "meter-removal.sql", "content": query },
            { "name": "meter-removal.typ", "content": template },
        ]),
        "{d}"
    );
    assert!(
        d["forms"].as_array().is_some_and(|f| !f.is_empty()),
        "forms stay apart: {d}"
    );

    // A process whose connector calls the query: deployed with it, and a
    // change to the query alone is its next version.
    let calls = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
<process id="meter-lookup" isExecutable="true">
  <startEvent id="S"/>
  <serviceTask id="Look"><extensionElements><camunda:connector><camunda:inputOutput>
    <camunda:inputParameter name="query">open_meters</camunda:inputParameter>
  </camunda:inputOutput><camunda:connectorId>sql</camunda:connectorId></camunda:connector></extensionElements></serviceTask>
  <endEvent id="E"/>
  <sequenceFlow id="f1" sourceRef="S" targetRef="Look"/><sequenceFlow id="f2" sourceRef="Look" targetRef="E"/>
</process></definitions>"#;
    let (s, created) = ana.call("POST", "/api/drafts", Some(json!({ "xml": calls })));
    assert_eq!(s, 201, "{created}");
    let save = |revision: i64, query: &str| {
        ana.call(
            "PUT",
            "/api/drafts/meter-lookup",
            Some(json!({ "xml": calls, "revision": revision, "files": [{ "name": "meter-lookup.sql", "content": query }] })),
        )
    };
    let deploy = |revision: i64| {
        admin.call(
            "POST",
            "/api/drafts/meter-lookup/deploy",
            Some(json!({ "note": "the query", "revision": revision })),
        )
    };
    assert_eq!(save(1, query).0, 200);
    let (s, out) = deploy(2);
    assert_eq!((s, out[0]["version"].as_i64()), (201, Some(1)), "{out}");
    let (_, d) = ana.call("GET", "/api/drafts/meter-lookup", None);
    assert_eq!(
        d["files"],
        json!([{ "name": "meter-lookup.sql", "content": query }]),
        "{d}"
    );
    let changed = query.replace("meter FROM", "meter, sealed FROM");
    assert_eq!(save(0, &changed).0, 200);
    let (s, out) = deploy(1);
    assert_eq!(
        (s, out[0]["version"].as_i64(), out[0]["created"].as_bool()),
        (201, Some(2), Some(true)),
        "{out}"
    );
    let (_, d) = ana.call("GET", "/api/drafts/meter-lookup", None);
    assert_eq!(
        (d["basedOn"].as_i64(), d["files"][0]["content"].as_str()),
        (Some(2), Some(changed.as_str()))
    );
}

#[test]
fn saved_filters_are_kept_per_user_shared_with_a_group_and_counted_for_each_reader() {
    let server = start_server();
    let admin = admin(&server);
    let bea_pw = add_user(&admin, "bea", "staff", &["billing-specialists"]);
    let ben_pw = add_user(&admin, "ben", "staff", &["billing-specialists"]);
    let cy_pw = add_user(&admin, "cy", "staff", &["field-crew"]);
    let bea = Client::login(&server, "bea", &bea_pw);
    let ben = Client::login(&server, "ben", &ben_pw);
    let cy = Client::login(&server, "cy", &cy_pw);
    for _ in 0..2 {
        let (s, b) = bea.call(
            "POST",
            "/api/process-definitions/meter-removal/start",
            Some(json!({})),
        );
        assert_eq!(s, 201, "{b}");
    }
    let save = |c: &Client, body: Value| c.call("POST", "/api/filters", Some(body));

    let (s, f) = save(
        &bea,
        json!({ "name": "Meter removals", "criteria": { "process": "meter-removal" }, "sharedWith": "billing-specialists" }),
    );
    assert_eq!((s, f["count"].as_i64()), (201, Some(2)), "{f}");
    let shared = f["id"].as_str().expect("id").to_string();
    let (s, f) = save(
        &bea,
        json!({ "name": "Mine", "criteria": { "mine": true } }),
    );
    assert_eq!(
        (s, f["count"].as_i64()),
        (201, Some(0)),
        "none is assigned to bea yet: {f}"
    );

    // Refused, naming why: a name used twice, a group one is not in, half a variable filter.
    let (s, e) = save(&bea, json!({ "name": "Mine", "criteria": {} }));
    assert_eq!(s, 409, "{e}");
    let (s, e) = save(
        &bea,
        json!({ "name": "Crew", "criteria": {}, "sharedWith": "field-crew" }),
    );
    assert_eq!((s, e["field"].as_str()), (400, Some("sharedWith")), "{e}");
    let (s, e) = save(
        &bea,
        json!({ "name": "Half", "criteria": { "variable": "accountNumber" } }),
    );
    assert_eq!(
        (s, e["field"].as_str()),
        (400, Some("criteria.value")),
        "{e}"
    );
    let (s, e) = save(&bea, json!({ "name": " ", "criteria": {} }));
    assert_eq!((s, e["field"].as_str()), (400, Some("name")), "{e}");

    // Each reader sees their own and their groups' filters, counted for them.
    let names = |c: &Client| -> Vec<(String, i64)> {
        let (s, list) = c.call("GET", "/api/filters", None);
        assert_eq!(s, 200, "{list}");
        list.as_array()
            .expect("a list")
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap_or_default().to_string(),
                    f["count"].as_i64().unwrap_or(-1),
                )
            })
            .collect()
    };
    assert_eq!(
        names(&bea),
        [("Meter removals".to_string(), 2), ("Mine".to_string(), 0)]
    );
    assert_eq!(names(&ben), [("Meter removals".to_string(), 2)]);
    assert!(names(&cy).is_empty(), "cy is not in the group");
    // bea claims one: her "Mine" counts it, the shared filter still counts both for ben.
    let (_, tasks) = bea.call("GET", "/api/tasks?processKey=meter-removal", None);
    let task = tasks[0]["id"].as_str().expect("a task").to_string();
    assert_eq!(
        bea.call("POST", &format!("/api/tasks/{task}/claim"), Some(json!({})))
            .0,
        204
    );
    assert_eq!(names(&bea)[1], ("Mine".to_string(), 1));

    // Only its owner deletes it (another's is a 404, as if none).
    assert_eq!(
        ben.call("DELETE", &format!("/api/filters/{shared}"), None)
            .0,
        404
    );
    assert_eq!(
        bea.call("DELETE", &format!("/api/filters/{shared}"), None)
            .0,
        204
    );
    assert!(names(&ben).is_empty());
}

#[test]
fn progress_is_kept_for_the_assignee_shown_in_the_form_and_sets_nothing() {
    let server = start_server();
    let admin = admin(&server);
    let pw = add_user(&admin, "bea", "staff", &["billing-specialists"]);
    let pw2 = add_user(&admin, "ben", "staff", &["billing-specialists"]);
    let bea = Client::login(&server, "bea", &pw);
    let ben = Client::login(&server, "ben", &pw2);
    let (s, b) = bea.call(
        "POST",
        "/api/process-definitions/meter-removal/start",
        Some(json!({})),
    );
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().expect("id").to_string();
    let task = review_task(&bea, &id);
    let path = format!("/api/tasks/{task}/progress");
    let half = json!({ "variables": { "meterSerial": "MTR-1" } });
    // Only the assignee keeps progress: claim first.
    let (s, e) = bea.call("PUT", &path, Some(half.clone()));
    assert_eq!(s, 403, "{e}");
    assert_eq!(
        bea.call("POST", &format!("/api/tasks/{task}/claim"), None)
            .0,
        204
    );
    let (s, e) = ben.call("PUT", &path, Some(half.clone()));
    assert_eq!(s, 403, "{e}");
    assert!(
        e["reason"]
            .as_str()
            .is_some_and(|r| r.contains("bea has claimed")),
        "{e}"
    );
    // Kept though the form would refuse it (MTR-1 is no serial), and shown in the form.
    let (s, saved) = bea.call("PUT", &path, Some(half));
    assert_eq!(s, 200, "{saved}");
    assert_eq!(saved["savedBy"], "bea");
    let (_, form) = bea.call("GET", &format!("/api/tasks/{task}/form"), None);
    assert_eq!(form["progress"]["savedBy"], "bea", "{form}");
    let serial = form["fields"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["id"] == "meterSerial"))
        .expect("the serial field");
    assert_eq!(serial["value"], "MTR-1", "{form}");
    // Saved again, replaced; still nothing set on the instance.
    let (s, _) = bea.call(
        "PUT",
        &path,
        Some(json!({ "variables": { "meterSerial": "MTR-12" } })),
    );
    assert_eq!(s, 200);
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert!(inst["variables"].get("meterSerial").is_none(), "{inst}");
    // Completed, the task and its progress are gone (an ended task answers 409, as everywhere).
    let (s, b) = bea.call(
        "POST",
        &format!("/api/tasks/{task}/complete"),
        Some(json!({ "variables": { "finalReading": 3, "meterSerial": "MTR-0012" } })),
    );
    assert_eq!(s, 200, "{b}");
    let (s, _) = bea.call("PUT", &path, Some(json!({ "variables": {} })));
    assert_eq!(s, 409);
}

#[test]
fn pages_send_strangers_to_sign_in_and_refuse_roles_that_may_not() {
    let server = start_server();
    let admin = admin(&server);
    let pw = add_user(&admin, "sam", "staff", &[]);
    let stranger = Client::new(&server);
    let (s, _, headers) = stranger.call_raw("GET", "/designer/approval", None);
    assert_eq!(s, 303);
    let location = headers
        .iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.as_str());
    assert_eq!(location, Some("/login?next=/designer/approval"));
    let sam = Client::login(&server, "sam", &pw);
    let (s, page, _) = sam.call_raw("GET", "/designer", None);
    assert_eq!(s, 403);
    assert!(page.as_str().is_some_and(|p| p.contains("Not allowed")));
    let (s, page, _) = admin.call_raw("GET", "/designer/approval", None);
    assert_eq!(s, 200);
    // The page carries the session's CSRF token for its scripts, and an empty canvas.
    let html = page.as_str().expect("html");
    assert!(html.contains(admin.csrf.as_deref().expect("csrf")));
    assert!(html.contains(r#"class="canvas""#));
    assert_eq!(stranger.call("GET", "/no/such/page", None).0, 404);
    assert_eq!(stranger.call("GET", "/api/no/such/path", None).0, 404);
    // A browser that takes gzip gets the file compressed.
    let url = format!("{}/assets/wasm/millrace_designer_bg.wasm", server.base);
    let resp = ureq::get(&url)
        .header("accept-encoding", "gzip")
        .call()
        .expect("the wasm is served");
    assert_eq!(resp.status().as_u16(), 200);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    assert_eq!(header("content-type").as_deref(), Some("application/wasm"));
    assert_eq!(header("content-encoding").as_deref(), Some("gzip"));
}

#[test]
fn a_failed_delivery_is_compensated_through_the_api() {
    let server = start_server_with("tests/scenarios/compensation");
    let admin = admin(&server);
    let pw = add_user(&admin, "bea", "staff", &["billing-specialists"]);
    let bea = Client::login(&server, "bea", &pw);
    let (s, b) = admin.call(
        "POST",
        "/api/process-definitions/CompensationEndEvent/start",
        Some(json!({ "variables": { "ok": false } })),
    );
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().expect("id").to_string();
    // The compensation end event waits for its handler, a person's task.
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(inst["state"], "active", "{inst}");
    let task = review_task(&bea, &id);
    let (s, b) = bea.call("GET", &format!("/api/tasks/{task}"), None);
    assert_eq!((s, b["elementId"].as_str()), (200, Some("Refund")), "{b}");
    let (s, b) = bea.call(
        "POST",
        &format!("/api/tasks/{task}/complete"),
        Some(json!({ "variables": { "refunded": true } })),
    );
    assert_eq!(s, 200, "{b}");
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(inst["state"], "completed", "{inst}");
    let (s, history) = admin.call("GET", &format!("/api/process-instances/{id}/history"), None);
    assert_eq!(s, 200, "{history}");
    let completed: Vec<&str> = history
        .as_array()
        .expect("a list")
        .iter()
        .filter(|h| h["event"] == "activityCompleted")
        .filter_map(|h| h["node"].as_str())
        .collect();
    assert_eq!(
        completed,
        ["Start", "Charge", "Delivered", "Refund", "End_Refunded"],
        "{history}"
    );
}

#[test]
fn a_retry_says_what_it_did_and_a_cancel_keeps_its_reason() {
    let server = start_server_with("tests/scenarios/compensation");
    let admin = admin(&server);
    let pw = add_user(&admin, "olga", "staff", &["billing-specialists"]);
    let olga = Client::login(&server, "olga", &pw);
    // The end-event process's Delivered gateway needs `ok`: without it, an incident.
    let (s, b) = admin.call(
        "POST",
        "/api/process-definitions/CompensationEndEvent/start",
        Some(json!({ "businessKey": "no-ok" })),
    );
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().expect("id").to_string();
    let (s, list) = admin.call("GET", &format!("/api/incidents?instanceId={id}"), None);
    assert_eq!(s, 200, "{list}");
    let incident = list[0]["id"].as_str().expect("an incident").to_string();
    assert_eq!(list[0]["elementId"], "Delivered", "{list}");
    // Staff may not retry (denied, audited); the incident stays.
    let (s, _) = olga.call("POST", &format!("/api/incidents/{incident}/retry"), None);
    assert_eq!(s, 404);
    // Nothing changed: the retry meets the same error again, and says so.
    let (s, outcome) = admin.call("POST", &format!("/api/incidents/{incident}/retry"), None);
    assert_eq!(
        (s, outcome["outcome"].as_str()),
        (200, Some("failed")),
        "{outcome}"
    );
    let again = outcome["incident"]["id"]
        .as_str()
        .expect("the new incident");
    assert_ne!(again, incident);
    assert!(
        outcome["incident"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("ok")),
        "{outcome}"
    );
    // The instances list finds it by business key and by its incident.
    let (_, found) = admin.call(
        "GET",
        "/api/process-instances?businessKey=no-ok&incident=true",
        None,
    );
    assert_eq!(found[0]["id"], id.as_str(), "{found}");
    assert_eq!(found[0]["businessKey"], "no-ok", "{found}");
    let (s, b) = admin.call(
        "POST",
        &format!("/api/process-instances/{id}/cancel"),
        Some(json!({ "reason": "started without a delivery outcome" })),
    );
    assert_eq!(s, 204, "{b}");
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(inst["state"], "terminated");
    let (_, found) = admin.call(
        "GET",
        "/api/process-instances?businessKey=no-ok&incident=true",
        None,
    );
    assert_eq!(
        found.as_array().map(Vec::len),
        Some(0),
        "no incident is left open: {found}"
    );
    // A reason past 500 bytes is refused naming the field, and changes nothing.
    let (s, b) = admin.call(
        "POST",
        &format!("/api/process-instances/{id}/cancel"),
        Some(json!({ "reason": "x".repeat(501) })),
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("reason")), "{b}");
}

#[test]
fn an_administrator_fixes_the_data_an_incident_needs_and_the_change_is_audited() {
    let server = start_server_with("tests/scenarios/compensation");
    let admin = admin(&server);
    let pw = add_user(&admin, "olga", "staff", &["billing-specialists"]);
    let olga = Client::login(&server, "olga", &pw);
    let (s, b) = admin.call(
        "POST",
        "/api/process-definitions/CompensationEndEvent/start",
        Some(json!({ "variables": { "note": "first" } })),
    );
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().expect("id").to_string();
    let path = format!("/api/process-instances/{id}/variables");
    // Staff may not; a bad value names its field; neither changes anything.
    let (s, _) = olga.call("PUT", &path, Some(json!({ "variables": { "ok": true } })));
    assert_eq!(s, 404);
    let (s, b) = admin.call(
        "PUT",
        &path,
        Some(json!({ "variables": { "bad\u{0}name": 1 } })),
    );
    assert_eq!(s, 400, "{b}");
    assert!(
        b["field"]
            .as_str()
            .is_some_and(|f| f.starts_with("variables")),
        "{b}"
    );
    let (s, b) = admin.call("PUT", &path, Some(json!({ "variables": {} })));
    assert_eq!((s, b["field"].as_str()), (400, Some("variables")), "{b}");
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(
        inst["variables"],
        json!({ "note": "first", "charged": true }),
        "{inst}"
    );
    // The gateway lacked `ok`: set it, and the retry goes on to the end.
    let (s, b) = admin.call(
        "PUT",
        &path,
        Some(json!({ "variables": { "ok": true, "note": "fixed" } })),
    );
    assert_eq!(s, 204, "{b}");
    let (_, list) = admin.call("GET", &format!("/api/incidents?instanceId={id}"), None);
    let incident = list[0]["id"].as_str().expect("the incident").to_string();
    let (s, outcome) = admin.call("POST", &format!("/api/incidents/{incident}/retry"), None);
    assert_eq!(
        (s, outcome["outcome"].as_str()),
        (200, Some("resolved")),
        "{outcome}"
    );
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(inst["state"], "completed", "{inst}");
    // Each change is in the audit with its old and new value.
    let (_, audit) = admin.call("GET", "/api/audit", None);
    let changes: Vec<Value> = audit
        .as_array()
        .expect("a list")
        .iter()
        .filter(|a| a["action"] == "variables.set" && a["target"] == id.as_str())
        .filter_map(|a| {
            a["detail"]
                .as_str()
                .and_then(|d| serde_json::from_str(d).ok())
        })
        .collect();
    assert!(
        changes.contains(&json!({ "name": "note", "old": "first", "new": "fixed" })),
        "{changes:?}"
    );
    assert!(
        changes.contains(&json!({ "name": "ok", "old": null, "new": true })),
        "{changes:?}"
    );
    assert_eq!(
        changes.len(),
        2,
        "the refused requests audited no change: {changes:?}"
    );
}

#[test]
fn files_are_attached_to_a_request_checked_listed_and_read_by_who_may_read_it() {
    let server = start_server();
    let admin = admin(&server);
    let bea_pw = add_user(&admin, "bea", "staff", &["billing-specialists"]);
    let cy_pw = add_user(&admin, "cy", "staff", &["field-crew"]);
    let bea = Client::login(&server, "bea", &bea_pw);
    let cy = Client::login(&server, "cy", &cy_pw);
    let id = start_approval(&bea, "ATT-1");
    let task = review_task(&bea, &id);
    let path = |q: &str| format!("/api/process-instances/{id}/attachments?{q}");
    let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();

    // Refused, naming why, and nothing kept: a type staff do not exchange,
    // bytes that are not what they claim, a name with a slash, too big, empty,
    // a task of another instance.
    let (s, b) = bea.post_bytes(
        &path("name=run.sh"),
        "application/x-sh",
        b"#!/bin/sh".to_vec(),
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("Content-Type")), "{b}");
    assert!(
        b["reason"]
            .as_str()
            .is_some_and(|r| r.contains("application/pdf")),
        "{b}"
    );
    let (s, b) = bea.post_bytes(
        &path("name=bill.pdf"),
        "application/pdf",
        b"MZ\x90\x00".to_vec(),
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("body")), "{b}");
    let (s, b) = bea.post_bytes(&path("name=..%2Fbill.pdf"), "application/pdf", pdf.clone());
    assert_eq!((s, b["field"].as_str()), (400, Some("name")), "{b}");
    let mut big = pdf.clone();
    big.resize(3 * 1024 * 1024 + 1, b' ');
    let (s, b) = bea.post_bytes(&path("name=big.pdf"), "application/pdf", big);
    assert_eq!(s, 413, "{b}");
    let (s, b) = bea.post_bytes(&path("name=empty.txt"), "text/plain", Vec::new());
    assert_eq!((s, b["field"].as_str()), (400, Some("body")), "{b}");
    let (s, b) = bea.post_bytes(
        &path("name=x.pdf&taskId=other:3"),
        "application/pdf",
        pdf.clone(),
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("taskId")), "{b}");
    let (_, list) = bea.call(
        "GET",
        &format!("/api/process-instances/{id}/attachments"),
        None,
    );
    assert_eq!(list, json!([]), "nothing refused was kept");

    let (s, added) = bea.post_bytes(
        &path(&format!("name=Meter%20photo%20form.pdf&taskId={task}")),
        "application/pdf",
        pdf.clone(),
    );
    assert_eq!(s, 201, "{added}");
    assert_eq!(added["name"], "Meter photo form.pdf");
    assert_eq!(added["taskId"], task.as_str());
    assert_eq!(added["size"].as_i64(), Some(pdf.len() as i64));
    assert_eq!(added["addedBy"], "bea");
    let (s, _) = bea.post_bytes(
        &path("name=notes.txt"),
        "text/plain; charset=utf-8",
        "Customer asked for a morning slot".into(),
    );
    assert_eq!(s, 201);
    let (_, list) = admin.call(
        "GET",
        &format!("/api/process-instances/{id}/attachments"),
        None,
    );
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(names, ["Meter photo form.pdf", "notes.txt"]);

    let url = added["url"].as_str().expect("url");
    let (s, bytes, kind) = bea.get_bytes(url);
    assert_eq!((s, kind.as_str()), (200, "application/pdf"));
    assert_eq!(bytes, pdf, "the file comes back as it was sent");
    // Someone the request does not concern sees neither the list nor the file, nor adds to it.
    let (s, _) = cy.call(
        "GET",
        &format!("/api/process-instances/{id}/attachments"),
        None,
    );
    assert_eq!(s, 404);
    let (s, _, _) = cy.get_bytes(url);
    assert_eq!(s, 404);
    let (s, _) = cy.post_bytes(&path("name=x.pdf"), "application/pdf", pdf);
    assert_eq!(s, 404);
    let (_, audit) = admin.call("GET", "/api/audit?action=attachment.read", None);
    assert!(
        audit
            .as_array()
            .expect("audit")
            .iter()
            .any(|a| a["actor"] == "bea"),
        "{audit}"
    );
}
