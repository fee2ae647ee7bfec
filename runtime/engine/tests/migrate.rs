//! Version migration: an instance moves to another version of its process,
//! token by token, or is refused with the reason and left as it was.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration};
use millrace_engine::instance::SubscriptionKind;
use millrace_engine::{migrate, Effect, HistoryEvent, Instance, InstanceState, ProcessDefinition};
use millrace_model::Model;
use millrace_script::Rhai;
use proptest::prelude::*;

mod common;
use common::{complete, open_tasks, start};

fn compile(body: &str, version: i64) -> ProcessDefinition {
    let xml = format!(
        "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" id=\"D\" targetNamespace=\"t\">\
         <message id=\"m1\" name=\"cancelRequest\"/><message id=\"m2\" name=\"paid\"/>\
         <process id=\"P\" isExecutable=\"true\">{body}</process></definitions>"
    );
    let model = Model::import(xml.as_bytes()).expect("imports");
    ProcessDefinition::compile_all(&model, &Rhai::new(), version)
        .expect("compiles")
        .remove(0)
}

fn none() -> BTreeMap<String, String> {
    BTreeMap::new()
}

const V1: &str = r#"<startEvent id="S"/><userTask id="A" name="Check"/><userTask id="B"/><endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="A"/><sequenceFlow id="f2" sourceRef="A" targetRef="B"/>
<sequenceFlow id="f3" sourceRef="B" targetRef="E"/>"#;

/// Version 2 puts a review between A and B.
const V2: &str = r#"<startEvent id="S"/><userTask id="A" name="Check"/><userTask id="R"/><userTask id="B"/><endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="A"/><sequenceFlow id="f2" sourceRef="A" targetRef="R"/>
<sequenceFlow id="f2b" sourceRef="R" targetRef="B"/><sequenceFlow id="f3" sourceRef="B" targetRef="E"/>"#;

#[test]
fn a_waiting_instance_moves_to_the_new_version_and_goes_on_by_its_flows() {
    let (v1, v2) = (compile(V1, 1), compile(V2, 2));
    let mut inst = start(&v1);
    let effects = migrate(&v1, &v2, &mut inst, &none(), DateTime::UNIX_EPOCH).expect("migrates");
    assert_eq!(inst.version, 2);
    // Same element, same name and form: the task row needs no change.
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::TaskMoved { .. })));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::History(HistoryEvent::InstanceMigrated {
            from_version: 1,
            to_version: 2
        })
    )));
    complete(&v2, &mut inst, "A");
    assert_eq!(
        open_tasks(&v2, &inst),
        ["R"],
        "version 2's new step comes next"
    );
    complete(&v2, &mut inst, "R");
    complete(&v2, &mut inst, "B");
    assert_eq!(inst.state, InstanceState::Completed);
}

#[test]
fn an_element_the_new_version_lacks_refuses_the_migration_and_changes_nothing() {
    let v1 = compile(V1, 1);
    let v2 = compile(&V2.replace("\"A\"", "\"A2\""), 2);
    let mut inst = start(&v1);
    let before = inst.clone();
    let refused = migrate(&v1, &v2, &mut inst, &none(), DateTime::UNIX_EPOCH).unwrap_err();
    assert!(refused.0.contains("A (Check)"), "{refused}");
    assert!(refused.0.contains("version 2 does not have"), "{refused}");
    assert_eq!(inst, before);

    // Mapped by hand, the task moves, keeping its id, and shows its new element.
    let mapping: BTreeMap<String, String> = [("A".to_string(), "A2".to_string())].into();
    let effects = migrate(&v1, &v2, &mut inst, &mapping, DateTime::UNIX_EPOCH).expect("migrates");
    let moved = effects
        .iter()
        .find_map(|e| match e {
            Effect::TaskMoved { node_id, name, .. } => Some((node_id.clone(), name.clone())),
            _ => None,
        })
        .expect("the task moved");
    assert_eq!(moved, ("A2".to_string(), Some("Check".to_string())));
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::TaskEnded { .. })));
    assert_eq!(open_tasks(&v2, &inst), ["A2"]);
    complete(&v2, &mut inst, "A2");
    assert_eq!(open_tasks(&v2, &inst), ["R"]);
}

