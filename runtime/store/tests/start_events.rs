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

const INVOICES: &str = r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D2" targetNamespace="t">
<message id="M" name="InvoiceArrived"/>
<signal id="Sig2" name="Outage"/>
<process id="invoice" isExecutable="true">
  <startEvent id="OnInvoice"><messageEventDefinition messageRef="M"/></startEvent>
  <userTask id="Check"/><sequenceFlow id="g1" sourceRef="OnInvoice" targetRef="Check"/>
</process>
<process id="outage" isExecutable="true">
  <startEvent id="OnOutage"><signalEventDefinition signalRef="Sig2"/></startEvent>
  <userTask id="Dispatch"/><sequenceFlow id="g2" sourceRef="OnOutage" targetRef="Dispatch"/>
</process>
<process id="sweep" isExecutable="true">
  <startEvent id="Hourly"><timerEventDefinition><timeCycle>R3/PT1H</timeCycle></timerEventDefinition></startEvent>
  <endEvent id="G"/><sequenceFlow id="g3" sourceRef="Hourly" targetRef="G"/>
</process>
<process id="thrower" isExecutable="true">
  <startEvent id="T0"/><sequenceFlow id="g4" sourceRef="T0" targetRef="Throw"/>
  <intermediateThrowEvent id="Throw"><signalEventDefinition signalRef="Sig2"/></intermediateThrowEvent>
  <sequenceFlow id="g5" sourceRef="Throw" targetRef="TE"/><endEvent id="TE"/>
</process></definitions>"#;

#[tokio::test]
async fn a_retired_version_is_started_by_no_message_signal_or_timer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = common::store(dir.path(), "r").await;
    let t0: DateTime<Utc> = "2024-12-10T09:00:00Z".parse().expect("time");
    common::deploy(&store, INVOICES, t0).await;
    for key in ["invoice", "outage", "sweep"] {
        store.set_retired(key, 1, true).await.expect("retires");
    }
    // A message with nothing waiting and only a retired start: no match.
    let mut unit = store.begin(t0, Some("ops")).await.expect("unit");
    let got = unit
        .correlate(
            "InvoiceArrived",
            None,
            None,
            &Variables::new(),
            Variables::new(),
        )
        .await
        .expect("correlates");
    assert_eq!(got, None);
    // A signal from outside, and one thrown by a running process: nothing starts.
    assert_eq!(
        unit.signal("Outage", None, Variables::new())
            .await
            .expect("signal"),
        0
    );
    unit.start("thrower", Variables::new(), None, None)
        .await
        .expect("the thrower runs");
    unit.commit().await.expect("commits");
    // The timer's first firing passes without an instance; its cycle goes on.
    store
        .run_due_jobs("w", t0 + Duration::hours(1), 10)
        .await
        .expect("runs");
    for key in ["invoice", "outage", "sweep"] {
        assert_eq!(count(&store, key).await, 0, "{key} started while retired");
    }
    // Reinstated, each kind of start starts again.
    for key in ["invoice", "outage", "sweep"] {
        store.set_retired(key, 1, false).await.expect("reinstates");
    }
    store
        .run_due_jobs("w", t0 + Duration::hours(2), 10)
        .await
        .expect("runs");
    assert_eq!(count(&store, "sweep").await, 1);
    let mut unit = store.begin(t0, Some("ops")).await.expect("unit");
    let got = unit
        .correlate(
            "InvoiceArrived",
            None,
            None,
            &Variables::new(),
            Variables::new(),
        )
        .await
        .expect("correlates");
    assert!(got.is_some());
    assert_eq!(
        unit.signal("Outage", None, Variables::new())
            .await
            .expect("signal"),
        1
    );
    unit.commit().await.expect("commits");
    assert_eq!(count(&store, "invoice").await, 1);
    assert_eq!(count(&store, "outage").await, 1);
}
