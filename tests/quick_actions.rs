//! Quick actions that ask first: when the element waiting for a message
//! declares a form (`camunda:formData` or a form-js `camunda:formRef`), the
//! request view offers that form with the action, and a message sent to the
//! instance is checked against it on the server — the field and the reason
//! named, nothing delivered — before it is correlated.

use serde_json::{json, Value};

mod common;

use common::server::{add_user, admin, start_server_with, Client};

fn action<'a>(request: &'a Value, message: &str) -> &'a Value {
    request["actions"]
        .as_array()
        .and_then(|l| l.iter().find(|a| a["message"] == message))
        .unwrap_or_else(|| panic!("no action {message} in {request}"))
}

fn open_tasks(client: &Client, id: &str) -> Vec<String> {
    let (_, r) = client.call("GET", &format!("/api/requests/{id}"), None);
    r["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .filter_map(|t| t["elementId"].as_str().map(String::from))
        .collect()
}

#[test]
fn a_quick_action_with_a_form_is_checked_against_it_before_the_message_is_delivered() {
    let server = start_server_with("tests/fixtures/quick-action");
    let admin = admin(&server);
    let ann = Client::login(
        &server,
        "ann",
        &add_user(&admin, "ann", "staff", &["agents"]),
    );
    let grant = json!({ "key": "complaint", "permission": "act", "group": "agents" });
    let (s, b) = admin.call("POST", "/api/grants", Some(grant));
    assert!(s < 300, "{b}");
    let (s, started) = ann.call(
        "POST",
        "/api/process-definitions/complaint/start",
        Some(json!({ "businessKey": "C-77", "variables": { "subject": "Bill twice" } })),
    );
    assert_eq!(s, 201, "{started}");
    let id = started["id"].as_str().expect("id").to_string();

    // The request view offers each action with what it asks for.
    let (s, r) = ann.call("GET", &format!("/api/requests/{id}"), None);
    assert_eq!(s, 200, "{r}");
    let close = action(&r, "close-complaint");
    assert_eq!(close["label"], "Close with reason");
    let fields: Vec<&str> = close["form"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert_eq!(fields, ["closeReason", "closeNotes"], "{close}");
    let hold = action(&r, "hold-complaint");
    assert!(
        hold["form"]["formSchema"]
            .as_str()
            .is_some_and(|s| s.contains("holdReason")),
        "{hold}"
    );
    assert_eq!(hold["form"]["context"]["subject"], "Bill twice", "{hold}");
    assert_eq!(action(&r, "customer-called")["form"], Value::Null);

    // Refused: the field named, the request where it was.
    let send = |name: &str, variables: Value| {
        ann.call(
            "POST",
            "/api/messages",
            Some(json!({ "name": name, "processInstanceId": id, "variables": variables })),
        )
    };
    let (s, b) = send("close-complaint", json!({}));
    assert_eq!((s, b["field"].as_str()), (400, Some("closeReason")), "{b}");
    let (s, b) = send("close-complaint", json!({ "closeReason": "lost" }));
    assert_eq!((s, b["field"].as_str()), (400, Some("closeReason")), "{b}");
    let (s, b) = send(
        "close-complaint",
        json!({ "closeReason": "resolved", "closeNotes": "x".repeat(201) }),
    );
    assert_eq!((s, b["field"].as_str()), (400, Some("closeNotes")), "{b}");
    let (s, b) = send("hold-complaint", json!({ "holdReason": "" }));
    assert_eq!((s, b["field"].as_str()), (400, Some("holdReason")), "{b}");
    assert_eq!(open_tasks(&ann, &id), ["Task_Work"]);
    let (s, inst) = ann.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(s, 200, "{inst}");
    assert_eq!(inst["variables"]["subject"], "Bill twice", "{inst}");
    assert_eq!(inst["variables"].get("closeReason"), None, "{inst}");

    // Accepted: the non-interrupting hold runs beside the work, the close ends it.
    let (s, b) = send(
        "hold-complaint",
        json!({ "holdReason": "Waiting for the meter reading" }),
    );
    assert_eq!(
        (s, b["instanceId"].as_str()),
        (200, Some(id.as_str())),
        "{b}"
    );
    let (s, b) = send("customer-called", json!({}));
    assert_eq!(s, 200, "an action without a form asks nothing: {b}");
    let (s, b) = send(
        "close-complaint",
        json!({ "closeReason": "duplicate", "closeNotes": "Same as C-76" }),
    );
    assert_eq!(s, 200, "{b}");
    let (_, inst) = ann.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(inst["state"], "completed", "{inst}");
    let vars = &inst["variables"];
    assert_eq!(
        (
            &vars["closeReason"],
            &vars["closeNotes"],
            &vars["holdReason"]
        ),
        (
            &json!("duplicate"),
            &json!("Same as C-76"),
            &json!("Waiting for the meter reading")
        ),
        "{vars}"
    );
}
