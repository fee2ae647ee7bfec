//! Group commit keeps every request of a batch apart: a request that fails
//! inside a batch is undone alone, the others commit; messages, signals and
//! retries go through it like starts and completions.

use std::sync::Arc;

use chrono::Utc;
use millrace_engine::{InstanceState, Variables};
use millrace_store::{Committer, Done, GrantedKeys, Write};

mod common;

const BPMN: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
<process id="p" isExecutable="true"><startEvent id="S"/><userTask id="U"/><endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="U"/><sequenceFlow id="f2" sourceRef="U" targetRef="E"/></process></definitions>"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_in_one_batch_commit_or_fail_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(common::store(dir.path(), "c").await);
    common::deploy(&store, BPMN, Utc::now()).await;
    let committer = Committer::spawn(store.clone());

    let starts = (0..40).map(|_| {
        let c = committer.clone();
        tokio::spawn(async move {
            c.submit(
                "tester",
                Write::Start {
                    key: "p".into(),
                    variables: Variables::new(),
                    business_key: None,
                },
            )
            .await
        })
    });
    let mut ids = Vec::new();
    for s in starts {
        match s.await.expect("joins").expect("starts") {
            Done::Started(id) => ids.push(id),
            other => panic!("a start answered {other:?}"),
        }
    }
    // Every task is completed twice at once: one wins, the other fails inside the batch.
    let mut handles = Vec::new();
    for id in &ids {
        let task = store.tasks_of(id).await.expect("tasks")[0].id.clone();
        for _ in 0..2 {
            let (c, task) = (committer.clone(), task.clone());
            handles.push(tokio::spawn(async move {
                c.submit(
                    "tester",
                    Write::CompleteTask {
                        task,
                        variables: Variables::new(),
                    },
                )
                .await
            }));
        }
    }
    let mut ok = 0;
    for h in handles {
        if h.await.expect("joins").is_ok() {
            ok += 1;
        }
    }
    assert_eq!(ok, ids.len(), "exactly one completion per task");
    for id in &ids {
        assert_eq!(
            store.instance(id).await.expect("instance").state,
            InstanceState::Completed
        );
        let completions = store
            .history(id)
            .await
            .expect("history")
            .iter()
            .filter(|h| h.event == "activityCompleted" && h.node_id.as_deref() == Some("U"))
            .count();
        assert_eq!(completions, 1, "{id}");
    }
}

const WAITS: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
<message id="M" name="paid"/>
<process id="p" isExecutable="true"><startEvent id="S"/><intermediateCatchEvent id="C"><messageEventDefinition messageRef="M"/></intermediateCatchEvent>
<endEvent id="E"/><sequenceFlow id="f1" sourceRef="S" targetRef="C"/><sequenceFlow id="f2" sourceRef="C" targetRef="E"/></process></definitions>"#;

fn paid(message_id: Option<&str>, business_key: &str) -> Write {
    Write::Message {
        name: "paid".into(),
        business_key: Some(business_key.into()),
        instance: None,
        keys: Variables::new(),
        variables: Variables::new(),
        message_id: message_id.map(str::to_string),
        accept_no_match: false,
        reach: GrantedKeys::every(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_in_one_batch_are_delivered_once_each_and_a_miss_writes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(common::store(dir.path(), "m").await);
    common::deploy(&store, WAITS, Utc::now()).await;
    let committer = Committer::spawn(store.clone());
    let mut ids = Vec::new();
    for i in 0..20 {
        let done = committer
            .submit(
                "tester",
                Write::Start {
                    key: "p".into(),
                    variables: Variables::new(),
                    business_key: Some(format!("order-{i}")),
                },
            )
            .await
            .expect("starts");
        let Done::Started(id) = done else {
            panic!("a start answered {done:?}")
        };
        ids.push(id);
    }
    // Each order's payment sent twice at once with one message id, and one
    // payment for an order no one waits for.
    let mut handles = Vec::new();
    for i in 0..20 {
        for _ in 0..2 {
            let c = committer.clone();
            let write = paid(Some(&format!("pay-{i}")), &format!("order-{i}"));
            handles.push(tokio::spawn(async move { c.submit("tester", write).await }));
        }
    }
    let c = committer.clone();
    let stray =
        tokio::spawn(async move { c.submit("tester", paid(Some("pay-x"), "order-x")).await });
    let (mut delivered, mut duplicates) = (0, 0);
    for h in handles {
        match h.await.expect("joins").expect("answers") {
            Done::Correlated {
                instance: Some(_),
                duplicate: false,
            } => delivered += 1,
            Done::Correlated {
                duplicate: true, ..
            } => duplicates += 1,
            other => panic!("a payment answered {other:?}"),
        }
    }
    assert_eq!((delivered, duplicates), (20, 20));
    assert_eq!(
        stray.await.expect("joins").expect("answers"),
        Done::Unmatched { withheld: false }
    );
    for id in &ids {
        assert_eq!(
            store.instance(id).await.expect("instance").state,
            InstanceState::Completed,
            "{id}"
        );
    }
    // The miss kept no receipt: once something waits, the same id is delivered.
    let done = committer
        .submit(
            "tester",
            Write::Start {
                key: "p".into(),
                variables: Variables::new(),
                business_key: Some("order-x".into()),
            },
        )
        .await
        .expect("starts");
    assert!(matches!(done, Done::Started(_)), "{done:?}");
    let again = committer
        .submit("tester", paid(Some("pay-x"), "order-x"))
        .await
        .expect("answers");
    assert!(
        matches!(
            again,
            Done::Correlated {
                instance: Some(_),
                duplicate: false
            }
        ),
        "{again:?}"
    );
}
