//! Group commit keeps every request of a batch apart: a request that fails
//! inside a batch is undone alone, the others commit.

use std::sync::Arc;

use chrono::Utc;
use millrace_engine::{InstanceState, Variables};
use millrace_store::{Committer, Write};

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
        ids.push(s.await.expect("joins").expect("starts").expect("an id"));
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
