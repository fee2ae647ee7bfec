//! Operations through the HTTP API against a real `millrace serve`: instance
//! modification (moving a token, refused instructions, who may) and a
//! version's heatmap checked against the instances the API lists.

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

fn active(c: &Client, id: &str) -> Value {
    let (s, b) = c.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(s, 200, "{b}");
    b["activeActivities"].clone()
}

fn modify(c: &Client, id: &str, body: Value) -> (u16, Value) {
    c.call(
        "POST",
        &format!("/api/process-instances/{id}/modification"),
        Some(body),
    )
}

#[test]
fn an_operator_moves_a_token_and_the_trail_says_who_and_why() {
    let server = start_server();
    let admin = admin(&server);
    let password = add_user(&admin, "bea", "staff", &["billing-specialists"]);
    let bea = Client::login(&server, "bea", &password);
    let id = start_approval(&bea, "MOD-1");
    assert_eq!(active(&admin, &id), json!(["Task_Review"]));

    // Staff may read the instance but not operate it: 403, and nothing moves.
    let (s, b) = modify(
        &bea,
        &id,
        json!({ "instructions": [{ "type": "cancel", "activityId": "Task_Review" }] }),
    );
    assert_eq!(s, 403, "{b}");
    assert_eq!(active(&admin, &id), json!(["Task_Review"]));

    // A refused instruction says which and why, and changes nothing.
    let (s, b) = modify(
        &admin,
        &id,
        json!({ "instructions": [
            { "type": "cancel", "activityId": "Task_Review" },
            { "type": "startBeforeActivity", "activityId": "Task_Nowhere" }
        ] }),
    );
    assert_eq!(s, 422, "{b}");
    assert_eq!(
        b["reason"],
        "the modification is refused: instruction 2 (Task_Nowhere): the process has no such element"
    );
    assert_eq!(active(&admin, &id), json!(["Task_Review"]));
    let (s, b) = modify(
        &admin,
        &id,
        json!({ "instructions": [{ "type": "teleport", "activityId": "End" }] }),
    );
    assert_eq!(s, 422, "{b}");
    assert!(
        b["reason"]
            .as_str()
            .is_some_and(|r| r.contains("`teleport`")),
        "an unknown instruction type is named: {b}"
    );
    let (s, b) = modify(&admin, &id, json!({ "instructions": [] }));
    assert_eq!((s, b["field"].as_str()), (400, Some("instructions")), "{b}");

    // The move: the review is skipped, the payment is awaited.
    let (s, b) = modify(
        &admin,
        &id,
        json!({ "instructions": [
            { "type": "cancel", "activityId": "Task_Review" },
            { "type": "startBeforeActivity", "activityId": "Wait_Payment" }
        ], "annotation": "reviewed by phone" }),
    );
    assert_eq!(s, 204, "{b}");
    assert_eq!(active(&admin, &id), json!(["Wait_Payment"]));
    let (s, tasks) = bea.call("GET", &format!("/api/tasks?instanceId={id}"), None);
    assert_eq!((s, tasks), (200, json!([])), "the review task is gone");
    let (_, h) = admin.call("GET", &format!("/api/process-instances/{id}/history"), None);
    let by_admin = |event: &str, node: &str| {
        h.as_array()
            .expect("history")
            .iter()
            .any(|e| e["event"] == event && e["node"] == node && e["actor"] == "admin")
    };
    assert!(by_admin("activityCancelled", "Task_Review"), "{h}");
    assert!(by_admin("activityStarted", "Wait_Payment"), "{h}");
    let (_, audit) = admin.call("GET", "/api/audit?action=instance.modify", None);
    let entry = audit
        .as_array()
        .and_then(|a| a.iter().find(|e| e["outcome"] == "ok"))
        .unwrap_or_else(|| panic!("an audited modification: {audit}"));
    assert!(
        entry.to_string().contains("reviewed by phone"),
        "the annotation is kept: {entry}"
    );

    let (s, b) = admin.call("GET", "/api/audit?action=instance.modify&actor=bea", None);
    assert_eq!(s, 200, "{b}");
    assert!(
        b.as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|e| e["outcome"] == "denied")),
        "bea's attempt is audited as denied: {b}"
    );
    let (s, bytes, kind) =
        admin.get_bytes("/api/audit?action=instance.modify&outcome=ok&format=csv");
    assert_eq!((s, kind.as_str()), (200, "text/csv; charset=utf-8"));
    let text = String::from_utf8(bytes).expect("UTF-8");
    assert!(
        text.starts_with("at,actor,action,target,outcome,detail\n"),
        "{text}"
    );
    assert!(
        text.contains("instance.modify") && text.contains("reviewed by phone"),
        "the CSV export: {text}"
    );
    let (s, b) = admin.call("GET", "/api/audit?limit=0", None);
    assert_eq!((s, b["field"].as_str()), (400, Some("limit")), "{b}");
    let (s, b) = bea.call("GET", "/api/audit", None);
    assert_eq!(s, 403, "only administrators read the audit: {b}");
    let (s, b) = admin.call(
        "POST",
        "/api/users",
        Some(json!({ "name": "admin", "role": "staff" })),
    );
    assert_eq!(s, 409, "an administrator cannot demote themselves: {b}");

    // The instance goes on from where the token was put.
    let (s, b) = admin.call(
        "POST",
        "/api/messages",
        Some(json!({ "name": "PaymentReceived", "businessKey": "MOD-1" })),
    );
    assert_eq!(s, 200, "{b}");
    let (_, b) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(b["state"], "completed");

    // An ended instance cannot be modified.
    let (s, _) = modify(
        &admin,
        &id,
        json!({ "instructions": [{ "type": "startBeforeActivity", "activityId": "Task_Review" }] }),
    );
    assert_eq!(s, 409);
}

