//! What changed in one process between two versions: flow nodes and sequence
//! flows added, removed or changed in meaning.
//!
//! Meaning is the typed model's equality: positions (`Loc`) always compare
//! equal, so moving an element or reformatting the file changes nothing,
//! while any attribute, condition, timer or script does. A sub-process is
//! compared without its contents; those are compared element by element.

use std::collections::BTreeMap;

use crate::bpmn::{Definitions, FlowNode, Scope, SequenceFlow};

/// Element ids, each list sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessDiff {
    /// Only in the newer version.
    pub added: Vec<String>,
    /// Only in the older version.
    pub removed: Vec<String>,
    /// In both, with a different meaning.
    pub changed: Vec<String>,
}

#[derive(PartialEq)]
enum Element {
    Node(FlowNode),
    Flow(SequenceFlow),
}

fn elements(definitions: &Definitions, process: &str) -> BTreeMap<String, Element> {
    let mut out = BTreeMap::new();
    let Some(p) = definitions.process(process) else {
        return out;
    };
    for n in p.scope.all_nodes() {
        let mut n = n.clone();
        if let Some(inner) = n.kind.scope_mut() {
            *inner = Scope::default();
        }
        out.insert(n.id.clone(), Element::Node(n));
    }
    for f in p.scope.all_flows() {
        out.insert(f.id.clone(), Element::Flow(f.clone()));
    }
    out
}

/// The difference in process `process` from `older` to `newer`.
pub fn diff_process(older: &Definitions, newer: &Definitions, process: &str) -> ProcessDiff {
    let (a, b) = (elements(older, process), elements(newer, process));
    ProcessDiff {
        added: b.keys().filter(|k| !a.contains_key(*k)).cloned().collect(),
        removed: a.keys().filter(|k| !b.contains_key(*k)).cloned().collect(),
        changed: a
            .iter()
            .filter(|(k, v)| b.get(*k).is_some_and(|w| w != *v))
            .map(|(k, _)| k.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Model;

    fn model(timer: &str, condition: &str, x: u32, extra: &str) -> Definitions {
        let xml = format!(
            r#"<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="D" targetNamespace="t">
<process id="p" isExecutable="true"><startEvent id="S"/>
<intermediateCatchEvent id="W"><timerEventDefinition><timeDuration>{timer}</timeDuration></timerEventDefinition></intermediateCatchEvent>
<subProcess id="Sub"><startEvent id="In"/></subProcess>{extra}
<endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="W"/>
<sequenceFlow id="f2" sourceRef="W" targetRef="Sub"><conditionExpression>{condition}</conditionExpression></sequenceFlow>
<sequenceFlow id="f3" sourceRef="Sub" targetRef="E"/></process>
<bpmndi:BPMNDiagram id="Di"><bpmndi:BPMNPlane id="Pl" bpmnElement="p">
<bpmndi:BPMNShape id="S_di" bpmnElement="S"><dc:Bounds x="{x}" y="10" width="36" height="36"/></bpmndi:BPMNShape>
</bpmndi:BPMNPlane></bpmndi:BPMNDiagram></definitions>"#
        );
        Model::import(xml.as_bytes()).expect("imports").definitions
    }

    #[test]
    fn digits_in_timers_and_conditions_are_changes() {
        let d = diff_process(
            &model("PT5M", "amount > 100", 10, ""),
            &model("PT10M", "amount > 500", 10, ""),
            "p",
        );
        assert_eq!(d.changed, vec!["W".to_string(), "f2".to_string()]);
        assert!(d.added.is_empty() && d.removed.is_empty());
    }

    #[test]
    fn moved_shapes_change_nothing_and_new_inner_elements_are_added() {
        let a = model("PT5M", "ok", 10, "");
        let b = model("PT5M", "ok", 400, r#"<task id="T"/>"#);
        let d = diff_process(&a, &b, "p");
        assert_eq!(d.added, vec!["T".to_string()]);
        assert!(d.changed.is_empty(), "{d:?}");
        assert_eq!(diff_process(&a, &a, "p"), ProcessDiff::default());
    }
}