#[test]
fn a_mapping_to_an_element_of_another_kind_is_refused() {
    let v1 = compile(V1, 1);
    let v2 = compile(
        &V2.replace(
            r#"<userTask id="R"/>"#,
            r#"<scriptTask id="R" scriptFormat="rhai"><script>1</script></scriptTask>"#,
        ),
        2,
    );
    let mapping: BTreeMap<String, String> = [("A".to_string(), "R".to_string())].into();
    let problems = millrace_engine::check_mapping(&v1, &v2, &mapping);
    assert_eq!(
        problems,
        ["A is a user task and R is a script task: an element maps only to one of its kind"]
    );
    let mut inst = start(&v1);
    let refused = migrate(&v1, &v2, &mut inst, &mapping, DateTime::UNIX_EPOCH).unwrap_err();
    assert!(refused.0.contains("only to one of its kind"), "{refused}");
    assert_eq!(inst.version, 1);
}

const TIMED: &str = r#"<startEvent id="S"/><userTask id="A"/><endEvent id="E"/>
<boundaryEvent id="T" attachedToRef="A"><timerEventDefinition><timeDuration>PT48H</timeDuration></timerEventDefinition></boundaryEvent>
<endEvent id="E2"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="A"/><sequenceFlow id="f2" sourceRef="A" targetRef="E"/>
<sequenceFlow id="f3" sourceRef="T" targetRef="E2"/>"#;

#[test]
fn a_kept_boundary_timer_keeps_its_due_time_and_a_new_boundary_event_opens() {
    let v1 = compile(TIMED, 1);
    let with_message = TIMED.replace(
        "<endEvent id=\"E2\"/>",
        "<endEvent id=\"E2\"/><boundaryEvent id=\"M\" attachedToRef=\"A\"><messageEventDefinition messageRef=\"m1\"/></boundaryEvent><endEvent id=\"E3\"/><sequenceFlow id=\"f4\" sourceRef=\"M\" targetRef=\"E3\"/>",
    );
    let v2 = compile(&with_message, 2);
    let mut inst = start(&v1);
    let due = |inst: &Instance| {
        inst.subscriptions
            .values()
            .find_map(|s| match s.kind {
                SubscriptionKind::Timer { due, .. } => Some(due),
                _ => None,
            })
            .expect("a timer")
    };
    let was = due(&inst);
    assert_eq!(was, DateTime::UNIX_EPOCH + Duration::hours(48));
    // A day later: a timer started afresh would be due a day later than this one.
    let later = DateTime::UNIX_EPOCH + Duration::hours(24);
    let effects = migrate(&v1, &v2, &mut inst, &none(), later).expect("migrates");
    assert_eq!(due(&inst), was);
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::JobCancelled { .. } | Effect::JobScheduled { .. })));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::SubscriptionOpened { event: "message", name, .. } if name == "cancelRequest"
    )));
    assert_eq!(inst.subscriptions.len(), 2);

    // Back to a version without the timer: its job is cancelled.
    let v3 = compile(V1, 3);
    let effects = migrate(&v2, &v3, &mut inst, &none(), later).expect("migrates");
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::JobCancelled { .. })));
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::SubscriptionClosed { .. })));
    assert!(inst.subscriptions.is_empty());
}

#[test]
fn a_waiting_message_catch_whose_message_changed_listens_for_the_new_one() {
    let wait = |message: &str| {
        format!(
            r#"<startEvent id="S"/><intermediateCatchEvent id="W"><messageEventDefinition messageRef="{message}"/></intermediateCatchEvent><endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="W"/><sequenceFlow id="f2" sourceRef="W" targetRef="E"/>"#
        )
    };
    let (v1, v2) = (compile(&wait("m1"), 1), compile(&wait("m2"), 2));
    let mut inst = start(&v1);
    let effects = migrate(&v1, &v2, &mut inst, &none(), DateTime::UNIX_EPOCH).expect("migrates");
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::SubscriptionClosed { .. })));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::SubscriptionOpened { name, .. } if name == "paid"
    )));
    let names: Vec<&SubscriptionKind> = inst.subscriptions.values().map(|s| &s.kind).collect();
    assert_eq!(names, [&SubscriptionKind::Message("paid".into())]);
}

