//! Mail tasks: what they queue for the outbox, attachments included, and the
//! incident a mail that cannot be sent raises.

use chrono::DateTime;
use millrace_engine::{Effect, ProcessDefinition, Value, Variables};
use millrace_model::Model;
use millrace_script::Rhai;

mod common;
use common::start_at;

/// A process that mails `email` with the `attachments` script's value.
fn mail_with_attachments(attachments: &str) -> ProcessDefinition {
    let xml = format!(
        "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" xmlns:camunda=\"http://camunda.org/schema/1.0/bpmn\" id=\"D\" targetNamespace=\"t\">\
         <process id=\"P\" isExecutable=\"true\"><startEvent id=\"S\"/>\
         <serviceTask id=\"M\" camunda:type=\"mail\"><extensionElements><camunda:inputOutput>\
         <camunda:inputParameter name=\"to\">ann@example.com</camunda:inputParameter>\
         <camunda:inputParameter name=\"subject\">Your bill</camunda:inputParameter>\
         <camunda:inputParameter name=\"attachments\"><camunda:script scriptFormat=\"rhai\">{attachments}</camunda:script></camunda:inputParameter>\
         </camunda:inputOutput></extensionElements></serviceTask><endEvent id=\"E\"/>\
         <sequenceFlow id=\"F1\" sourceRef=\"S\" targetRef=\"M\"/><sequenceFlow id=\"F2\" sourceRef=\"M\" targetRef=\"E\"/>\
         </process></definitions>"
    );
    let model = Model::import(xml.as_bytes()).expect("imports");
    ProcessDefinition::compile_all(&model, &Rhai::new(), 1)
        .expect("compiles")
        .remove(0)
}

/// The attachments of the mail the instance queued, or the effects if none.
fn queued(attachments: &str) -> Result<Vec<String>, String> {
    let mut variables = Variables::new();
    variables.insert("bill".into(), Value::String("doc-1".into()));
    variables.insert("receipt".into(), Value::String("doc-2".into()));
    let (_, effects) = start_at(
        &mail_with_attachments(attachments),
        DateTime::UNIX_EPOCH,
        variables,
    );
    effects
        .iter()
        .find_map(|e| match e {
            Effect::MailQueued { attachments, .. } => Some(attachments.clone()),
            _ => None,
        })
        .ok_or_else(|| format!("{effects:?}"))
}

#[test]
fn a_mail_attaches_one_document_id_or_a_list_of_them() {
    assert_eq!(queued("bill"), Ok(vec!["doc-1".to_string()]));
    assert_eq!(
        queued("[bill, receipt]"),
        Ok(vec!["doc-1".to_string(), "doc-2".to_string()])
    );
    assert_eq!(queued("()"), Ok(vec![]), "no attachments");
    assert_eq!(queued("[]"), Ok(vec![]));
}

#[test]
fn attachments_that_are_not_document_ids_raise_an_incident_and_queue_nothing() {
    for bad in ["42", "[bill, 7]", "#{ id: bill }"] {
        let effects = queued(bad).expect_err("no mail queued");
        assert!(
            effects.contains("the mail's attachments are document ids"),
            "{bad}: {effects}"
        );
    }
}
