//! The support-inquiry process (seeds 001 and 003) through the HTTP API, as
//! its users work it: an agent takes a call about an outage on a case left
//! without an update for days (the owner tagged, O&M mailed through a real
//! SMTP server), and a reactivation after a payment goes from the agent to
//! Account Servicing, Back Office and O&M until the case is closed; the
//! cases and the case feed are checked afterwards.

mod common;

use common::server::Client;
use common::walk::{complete, named_rows, task_at, Office};
use serde_json::{json, Value};

fn inquiry(agent: &Client, contract: &str, concern: &str) -> String {
    let (s, b) = agent.call(
        "POST",
        "/api/process-definitions/support-inquiry/start",
        Some(json!({ "variables": {
            "channel": "phone", "contractId": contract, "concern": concern,
            "description": "Homeowner calls about their system"
        } })),
    );
    assert_eq!(s, 201, "{b}");
    b["id"].as_str().expect("instance id").to_string()
}

#[test]
fn agents_and_back_office_work_an_escalation_and_a_reactivation_to_the_closed_case() {
    let office = Office::open();
    let admin = &office.admin;
    let amy = office.staff("amy.agent", &["support-agents"]);
    let ravi = office.staff("ravi.accounts", &["account-servicing"]);
    let bo = office.staff("bo.clerk", &["back-office"]);
    let om = office.staff("om.tech", &["o-and-m"]);
    let ana = office.staff("ana.crep", &["call-centre-representatives"]);

    // The start form is offered to agents.
    let (s, forms) = amy.call("GET", "/api/start-forms", None);
    assert_eq!(s, 200);
    assert!(forms.to_string().contains("support-inquiry"), "{forms}");

    // An outage on C-1004, whose open case has had no update since 23 November.
    let first = inquiry(&amy, "C-1004", "outage");
    let next = task_at(&amy, &first, "Task_GiveUpdate");
    let (_, form) = amy.call(
        "GET",
        &format!("/api/tasks/{}/form", next["id"].as_str().expect("id")),
        None,
    );
    assert_eq!(
        form["context"]["openCase"]["case_id"], "CASE-2026-000087",
        "{form}"
    );
    let disposition = complete(&amy, &next, json!({}));
    assert_eq!(disposition["elementId"], "Task_Disposition");
    // The server checks the form: notes are required.
    let id = disposition["id"].as_str().expect("id");
    let (s, refused) = amy.call(
        "POST",
        &format!("/api/tasks/{id}/complete"),
        Some(json!({ "variables": {} })),
    );
    assert_eq!(
        (s, refused["field"].as_str()),
        (400, Some("dispositionNotes"))
    );
    complete(
        &amy,
        &disposition,
        json!({ "dispositionNotes": "Owner tagged; they will call back" }),
    );
    let (_, inst) = amy.call("GET", &format!("/api/process-instances/{first}"), None);
    assert_eq!(inst["state"], "completed", "{inst}");

    // A reactivation on C-1001, paid well over 10 business days ago.
    let second = inquiry(&amy, "C-1001", "reactivation");
    let ask = task_at(&amy, &second, "Task_AskPayment");
    let paid = (chrono::Utc::now() - chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let transfer = complete(&amy, &ask, json!({ "paymentDate": paid }));
    // A warm transfer: the next step is Account Servicing's, not the agent's.
    assert_eq!(transfer, Value::Null, "{transfer}");
    let transfer = task_at(&ravi, &second, "Task_WarmTransfer");
    let give = complete(&ravi, &transfer, json!({ "paymentProof": "ACH-7781-2231" }));
    assert_eq!(give["elementId"], "Task_ProvideCaseNumber", "{give}");
    complete(
        &ravi,
        &give,
        json!({ "dispositionNotes": "Case number given; Back Office to verify" }),
    );
    // The called process's tasks, for Back Office, O&M and the call centre.
    let year = chrono::Utc::now().format("%Y").to_string();
    let case_id = format!("CASE-{year}-000101");
    let (_, children) = admin.call(
        "GET",
        &format!("/api/process-instances?businessKey={case_id}"),
        None,
    );
    let child = children
        .as_array()
        .and_then(|l| l.first())
        .and_then(|c| c["id"].as_str())
        .unwrap_or_else(|| panic!("a reactivation instance for {case_id}: {children}"))
        .to_string();
    complete(
        &bo,
        &task_at(&bo, &child, "Task_VerifyPayment"),
        json!({ "paymentReference": "ACH-7781-2231", "approved": true }),
    );
    complete(&om, &task_at(&om, &child, "Task_Reactivate"), json!({}));
    complete(&ana, &task_at(&ana, &child, "Task_CloseCase"), json!({}));
    common::walk::completed(admin, &second);

    // The cases and the case feed afterwards, through the process's own queries.
    common::walk::with_store(&office.server.db, async |store| {
        let q = |query: &'static str, contract: &'static str| {
            named_rows(
                store,
                "support-inquiry",
                query,
                json!({ "contractId": contract }),
            )
        };
        let feed = q("notes", "C-1004").await;
        let kinds: Vec<&str> = feed.iter().filter_map(|n| n["kind"].as_str()).collect();
        assert_eq!(kinds, ["tag", "disposition"], "{feed:?}");
        assert_eq!(feed[0]["case_id"], "CASE-2026-000087");
        assert_eq!(feed[1]["by_user"], "amy.agent");
        let cases = q("cases", "C-1001").await;
        assert_eq!(cases.len(), 1, "{cases:?}");
        assert_eq!(cases[0]["case_id"], case_id.as_str());
        assert_eq!(cases[0]["primary_reason"], "Billing/Payments/Collections");
        assert_eq!(cases[0]["owner"], "back-office");
        assert_eq!(cases[0]["status"], "Closed");
        assert_eq!(
            cases[0]["last_update"],
            "Payment verified; system reactivated by O&M"
        );
    });

    // The escalation reached O&M's mailbox.
    let mails = office.mails(1);
    let all = mails.join("\n----\n");
    assert!(
        all.contains("To: om-escalations@springfield-utility.example"),
        "{all}"
    );
    assert!(
        // (A long subject is folded onto a second header line.)
        all.contains("Subject: O&M escalation: case CASE-2026-000087 has had no update"),
        "{all}"
    );
}