#[test]
fn the_heatmap_counts_what_the_instances_show() {
    let server = start_server();
    let admin = admin(&server);
    let password = add_user(&admin, "bea", "staff", &["billing-specialists"]);
    let bea = Client::login(&server, "bea", &password);
    let ids: Vec<String> = (1..=3)
        .map(|n| start_approval(&bea, &format!("HEAT-{n}")))
        .collect();
    for id in &ids[..2] {
        let (_, tasks) = bea.call("GET", &format!("/api/tasks?instanceId={id}"), None);
        let task = tasks[0]["id"].as_str().expect("a review task");
        let (s, b) = bea.call(
            "POST",
            &format!("/api/tasks/{task}/complete"),
            Some(json!({ "variables": { "amount": 120, "decision": "approve" } })),
        );
        assert_eq!(s, 200, "{b}");
    }
    // One of those is paid and ends.
    let (s, b) = admin.call(
        "POST",
        "/api/messages",
        Some(json!({ "name": "PaymentReceived", "businessKey": "HEAT-1" })),
    );
    assert_eq!(s, 200, "{b}");

    // What the API lists, element by element, is what the heatmap counts now.
    let mut now = std::collections::BTreeMap::<String, i64>::new();
    for id in &ids {
        for a in active(&admin, id).as_array().expect("active list") {
            *now.entry(a.as_str().expect("id").to_string()).or_default() += 1;
        }
    }
    assert_eq!(
        now,
        [
            ("Task_Review".to_string(), 1),
            ("Wait_Payment".to_string(), 1)
        ]
        .into()
    );
    let (s, map) = admin.call(
        "GET",
        "/api/process-definitions/approval/versions/1/heatmap",
        None,
    );
    assert_eq!(s, 200, "{map}");
    let element = |id: &str| {
        map["elements"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["id"] == id).cloned())
            .unwrap_or(Value::Null)
    };
    for (id, n) in &now {
        assert_eq!(element(id)["now"], json!(n), "{id}: {map}");
    }
    assert_eq!(element("Start")["now"], json!(0), "{map}");
    assert_eq!(element("Task_Review")["completed"], json!(2), "{map}");
    assert!(
        element("Task_Review")["medianSeconds"].is_number(),
        "how long the reviews took: {map}"
    );
    assert_eq!(element("End")["completed"], json!(1), "{map}");
    let taken = |flow: &str| {
        map["flows"]
            .as_array()
            .and_then(|f| f.iter().find(|f| f["id"] == flow))
            .map(|f| f["taken"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        (taken("F1"), taken("F2"), taken("F3")),
        (json!(3), json!(2), json!(1)),
        "{map}"
    );

    // Instances and tasks are found by a variable's value (decimals in their shortest form).
    let (s, found) = admin.call(
        "GET",
        "/api/process-instances?variableName=fee&variableValue=12.5&state=active",
        None,
    );
    assert_eq!(s, 200, "{found}");
    assert_eq!(found.as_array().map(Vec::len), Some(2), "{found}");
    let (s, tasks) = bea.call(
        "GET",
        "/api/tasks?variableName=fee&variableValue=12.5",
        None,
    );
    assert_eq!(s, 200, "{tasks}");
    assert_eq!(
        tasks.as_array().map(Vec::len),
        Some(1),
        "the one review left: {tasks}"
    );
    let (s, b) = admin.call("GET", "/api/process-instances?variableName=fee", None);
    assert_eq!(
        (s, b["field"].as_str()),
        (400, Some("variableValue")),
        "{b}"
    );

    // The process's dashboard counts the same instances, by day and by group.
    let (s, dash) = admin.call("GET", "/api/process-definitions/approval/dashboard", None);
    assert_eq!(s, 200, "{dash}");
    let days = dash["days"].as_array().expect("days");
    assert_eq!(days.len(), 30, "the last 30 days by default: {dash}");
    let sum = |field: &str| {
        days.iter()
            .map(|d| d[field].as_i64().unwrap_or(0))
            .sum::<i64>()
    };
    assert_eq!((sum("started"), sum("completed")), (3, 1), "{dash}");
    assert_eq!(dash["completed"], json!(1));
    assert_eq!(
        (&dash["groups"][0]["group"], &dash["groups"][0]["open"]),
        (&json!("billing-specialists"), &json!(1)),
        "{dash}"
    );
    assert!(dash["groups"][0]["oldestHours"].is_number(), "{dash}");
    let buckets: i64 = dash["durations"]
        .as_array()
        .expect("durations")
        .iter()
        .map(|b| b["count"].as_i64().unwrap_or(0))
        .sum();
    assert_eq!(buckets, 1, "{dash}");
    let (s, b) = admin.call(
        "GET",
        "/api/process-definitions/approval/dashboard?from=2020-01-01&to=2026-01-01",
        None,
    );
    assert_eq!(
        (s, b["field"].as_str()),
        (400, Some("from")),
        "over a year: {b}"
    );

    // A period with nothing in it has no flows; a bad day is refused by name.
    let (s, old) = admin.call(
        "GET",
        "/api/process-definitions/approval/versions/1/heatmap?from=2020-01-01&to=2020-01-31",
        None,
    );
    assert_eq!(s, 200, "{old}");
    assert_eq!(old["flows"], json!([]), "{old}");
    let (s, b) = admin.call(
        "GET",
        "/api/process-definitions/approval/versions/1/heatmap?from=yesterday",
        None,
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("from")), "{b}");
    let (s, _) = admin.call(
        "GET",
        "/api/process-definitions/approval/versions/9/heatmap",
        None,
    );
    assert_eq!(s, 404, "no such version");
}

