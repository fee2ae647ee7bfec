//! Jobs under leases, as several nodes share them: two stores on one
//! database (two nodes) claiming at once never hold the same job, and a
//! worker whose lease expired and was taken over cannot apply its late
//! result. Runs on SQLite, and on PostgreSQL when `MILLRACE_TEST_POSTGRES` is set.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use millrace_engine::Variables;
use millrace_store::{JobOutcome, Store};

mod common;

const BPMN: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
<process id="p" isExecutable="true"><startEvent id="S"/>
<scriptTask id="A" scriptFormat="rhai" camunda:asyncBefore="true"><script>let a = 1;</script></scriptTask>
<endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="A"/><sequenceFlow id="f2" sourceRef="A" targetRef="E"/></process></definitions>"#;

async fn deployed(store: &Store, now: DateTime<Utc>, instances: usize) -> Vec<String> {
    common::deploy(store, BPMN, now).await;
    let mut unit = store.begin(now, None).await.expect("begins");
    let mut ids = Vec::new();
    for _ in 0..instances {
        ids.push(
            unit.start("p", Variables::new(), None, None)
                .await
                .expect("starts"),
        );
    }
    unit.commit().await.expect("commits");
    ids
}

async fn completions(store: &Store, instance: &str) -> usize {
    store
        .history(instance)
        .await
        .expect("history")
        .iter()
        .filter(|h| h.event == "activityCompleted" && h.node_id.as_deref() == Some("A"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_claiming_at_once_never_hold_the_same_job() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = common::database(dir.path(), "claims").await;
    let (one, two) = (
        Store::open(&url, std::sync::Arc::new(millrace_script::RhaiLanguage))
            .await
            .expect("node one opens"),
        Store::open(&url, std::sync::Arc::new(millrace_script::RhaiLanguage))
            .await
            .expect("node two opens"),
    );
    let now = Utc::now();
    let ids = deployed(&one, now, 300).await;
    let claim_all = |store: Store, owner: &'static str| async move {
        let mut mine = Vec::new();
        loop {
            let batch = store
                .claim_jobs(owner, now, Duration::from_secs(60), 7)
                .await
                .expect("claims");
            if batch.is_empty() {
                return mine;
            }
            mine.extend(batch.into_iter().map(|j| j.id));
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(claim_all(one, "node-1")),
        tokio::spawn(claim_all(two, "node-2"))
    );
    let (a, b) = (a.expect("node one"), b.expect("node two"));
    let (sa, sb): (BTreeSet<_>, BTreeSet<_>) = (a.iter().collect(), b.iter().collect());
    assert_eq!(sa.len(), a.len(), "node one claimed a job twice");
    assert_eq!(sb.len(), b.len(), "node two claimed a job twice");
    assert!(sa.is_disjoint(&sb), "a job was held by both nodes");
    assert_eq!(sa.len() + sb.len(), ids.len(), "every job was claimed");
}

#[tokio::test]
async fn a_late_result_after_the_lease_was_taken_over_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = common::store(dir.path(), "fencing").await;
    let t0 = Utc::now();
    let ids = deployed(&store, t0, 1).await;

    let slow = store
        .claim_jobs("node-slow", t0, Duration::from_millis(1), 10)
        .await
        .expect("claims");
    assert_eq!(slow.len(), 1);
    // The slow node stalls past its lease (by the lease clock: the caller's on
    // SQLite, the database's on PostgreSQL) and another node takes the job.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let t1 = t0 + chrono::Duration::seconds(1);
    let fast = store
        .claim_jobs("node-fast", t1, Duration::from_secs(60), 10)
        .await
        .expect("claims");
    assert_eq!(fast.len(), 1, "the expired lease is claimable");
    assert_ne!(fast[0].lease_token, slow[0].lease_token);

    assert_eq!(
        store.run_job(&slow[0], t1).await.expect("runs"),
        JobOutcome::LeaseLost,
        "the late result is refused"
    );
    assert_eq!(
        store.run_job(&fast[0], t1).await.expect("runs"),
        JobOutcome::Done
    );
    assert_eq!(
        completions(&store, &ids[0]).await,
        1,
        "applied exactly once"
    );
    assert_eq!(
        store.run_job(&fast[0], t1).await.expect("runs"),
        JobOutcome::LeaseLost,
        "a job applies once, even from its own holder"
    );
}
