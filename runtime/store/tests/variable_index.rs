//! The variable index: instances and tasks found by a process variable's
//! value, as it stands after each step (changed, removed, never stale).

use chrono::{DateTime, Utc};
use millrace_engine::{Command, Value, Variables};
use millrace_store::{GrantedKeys, InstanceSearch, Reader, Store, TaskFilter};

mod common;

const BPMN: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
<process id="p" isExecutable="true">
  <startEvent id="S"/>
  <userTask id="Check" camunda:candidateGroups="clerks"/>
  <sequenceFlow id="f1" sourceRef="S" targetRef="Check"/>
</process></definitions>"#;

fn t0() -> DateTime<Utc> {
    "2026-12-01T10:00:00Z".parse().expect("time")
}

async fn start(store: &Store, account: &str, owed: &str) -> String {
    let mut unit = store.begin(t0(), Some("clerk")).await.expect("unit");
    let vars: Variables = [
        ("accountNumber".to_string(), Value::String(account.into())),
        (
            "outstanding".to_string(),
            Value::Decimal(owed.parse().expect("decimal")),
        ),
        ("vip".to_string(), Value::Bool(false)),
        ("notes".to_string(), Value::List(vec![])),
    ]
    .into_iter()
    .collect();
    let id = unit.start("p", vars, None, None).await.expect("starts");
    unit.commit().await.expect("commits");
    id
}

async fn instances(store: &Store, name: &str, value: &str) -> Vec<String> {
    let every = GrantedKeys::every();
    let reader = Reader {
        user: "admin",
        groups: &[],
        keys: &every,
    };
    let search = InstanceSearch {
        variable: Some((name, value)),
        ..InstanceSearch::default()
    };
    let mut ids: Vec<String> = store
        .list_instances(&reader, &search, 50, 0)
        .await
        .expect("lists")
        .into_iter()
        .map(|i| i.id)
        .collect();
    ids.sort();
    ids
}

async fn tasks(store: &Store, name: &str, value: &str) -> Vec<String> {
    let filter = TaskFilter {
        variable: Some((name.to_string(), value.to_string())),
        ..TaskFilter::default()
    };
    store
        .inbox("clerk", &["clerks".to_string()], &filter, 50, 0)
        .await
        .expect("inbox")
        .into_iter()
        .map(|t| t.instance_id)
        .collect()
}

#[tokio::test]
async fn instances_and_tasks_are_found_by_a_variables_value_as_it_stands() {
    let dir = tempfile::tempdir().expect("dir");
    let store = common::store(dir.path(), "variable_index").await;
    common::deploy(&store, BPMN, t0()).await;
    let smith = start(&store, "ACC-2024-001789", "456.780").await;
    let jones = start(&store, "ACC-2024-002000", "0").await;

    assert_eq!(
        instances(&store, "accountNumber", "ACC-2024-001789").await,
        std::slice::from_ref(&smith)
    );
    assert_eq!(
        tasks(&store, "accountNumber", "ACC-2024-001789").await,
        std::slice::from_ref(&smith)
    );
    assert_eq!(
        instances(&store, "outstanding", "456.78").await,
        std::slice::from_ref(&smith),
        "decimals in their shortest form"
    );
    let mut both = vec![smith.clone(), jones.clone()];
    both.sort();
    assert_eq!(instances(&store, "vip", "false").await, both);
    assert!(
        instances(&store, "accountNumber", "ACC-2024")
            .await
            .is_empty(),
        "exact values only"
    );
    assert!(
        instances(&store, "notes", "[]").await.is_empty(),
        "lists are not indexed"
    );

    // A change is found at once, and the old value no longer is.
    let mut unit = store.begin(t0(), Some("clerk")).await.expect("unit");
    unit.command(
        &jones,
        Command::SetVariables {
            variables: [
                (
                    "accountNumber".to_string(),
                    Value::String("ACC-2024-009999".into()),
                ),
                ("vip".to_string(), Value::Null),
            ]
            .into_iter()
            .collect(),
        },
    )
    .await
    .expect("sets");
    unit.commit().await.expect("commits");
    assert!(instances(&store, "accountNumber", "ACC-2024-002000")
        .await
        .is_empty());
    assert_eq!(
        instances(&store, "accountNumber", "ACC-2024-009999").await,
        std::slice::from_ref(&jones)
    );
    assert_eq!(
        instances(&store, "vip", "false").await,
        std::slice::from_ref(&smith),
        "a null is not indexed"
    );
    assert_eq!(
        tasks(&store, "accountNumber", "ACC-2024-009999").await,
        [jones]
    );
}
