//! Start events that start instances by themselves: a timer start (a job of
//! the definition) and a signal start (any global broadcast of that signal).

use chrono::{DateTime, Duration, Utc};
use millrace_engine::Variables;
use millrace_store::Store;

mod common;

const BPMN: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
<signal id="Sig" name="StormAlert"/>
<process id="hourly" isExecutable="true">
  <startEvent id="EveryHour"><timerEventDefinition><timeCycle>R2/PT1H</timeCycle></timerEventDefinition></startEvent>
  <endEvent id="E1"/><sequenceFlow id="f1" sourceRef="EveryHour" targetRef="E1"/>
</process>
<process id="storm" isExecutable="true">
  <startEvent id="OnStorm"><signalEventDefinition signalRef="Sig"/></startEvent>
  <userTask id="CheckLines"/>
  <sequenceFlow id="f2" sourceRef="OnStorm" targetRef="CheckLines"/>
</process></definitions>"#;

async fn count(store: &Store, key: &str) -> usize {
    let every = millrace_store::GrantedKeys::every();
    let admin = millrace_store::Reader {
        user: "admin",
        groups: &[],
        keys: &every,
    };
    store
        .list_instances(
            &admin,
            &millrace_store::InstanceSearch {
                key: Some(key),
                ..Default::default()
            },
            100,
            0,
        )
        .await
        .expect("instances")
        .len()
}

#[tokio::test]
async fn timer_and_signal_start_events_start_instances() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = common::store(dir.path(), "s").await;
    let t0: DateTime<Utc> = "2024-12-10T09:00:00Z".parse().expect("time");
    common::deploy(&store, BPMN, t0).await;

    // R2/PT1H: one instance at +1 h, one at +2 h, none after.
    assert_eq!(
        store
            .run_due_jobs("w", t0 + Duration::minutes(59), 10)
            .await
            .expect("runs"),
        0
    );
    assert_eq!(
        store
            .run_due_jobs("w", t0 + Duration::hours(1), 10)
            .await
            .expect("runs"),
        1
    );
    assert_eq!(count(&store, "hourly").await, 1);
    assert_eq!(
        store
            .run_due_jobs("w", t0 + Duration::hours(2), 10)
            .await
            .expect("runs"),
        1
    );
    assert_eq!(
        store
            .run_due_jobs("w", t0 + Duration::hours(5), 10)
            .await
            .expect("runs"),
        0
    );
    assert_eq!(count(&store, "hourly").await, 2);

    let mut unit = store.begin(t0, Some("ops")).await.expect("unit");
    assert_eq!(
        unit.signal("StormAlert", None, Variables::new())
            .await
            .expect("signal"),
        1
    );
    unit.commit().await.expect("commits");
    assert_eq!(count(&store, "storm").await, 1);
}