/// A two-step line; version 2 adds a review after A and renames B to B2.
fn line(version: u8) -> String {
    let steps = if version == 1 {
        r#"<userTask id="A" name="Check" camunda:assignee="admin"/><userTask id="B" name="Approve" camunda:assignee="admin"/>
<sequenceFlow id="f2" sourceRef="A" targetRef="B"/><sequenceFlow id="f3" sourceRef="B" targetRef="E"/>"#
    } else {
        r#"<userTask id="A" name="Check" camunda:assignee="admin"/><userTask id="R" name="Review" camunda:assignee="admin"/><userTask id="B2" name="Approve" camunda:assignee="admin"/>
<sequenceFlow id="f2" sourceRef="A" targetRef="R"/><sequenceFlow id="f2r" sourceRef="R" targetRef="B2"/><sequenceFlow id="f3" sourceRef="B2" targetRef="E"/>"#
    };
    format!(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
<process id="migrating" isExecutable="true"><startEvent id="S"/>{steps}<endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="A"/></process></definitions>"#
    )
}

fn deploy_line(admin: &Client, version: u8) {
    let (s, b) = admin.call(
        "POST",
        "/api/deployments",
        Some(json!({ "name": "migrating", "files": [{ "name": "migrating.bpmn", "content": line(version) }] })),
    );
    assert_eq!(s, 201, "{b}");
}

