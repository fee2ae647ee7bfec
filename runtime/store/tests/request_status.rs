//! What the inbox shows of a request: the instance's business key or else its
//! process-level `requestId` variable, and its `status` variable, as they
//! stand after each step, on every task of the instance.

use chrono::{DateTime, Utc};
use millrace_engine::{Value, Variables};
use millrace_store::{Store, TaskFilter};

mod common;

const BPMN: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
<process id="p" isExecutable="true">
  <startEvent id="S"/>
  <scriptTask id="Open" scriptFormat="rhai"><script>let requestId = "SR-2026-000001"; let status = "Application Fee Generated";</script></scriptTask>
  <userTask id="Pay" camunda:candidateGroups="clerks"/>
  <scriptTask id="Move" scriptFormat="rhai"><script>let status = "Inspection Initiated";</script></scriptTask>
  <userTask id="Inspect" camunda:candidateGroups="clerks"/>
  <sequenceFlow id="f1" sourceRef="S" targetRef="Open"/>
  <sequenceFlow id="f2" sourceRef="Open" targetRef="Pay"/>
  <sequenceFlow id="f3" sourceRef="Pay" targetRef="Move"/>
  <sequenceFlow id="f4" sourceRef="Move" targetRef="Inspect"/>
</process></definitions>"#;

fn t0() -> DateTime<Utc> {
    "2026-12-01T10:00:00Z".parse().expect("time")
}

async fn inbox(store: &Store) -> Vec<(String, Option<String>, Option<String>)> {
    let filter = TaskFilter {
        process_key: Some("p".into()),
        ..TaskFilter::default()
    };
    let mut rows: Vec<_> = store
        .inbox("clerk", &["clerks".to_string()], &filter, 50, 0)
        .await
        .expect("inbox")
        .into_iter()
        .map(|t| (t.node_id, t.request, t.status))
        .collect();
    rows.sort();
    rows
}

async fn start(store: &Store, business_key: Option<&str>) -> String {
    let mut unit = store.begin(t0(), Some("clerk")).await.expect("unit");
    let id = unit
        .start(
            "p",
            Variables::new(),
            business_key.map(str::to_string),
            None,
        )
        .await
        .expect("starts");
    unit.commit().await.expect("commits");
    id
}

#[tokio::test]
async fn the_inbox_shows_each_tasks_request_and_its_current_status() {
    let dir = tempfile::tempdir().expect("dir");
    let store = common::store(dir.path(), "request_status").await;
    common::deploy(&store, BPMN, t0()).await;
    let plain = start(&store, None).await;
    start(&store, Some("CASE-7")).await;
    assert_eq!(
        inbox(&store).await,
        [
            (
                "Pay".to_string(),
                Some("CASE-7".to_string()),
                Some("Application Fee Generated".to_string())
            ),
            (
                "Pay".to_string(),
                Some("SR-2026-000001".to_string()),
                Some("Application Fee Generated".to_string())
            ),
        ]
    );
    let pay = store
        .inbox(
            "clerk",
            &["clerks".to_string()],
            &TaskFilter {
                instance_id: Some(plain.clone()),
                ..TaskFilter::default()
            },
            10,
            0,
        )
        .await
        .expect("inbox")
        .remove(0);
    let mut unit = store.begin(t0(), Some("clerk")).await.expect("unit");
    unit.complete_task(&pay.id, Variables::new())
        .await
        .expect("completes");
    unit.commit().await.expect("commits");
    let moved = store
        .task(&inbox_task(&store, &plain).await)
        .await
        .expect("task");
    assert_eq!(moved.node_id, "Inspect");
    assert_eq!(moved.request.as_deref(), Some("SR-2026-000001"));
    assert_eq!(moved.status.as_deref(), Some("Inspection Initiated"));
    // The inbox finds tasks by their request's number and status, in any case.
    let found = |request: Option<&str>, status: Option<&str>| {
        let filter = TaskFilter {
            request: request.map(str::to_string),
            status: status.map(str::to_string),
            ..TaskFilter::default()
        };
        let store = &store;
        async move {
            let mut nodes: Vec<String> = store
                .inbox("clerk", &["clerks".to_string()], &filter, 50, 0)
                .await
                .expect("inbox")
                .into_iter()
                .map(|t| format!("{}:{}", t.request.unwrap_or_default(), t.node_id))
                .collect();
            nodes.sort();
            nodes
        }
    };
    assert_eq!(
        found(Some("sr-2026"), None).await,
        ["SR-2026-000001:Inspect"]
    );
    assert_eq!(found(Some("case"), None).await, ["CASE-7:Pay"]);
    assert_eq!(found(None, Some("fee generated")).await, ["CASE-7:Pay"]);
    assert_eq!(
        found(Some("SR"), Some("inspection")).await,
        ["SR-2026-000001:Inspect"]
    );
    assert!(found(Some("nothing-like-it"), None).await.is_empty());
    // A status that is not text is not shown as one.
    let mut unit = store.begin(t0(), Some("clerk")).await.expect("unit");
    unit.command(
        &plain,
        millrace_engine::Command::SetVariables {
            variables: [("status".to_string(), Value::Int(3))]
                .into_iter()
                .collect(),
        },
    )
    .await
    .expect("sets");
    unit.commit().await.expect("commits");
    let moved = store
        .task(&inbox_task(&store, &plain).await)
        .await
        .expect("task");
    assert_eq!(moved.status, None);
}

async fn inbox_task(store: &Store, instance: &str) -> String {
    store
        .inbox(
            "clerk",
            &["clerks".to_string()],
            &TaskFilter {
                instance_id: Some(instance.to_string()),
                ..TaskFilter::default()
            },
            10,
            0,
        )
        .await
        .expect("inbox")
        .remove(0)
        .id
}
