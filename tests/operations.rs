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
