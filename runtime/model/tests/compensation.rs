//! Compensation's structural rules, as the validator reports them: each
//! finding names the element and says what to change.

use millrace_model::validate::{validate, Options, ScriptChecker, ScriptFault, ScriptKind};
use millrace_model::{Model, Severity};

/// Every script compiles: these tests are about structure.
struct AnyScript;
impl ScriptChecker for AnyScript {
    fn check(&self, _: ScriptKind, _: &str) -> Result<(), ScriptFault> {
        Ok(())
    }
    fn resource(&self, name: &str) -> Result<String, String> {
        Err(format!("no {name}"))
    }
}

/// (code, element id, message) of each finding of at least warning level.
fn findings(body: &str) -> Vec<(String, String, String)> {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="t">
  <process id="P" isExecutable="true">{body}</process>
</definitions>"#
    );
    let model = Model::import(xml.as_bytes()).expect("imports");
    validate(&model, &AnyScript, Options::default())
        .into_iter()
        .filter(|d| d.severity != Severity::Info)
        .map(|d| {
            (
                d.code.to_string(),
                d.element_id.clone().unwrap_or_default(),
                d.message.clone(),
            )
        })
        .collect()
}

fn has(found: &[(String, String, String)], code: &str, id: &str, words: &str) -> bool {
    found
        .iter()
        .any(|(c, i, m)| c == code && i == id && m.contains(words))
}

const BOOK: &str = r#"
    <startEvent id="S"/><sequenceFlow id="F1" sourceRef="S" targetRef="Book"/>
    <task id="Book"/><sequenceFlow id="F2" sourceRef="Book" targetRef="Undo"/>
    <intermediateThrowEvent id="Undo"><compensateEventDefinition/></intermediateThrowEvent>
    <sequenceFlow id="F3" sourceRef="Undo" targetRef="E"/><endEvent id="E"/>"#;

#[test]
fn a_complete_compensation_is_clean() {
    let found = findings(&format!(
        r#"{BOOK}
        <boundaryEvent id="B" attachedToRef="Book"><compensateEventDefinition/></boundaryEvent>
        <task id="Cancel" isForCompensation="true"/>
        <association id="A" sourceRef="B" targetRef="Cancel"/>"#
    ));
    let errors: Vec<_> = found.iter().filter(|(c, ..)| c.starts_with('E')).collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(!found.iter().any(|(c, ..)| c == "W019"), "{found:?}");
}

#[test]
fn a_compensation_boundary_event_without_a_handler_is_an_error() {
    let found = findings(&format!(
        r#"{BOOK}
        <boundaryEvent id="B" attachedToRef="Book"><compensateEventDefinition/></boundaryEvent>"#
    ));
    assert!(
        has(&found, "E020", "B", "needs exactly one handler"),
        "{found:?}"
    );
}

#[test]
fn a_handler_with_sequence_flows_or_no_boundary_event_is_reported() {
    let found = findings(&format!(
        r#"{BOOK}
        <task id="Cancel" isForCompensation="true"/>
        <sequenceFlow id="F9" sourceRef="Cancel" targetRef="E"/>"#
    ));
    assert!(
        has(&found, "E020", "F9", "has no sequence flows"),
        "{found:?}"
    );
    assert!(has(&found, "W019", "Cancel", "never runs"), "{found:?}");
}

#[test]
fn a_compensation_start_event_belongs_in_an_event_sub_process_of_a_sub_process() {
    let found = findings(&format!(
        r#"{BOOK}
        <subProcess id="Esp" triggeredByEvent="true">
          <startEvent id="CS"><compensateEventDefinition/></startEvent>
          <sequenceFlow id="E1" sourceRef="CS" targetRef="EE"/><endEvent id="EE"/>
        </subProcess>"#
    ));
    assert!(
        has(&found, "E020", "CS", "inside a sub-process"),
        "{found:?}"
    );
}

#[test]
fn an_activity_ref_outside_the_throws_scope_is_an_error() {
    let found = findings(
        r#"
        <startEvent id="S"/><sequenceFlow id="F1" sourceRef="S" targetRef="Sub"/>
        <subProcess id="Sub">
          <startEvent id="SS"/><sequenceFlow id="S1" sourceRef="SS" targetRef="Inner"/>
          <task id="Inner"/><sequenceFlow id="S2" sourceRef="Inner" targetRef="SE"/><endEvent id="SE"/>
        </subProcess>
        <sequenceFlow id="F2" sourceRef="Sub" targetRef="Undo"/>
        <intermediateThrowEvent id="Undo"><compensateEventDefinition activityRef="Inner"/></intermediateThrowEvent>
        <sequenceFlow id="F3" sourceRef="Undo" targetRef="Undo2"/>
        <intermediateThrowEvent id="Undo2"><compensateEventDefinition activityRef="Nowhere"/></intermediateThrowEvent>
        <sequenceFlow id="F4" sourceRef="Undo2" targetRef="E"/><endEvent id="E"/>"#,
    );
    assert!(
        has(
            &found,
            "E020",
            "Undo",
            "\"Inner\" is not an activity of this scope"
        ),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(c, i, m)| c == "E003" && i == "Undo2" && m.contains("Nowhere")),
        "{found:?}"
    );
}

#[test]
fn a_cancel_event_is_still_refused() {
    let found = findings(
        r#"
        <startEvent id="S"/><sequenceFlow id="F1" sourceRef="S" targetRef="E"/>
        <endEvent id="E"><cancelEventDefinition/></endEvent>"#,
    );
    assert!(has(&found, "E013", "E", "not supported"), "{found:?}");
}