const FORK: &str = r#"<startEvent id="S"/><parallelGateway id="F"/><userTask id="A"/><userTask id="B"/><parallelGateway id="J"/><endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="F"/><sequenceFlow id="fa" sourceRef="F" targetRef="A"/>
<sequenceFlow id="fb" sourceRef="F" targetRef="B"/><sequenceFlow id="ja" sourceRef="A" targetRef="J"/>
<sequenceFlow id="jb" sourceRef="B" targetRef="J"/><sequenceFlow id="f2" sourceRef="J" targetRef="E"/>"#;

#[test]
fn a_token_waiting_at_a_join_needs_its_flow_in_the_new_version() {
    let v1 = compile(FORK, 1);
    let mut inst = start(&v1);
    complete(&v1, &mut inst, "A");
    let renamed = compile(&FORK.replace("\"ja\"", "\"ja2\""), 2);
    let refused = migrate(&v1, &renamed, &mut inst, &none(), DateTime::UNIX_EPOCH).unwrap_err();
    assert!(refused.0.contains("waits at join J"), "{refused}");
    assert!(refused.0.contains("flow ja"), "{refused}");
    let same = compile(FORK, 2);
    migrate(&v1, &same, &mut inst, &none(), DateTime::UNIX_EPOCH).expect("migrates");
    complete(&same, &mut inst, "B");
    assert_eq!(
        inst.state,
        InstanceState::Completed,
        "the join fired on version 2"
    );
}

#[test]
fn a_token_does_not_leave_its_sub_process() {
    let sub = |inside: &str, outside: &str| {
        format!(
            r#"<startEvent id="S"/><subProcess id="Sub"><startEvent id="SS"/>{inside}<endEvent id="SE"/>
<sequenceFlow id="s1" sourceRef="SS" targetRef="{first}"/><sequenceFlow id="s2" sourceRef="{first}" targetRef="SE"/></subProcess>{outside}<endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="Sub"/><sequenceFlow id="f2" sourceRef="Sub" targetRef="E"/>"#,
            first = if inside.is_empty() { "SE" } else { "A" },
        )
    };
    let v1 = compile(&sub(r#"<userTask id="A"/>"#, ""), 1);
    // Version 2 keeps Sub but has A outside it, beside the sub-process.
    let v2 = compile(&sub("", r#"<userTask id="A"/>"#), 2);
    let mut inst = start(&v1);
    let before = inst.clone();
    let refused = migrate(&v1, &v2, &mut inst, &none(), DateTime::UNIX_EPOCH).unwrap_err();
    assert!(
        refused.0.contains("a token keeps its sub-process"),
        "{refused}"
    );
    assert!(refused.0.contains("inside Sub"), "{refused}");
    assert_eq!(inst, before);
    // A sub-process does not become a task either.
    let mapping: BTreeMap<String, String> = [("Sub".to_string(), "A".to_string())].into();
    let refused = migrate(&v1, &v2, &mut inst, &mapping, DateTime::UNIX_EPOCH).unwrap_err();
    assert!(refused.0.contains("only to one of its kind"), "{refused}");
}

proptest! {
    /// Wherever on the line an instance stands, moving it to a version with
    /// the same elements plus one more keeps it working: it completes there.
    #[test]
    fn an_instance_migrated_at_any_step_completes_on_the_new_version(done in 0usize..2) {
        let (v1, v2) = (compile(V1, 1), compile(V2, 2));
        let mut inst = start(&v1);
        for task in ["A", "B"].iter().take(done) {
            complete(&v1, &mut inst, task);
        }
        migrate(&v1, &v2, &mut inst, &none(), DateTime::UNIX_EPOCH).expect("migrates");
        while let Some(task) = open_tasks(&v2, &inst).first().cloned() {
            complete(&v2, &mut inst, &task);
        }
        prop_assert_eq!(inst.state, InstanceState::Completed);
        prop_assert_eq!(inst.version, 2);
    }
}
