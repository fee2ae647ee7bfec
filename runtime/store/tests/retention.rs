//! History retention: ended instances past their process's
//! `camunda:historyTimeToLive` are removed with their history; running ones,
//! and those of processes without a time to live, are kept; the removal is
//! audited.

use chrono::{DateTime, Duration, Utc};
use millrace_engine::{Value, Variables};
use millrace_store::Store;

mod common;

const KEPT_A_DAY: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
<process id="short" isExecutable="true" camunda:historyTimeToLive="P1D">
  <startEvent id="S"/>
  <exclusiveGateway id="G" default="f3"/>
  <userTask id="Wait"/>
  <endEvent id="E"/>
  <sequenceFlow id="f1" sourceRef="S" targetRef="G"/>
  <sequenceFlow id="f2" sourceRef="G" targetRef="Wait"><conditionExpression>wait</conditionExpression></sequenceFlow>
  <sequenceFlow id="f3" sourceRef="G" targetRef="E"/>
</process></definitions>"#;

const KEPT_FOR_EVER: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D2" targetNamespace="t">
<process id="forever" isExecutable="true"><startEvent id="S"/><endEvent id="E"/><sequenceFlow id="f" sourceRef="S" targetRef="E"/></process></definitions>"#;

fn t0() -> DateTime<Utc> {
    "2026-11-01T10:00:00Z".parse().expect("time")
}

async fn start(store: &Store, key: &str, wait: bool) -> String {
    let mut unit = store.begin(t0(), Some("clerk")).await.expect("unit");
    let vars: Variables = [
        ("wait".to_string(), Value::Bool(wait)),
        ("accountNumber".to_string(), Value::String("ACC-1".into())),
    ]
    .into_iter()
    .collect();
    let id = unit.start(key, vars, None, None).await.expect("starts");
    unit.commit().await.expect("commits");
    id
}

#[tokio::test]
async fn ended_instances_past_their_time_to_live_are_removed_and_nothing_else() {
    let dir = tempfile::tempdir().expect("dir");
    let store = common::store(dir.path(), "retention").await;
    common::deploy(&store, KEPT_A_DAY, t0()).await;
    common::deploy(&store, KEPT_FOR_EVER, t0()).await;
    let ended = start(&store, "short", false).await;
    let running = start(&store, "short", true).await;
    let forever = start(&store, "forever", false).await;
    assert_eq!(
        store.instance(&ended).await.expect("read").state.as_str(),
        "completed"
    );

    assert!(
        store
            .clean_history(t0() + Duration::hours(12))
            .await
            .expect("cleans")
            .is_empty(),
        "not a day yet"
    );
    let cleaned = store
        .clean_history(t0() + Duration::days(2))
        .await
        .expect("cleans");
    assert_eq!(cleaned.len(), 1, "{cleaned:?}");
    assert_eq!(
        (
            cleaned[0].key.as_str(),
            cleaned[0].version,
            cleaned[0].instances
        ),
        ("short", 1, 1)
    );

    assert!(matches!(
        store.instance(&ended).await,
        Err(millrace_store::StoreError::NotFound(..))
    ));
    assert!(store.history(&ended).await.expect("history").is_empty());
    assert!(
        !store.history(&running).await.expect("history").is_empty(),
        "a running instance keeps its history"
    );
    assert_eq!(
        store.instance(&running).await.expect("kept").state.as_str(),
        "active"
    );
    assert_eq!(
        store.instance(&forever).await.expect("kept").state.as_str(),
        "completed"
    );
    let audit = store.audit_log(10).await.expect("audit");
    assert!(
        audit.iter().any(|a| a.action == "history.cleanup"
            && a.target.as_deref() == Some("short v1")
            && a.detail
                .as_deref()
                .is_some_and(|d| d.contains("\"instances\":1"))),
        "{audit:?}"
    );
    assert!(
        store
            .clean_history(t0() + Duration::days(3))
            .await
            .expect("cleans")
            .is_empty(),
        "once only"
    );
}
