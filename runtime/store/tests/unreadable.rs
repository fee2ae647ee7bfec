//! An instance whose stored document cannot be read (written by an older
//! version, or damaged on disk): reading it says so and opens an incident
//! with the reason, its jobs stop retrying, and its administrator can end it.

use chrono::{DateTime, Utc};
use millrace_engine::Variables;

mod common;

const BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">
<process id="p" isExecutable="true">
  <startEvent id="s"/>
  <userTask id="t"/>
  <boundaryEvent id="late" attachedToRef="t"><timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition></boundaryEvent>
  <endEvent id="e"/>
  <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
  <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  <sequenceFlow id="f3" sourceRef="late" targetRef="e"/>
</process></definitions>"#;

#[tokio::test]
async fn an_unreadable_instance_is_an_incident_not_a_failure_loop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::database(dir.path(), "u").await;
    let store =
        millrace_store::Store::open(&url, std::sync::Arc::new(millrace_script::RhaiLanguage))
            .await
            .expect("opens");
    let t0: DateTime<Utc> = "2024-12-10T09:00:00Z".parse().expect("time");
    common::deploy(&store, BPMN, t0).await;
    let mut unit = store.begin(t0, Some("ana")).await.expect("begins");
    let id = unit
        .start("p", Variables::new(), None, None)
        .await
        .expect("starts");
    unit.commit().await.expect("commits");

    // 200 levels of nesting: more than the document reader takes.
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    {
        use sqlx::Connection;
        // The store takes a bare path for SQLite; a connection needs the URL form.
        let raw_url = if url.starts_with("postgres") {
            url.clone()
        } else {
            format!("sqlite://{url}")
        };
        let mut raw = sqlx::AnyConnection::connect(&raw_url)
            .await
            .expect("connects");
        sqlx::query("UPDATE instances SET body = $1 WHERE id = $2")
            .bind(&deep)
            .bind(&id)
            .execute(&mut raw)
            .await
            .expect("damages the document");
        raw.close().await.expect("closes");
    }

    let err = store.instance(&id).await.expect_err("unreadable");
    assert!(
        matches!(err, millrace_store::StoreError::Corrupt(..)),
        "{err}"
    );
    let incidents = store.incidents(Some(&id), 10).await.expect("incidents");
    assert_eq!(incidents.len(), 1, "{incidents:?}");
    assert!(
        incidents[0].message.contains("cannot be read"),
        "{incidents:?}"
    );

    // The timer job fails once and is not retried into a loop.
    let ran = store
        .run_due_jobs("w", t0 + chrono::Duration::hours(2), 10)
        .await
        .expect("the worker carries on");
    assert!(ran <= 1);
    assert_eq!(
        store
            .run_due_jobs("w", t0 + chrono::Duration::hours(30), 10)
            .await
            .expect("the worker carries on"),
        0,
        "nothing is retried"
    );

    assert!(store
        .terminate_unreadable(&id, "admin", "damaged", t0)
        .await
        .expect("ends"));
    assert!(store
        .incidents(Some(&id), 10)
        .await
        .expect("incidents")
        .is_empty());
    assert!(store.task_ids_of(&id).await.expect("tasks").is_empty());
}