fn complete_open_task(c: &Client, id: &str) {
    let (_, tasks) = c.call("GET", &format!("/api/tasks?instanceId={id}"), None);
    let task = tasks[0]["id"].as_str().expect("an open task");
    let (s, b) = c.call(
        "POST",
        &format!("/api/tasks/{task}/complete"),
        Some(json!({ "variables": {} })),
    );
    assert_eq!(s, 200, "{b}");
}

/// Polls a batch until it is no longer running.
fn finished(admin: &Client, batch: &str) -> Value {
    for _ in 0..300 {
        let (s, b) = admin.call("GET", &format!("/api/batches/{batch}"), None);
        assert_eq!(s, 200, "{b}");
        if b["batch"]["state"] != "running" {
            return b;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("batch {batch} still runs after 30 s");
}

#[test]
fn running_instances_migrate_in_a_batch_one_refused_with_its_reason() {
    let server = start_server();
    let admin = admin(&server);
    let password = add_user(&admin, "mo", "staff", &["billing-specialists"]);
    let mo = Client::login(&server, "mo", &password);
    deploy_line(&admin, 1);
    let start = || {
        let (s, b) = admin.call(
            "POST",
            "/api/process-definitions/migrating/start",
            Some(json!({})),
        );
        assert_eq!(s, 201, "{b}");
        b["id"].as_str().expect("id").to_string()
    };
    let (a1, a2, at_b) = (start(), start(), start());
    complete_open_task(&admin, &at_b);
    assert_eq!(active(&admin, &at_b), json!(["B"]));
    deploy_line(&admin, 2);

    let plan = json!({ "processKey": "migrating", "fromVersion": 1, "toVersion": 2 });
    let (s, preview) = admin.call("POST", "/api/migrations/preview", Some(plan.clone()));
    assert_eq!(s, 200, "{preview}");
    assert_eq!(
        (preview["movable"].as_i64(), preview["refused"].as_i64()),
        (Some(2), Some(1)),
        "{preview}"
    );
    assert_eq!(
        preview["mapping"],
        json!({ "A": "A" }),
        "B has no counterpart by id: {preview}"
    );
    let refused = &preview["instances"][0];
    assert_eq!(
        refused["id"],
        at_b.as_str(),
        "refused ones come first: {preview}"
    );
    assert!(
        refused["refusal"]
            .as_str()
            .is_some_and(|r| r.contains("B (Approve)") && r.contains("version 2 does not have")),
        "{refused}"
    );
    let counts: Vec<(String, i64)> = preview["sourceElements"]
        .as_array()
        .expect("elements")
        .iter()
        .filter(|e| e["instances"].as_i64() > Some(0))
        .map(|e| {
            (
                e["id"].as_str().unwrap_or_default().to_string(),
                e["instances"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(counts, [("A".to_string(), 2), ("B".to_string(), 1)]);
    // Mapped by hand, all three could move.
    let mut mapped = plan.clone();
    mapped["mapping"] = json!({ "B": "B2" });
    let (_, preview) = admin.call("POST", "/api/migrations/preview", Some(mapped));
    assert_eq!(preview["movable"].as_i64(), Some(3), "{preview}");

    // Refused, naming why, and nothing starts: staff, a mapping to nothing, the same version.
    let (s, _) = mo.call("POST", "/api/migrations", Some(plan.clone()));
    assert_eq!(s, 403);
    let mut bad = plan.clone();
    bad["mapping"] = json!({ "B": "Nowhere" });
    let (s, b) = admin.call("POST", "/api/migrations", Some(bad));
    assert_eq!((s, b["field"].as_str()), (400, Some("mapping")), "{b}");
    assert!(
        b["reason"].as_str().is_some_and(|r| r.contains("Nowhere")),
        "{b}"
    );
    let mut same = plan.clone();
    same["toVersion"] = json!(1);
    let (s, b) = admin.call("POST", "/api/migrations", Some(same));
    assert_eq!((s, b["field"].as_str()), (400, Some("toVersion")), "{b}");
    let (_, batches) = admin.call("GET", "/api/batches", None);
    assert_eq!(batches, json!([]), "no refused request made a batch");

    let (s, created) = admin.call("POST", "/api/migrations", Some(plan));
    assert_eq!(s, 201, "{created}");
    assert_eq!(
        (created["kind"].as_str(), created["total"].as_i64()),
        (Some("migrate"), Some(3)),
        "{created}"
    );
    let batch = created["id"].as_str().expect("batch id");
    let done = finished(&admin, batch);
    assert_eq!(done["batch"]["state"], "done", "{done}");
    assert_eq!(
        (
            done["batch"]["done"].as_i64(),
            done["batch"]["failed"].as_i64(),
            done["batch"]["pending"].as_i64()
        ),
        (Some(2), Some(1), Some(0)),
        "{done}"
    );
    let (_, failed) = admin.call("GET", &format!("/api/batches/{batch}?state=failed"), None);
    let items = failed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{failed}");
    assert_eq!(items[0]["target"], at_b.as_str());
    assert!(
        items[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("B (Approve)")),
        "{failed}"
    );

    // The migrated instances run version 2 and go on by its flows; the refused one is untouched.
    for id in [&a1, &a2] {
        let (_, inst) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
        assert_eq!(inst["version"], 2, "{inst}");
    }
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{at_b}"), None);
    assert_eq!(
        (inst["version"].as_i64(), &inst["activeActivities"]),
        (Some(1), &json!(["B"])),
        "{inst}"
    );
    complete_open_task(&admin, &a1);
    assert_eq!(
        active(&admin, &a1),
        json!(["R"]),
        "version 2's review comes next"
    );
    let (_, history) = admin.call("GET", &format!("/api/process-instances/{a1}/history"), None);
    assert!(
        history
            .as_array()
            .expect("history")
            .iter()
            .any(|h| h["event"] == "instanceMigrated"),
        "{history}"
    );
    let (_, audit) = admin.call("GET", "/api/audit?action=instance.migrate", None);
    let audited: Vec<&str> = audit
        .as_array()
        .expect("audit")
        .iter()
        .filter_map(|a| a["target"].as_str())
        .collect();
    assert!(
        audited.contains(&a1.as_str())
            && audited.contains(&a2.as_str())
            && !audited.contains(&at_b.as_str()),
        "{audit}"
    );

    // A finished batch cannot be stopped; the one left over is cancelled in a batch of its own.
    let (s, _) = admin.call("POST", &format!("/api/batches/{batch}/stop"), None);
    assert_eq!(s, 409);
    let (s, _) = mo.call(
        "POST",
        "/api/batches",
        Some(json!({ "kind": "cancel", "targets": [at_b] })),
    );
    assert_eq!(s, 403);
    let (s, b) = admin.call(
        "POST",
        "/api/batches",
        Some(json!({ "kind": "erase", "targets": [at_b] })),
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("kind")), "{b}");
    let (s, created) = admin.call(
        "POST",
        "/api/batches",
        Some(json!({ "kind": "cancel", "targets": [at_b, "no-such-instance"], "reason": "left on version 1" })),
    );
    assert_eq!(s, 201, "{created}");
    let done = finished(&admin, created["id"].as_str().expect("id"));
    assert_eq!(
        (
            done["batch"]["done"].as_i64(),
            done["batch"]["failed"].as_i64()
        ),
        (Some(1), Some(1)),
        "{done}"
    );
    assert!(
        done["items"][1]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no-such-instance")),
        "{done}"
    );
    let (_, inst) = admin.call("GET", &format!("/api/process-instances/{at_b}"), None);
    assert_eq!(inst["state"], "terminated");
}
