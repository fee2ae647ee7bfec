//! A user task's assignee, candidates and due date may each be one whole
//! `${…}` (or `#{…}`) Rhai expression; the validator compiles it, and refuses
//! an expression mixed into text or in a priority, naming the attribute.

use millrace_model::validate::{validate, Options, ScriptChecker, ScriptFault, ScriptKind};
use millrace_model::{Model, Severity};

/// Expressions compile unless they contain "((" (a stand-in for bad Rhai).
struct Checker;
impl ScriptChecker for Checker {
    fn check(&self, _: ScriptKind, text: &str) -> Result<(), ScriptFault> {
        if text.contains("((") {
            return Err(ScriptFault {
                line: 1,
                column: 3,
                message: "unclosed parenthesis".into(),
            });
        }
        Ok(())
    }
    fn resource(&self, name: &str) -> Result<String, String> {
        Err(format!("no {name}"))
    }
}

fn findings(attributes: &str) -> Vec<(String, String)> {
    let xml = format!(
        r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="t">
  <process id="P" isExecutable="true">
    <startEvent id="S"/><sequenceFlow id="F1" sourceRef="S" targetRef="Review"/>
    <userTask id="Review" {attributes}/><sequenceFlow id="F2" sourceRef="Review" targetRef="E"/>
    <endEvent id="E"/>
  </process>
</definitions>"#
    );
    let model = Model::import(xml.as_bytes()).expect("imports");
    validate(&model, &Checker, Options::default())
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| (d.code.to_string(), d.message.clone()))
        .collect()
}

#[test]
fn whole_expressions_are_accepted_in_assignments_and_due_dates() {
    let found = findings(
        r#"camunda:assignee="${initiator}" camunda:candidateGroups="auditors, #{region}" camunda:candidateUsers="${backups}" camunda:dueDate="${due}""#,
    );
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn an_expression_that_does_not_compile_names_the_attribute() {
    let found = findings(r#"camunda:assignee="${((initiator}""#);
    assert!(
        found.iter().any(|(c, m)| c == "E010"
            && m.contains("camunda:assignee \"${((initiator}\" does not compile")
            && m.contains("unclosed parenthesis")),
        "{found:?}"
    );
}

#[test]
fn an_expression_mixed_into_text_or_a_priority_is_refused() {
    let found =
        findings(r#"camunda:candidateGroups="team-${region}" camunda:priority="${urgency}""#);
    assert!(
        found
            .iter()
            .any(|(c, m)| c == "E014"
                && m.contains("camunda:candidateGroups \"team-${region}\" mixes")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(c, m)| c == "E014" && m.contains("camunda:priority holds an expression")),
        "{found:?}"
    );
}
