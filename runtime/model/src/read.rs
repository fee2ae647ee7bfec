//! Reads the typed model (`crate::bpmn`) out of the lossless XML tree.
//!
//! Reading never fails once the root is a BPMN `<definitions>`: what it does not
//! understand is kept in the tree (and so in the export) and, where it is in the
//! BPMN namespace and out of place, reported as a warning.

use std::collections::BTreeMap;

use crate::bpmn::*;
use crate::diagnostic::Diagnostic;
use crate::ns::{BPMN_DI, BPMN_MODEL, CAMUNDA, DC, DI};
use crate::xml::{Element, Pos};

/// Every element with an `id`, in the BPMN and BPMNDI namespaces, outside extension elements.
pub type IdIndex = BTreeMap<String, Vec<IdEntry>>;

/// One element that carries an id.
#[derive(Debug, Clone, PartialEq)]
pub struct IdEntry {
    /// The element's local name (`task`, `BPMNShape`).
    pub element: String,
    /// Where it stands.
    pub pos: Pos,
}

/// Reads `<definitions>`; `None` when the root is not BPMN definitions.
pub(crate) fn read_definitions(root: &Element, out: &mut Vec<Diagnostic>) -> Option<Definitions> {
    if !root.is(BPMN_MODEL, "definitions") {
        return None;
    }
    let mut defs = Definitions {
        id: root.attr("id").map(str::to_string),
        expression_language: root.attr("expressionLanguage").map(str::to_string),
        exporter: root
            .attr("exporter")
            .map(|e| match root.attr("exporterVersion") {
                Some(v) => format!("{e} {v}"),
                None => e.to_string(),
            }),
        ..Definitions::default()
    };
    for child in root.elements() {
        let loc = Loc(child.pos);
        if child.ns.as_deref() == Some(BPMN_DI) && child.local == "BPMNDiagram" {
            defs.diagrams.push(read_diagram(child));
            continue;
        }
        if child.ns.as_deref() != Some(BPMN_MODEL) {
            continue;
        }
        match child.local.as_str() {
            "process" => defs.processes.push(read_process(child, out)),
            "collaboration" => defs.collaborations.push(read_collaboration(child, out)),
            "message" => defs.messages.push(identified(child)),
            "signal" => defs.signals.push(identified(child)),
            "dataStore" => defs.data_stores.push(identified(child)),
            "error" => defs.errors.push(ErrorDefinition {
                id: id_of(child),
                name: attr(child, "name"),
                error_code: attr(child, "errorCode"),
                loc,
            }),
            "escalation" => defs.escalations.push(Escalation {
                id: id_of(child),
                name: attr(child, "name"),
                escalation_code: attr(child, "escalationCode"),
                loc,
            }),
            "import" => defs.imports.push(Import {
                import_type: attr(child, "importType"),
                location: attr(child, "location"),
                namespace: attr(child, "namespace"),
            }),
            // Root elements Millrace keeps but does not read.
            "category"
            | "correlationProperty"
            | "endPoint"
            | "eventDefinition"
            | "messageEventDefinition"
            | "timerEventDefinition"
            | "signalEventDefinition"
            | "errorEventDefinition"
            | "escalationEventDefinition"
            | "conditionalEventDefinition"
            | "linkEventDefinition"
            | "terminateEventDefinition"
            | "cancelEventDefinition"
            | "compensateEventDefinition"
            | "globalBusinessRuleTask"
            | "globalManualTask"
            | "globalScriptTask"
            | "globalTask"
            | "globalUserTask"
            | "interface"
            | "itemDefinition"
            | "partnerEntity"
            | "partnerRole"
            | "resource"
            | "choreography"
            | "conversation"
            | "globalConversation"
            | "relationship"
            | "extension"
            | "extensionElements"
            | "documentation"
            | "dataStoreReference" => {}
            other => out.push(Diagnostic::warning(
                "W002",
                child.pos,
                child.attr("id"),
                format!(
                    "<{other}> is not allowed directly in <definitions>; it is kept but not read"
                ),
            )),
        }
    }
    Some(defs)
}

/// Collects every id-carrying element of the BPMN and DI namespaces, outside extensions.
pub(crate) fn index_ids(root: &Element) -> IdIndex {
    let mut index = IdIndex::new();
    fn walk(e: &Element, index: &mut IdIndex) {
        let ours = matches!(e.ns.as_deref(), Some(BPMN_MODEL) | Some(BPMN_DI));
        if !ours {
            return;
        }
        if let Some(id) = e.attr("id") {
            index.entry(id.to_string()).or_default().push(IdEntry {
                element: e.local.clone(),
                pos: e.pos,
            });
        }
        if e.local == "extensionElements" {
            return;
        }
        for c in e.elements() {
            walk(c, index);
        }
    }
    walk(root, &mut index);
    index
}

fn attr(e: &Element, name: &str) -> Option<String> {
    e.attr(name).map(str::to_string)
}

/// A reference to another element by id, read as BPMN writes it: a QName
/// (`tns:newInvoice`), whose prefix names the target namespace. Ids are
/// NCNames and hold no colon, so whatever precedes one is a prefix.
fn reference(e: &Element, name: &str) -> Option<String> {
    e.attr(name).map(|v| {
        let v = v.trim();
        v.rsplit_once(':').map_or(v, |(_, local)| local).to_string()
    })
}

fn id_of(e: &Element) -> String {
    e.attr("id").unwrap_or_default().to_string()
}

fn identified(e: &Element) -> Identified {
    Identified {
        id: id_of(e),
        name: attr(e, "name"),
        loc: Loc(e.pos),
    }
}

fn bool_attr(e: &Element, name: &str, default: bool) -> bool {
    match e.attr(name).map(str::trim) {
        Some("true") | Some("1") => true,
        Some("false") | Some("0") => false,
        _ => default,
    }
}

fn camunda_bool(e: &Element, name: &str) -> bool {
    matches!(e.attr_ns(CAMUNDA, name).map(str::trim), Some("true"))
}

fn bpmn_children<'a>(e: &'a Element, local: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    e.children_named(BPMN_MODEL, local)
}

fn bpmn_child<'a>(e: &'a Element, local: &str) -> Option<&'a Element> {
    e.child(BPMN_MODEL, local)
}

fn text_refs(e: &Element, local: &str) -> Vec<String> {
    bpmn_children(e, local)
        .map(|c| c.text().trim().to_string())
        .collect()
}

fn expression(e: &Element) -> Expression {
    Expression {
        text: e.text().trim().to_string(),
        language: attr(e, "language"),
        loc: Loc(e.pos),
    }
}

fn read_process(e: &Element, out: &mut Vec<Diagnostic>) -> Process {
    let mut lanes = Vec::new();
    for lane_set in bpmn_children(e, "laneSet") {
        read_lanes(lane_set, &mut lanes);
    }
    Process {
        id: id_of(e),
        name: attr(e, "name"),
        is_executable: e.attr("isExecutable").map(|v| v.trim() == "true"),
        scope: read_scope(e, out),
        lanes,
        camunda: read_camunda(e),
        loc: Loc(e.pos),
    }
}

fn read_lanes(lane_set: &Element, lanes: &mut Vec<Lane>) {
    for lane in bpmn_children(lane_set, "lane") {
        lanes.push(Lane {
            id: id_of(lane),
            name: attr(lane, "name"),
            flow_node_refs: text_refs(lane, "flowNodeRef"),
            loc: Loc(lane.pos),
        });
        if let Some(child_set) = bpmn_child(lane, "childLaneSet") {
            read_lanes(child_set, lanes);
        }
    }
}

const SCOPE_PLUMBING: &[&str] = &[
    "documentation",
    "extensionElements",
    "laneSet",
    "ioSpecification",
    "ioBinding",
    "auditing",
    "monitoring",
    "property",
    "supportedInterfaceRef",
    "incoming",
    "outgoing",
    "multiInstanceLoopCharacteristics",
    "standardLoopCharacteristics",
    "dataInputAssociation",
    "dataOutputAssociation",
    "resourceRole",
    "performer",
    "humanPerformer",
    "potentialOwner",
    "correlationSubscription",
    "completionCondition",
    "category",
    "categoryValue",
];

fn read_scope(container: &Element, out: &mut Vec<Diagnostic>) -> Scope {
    let mut scope = Scope::default();
    for c in container.elements() {
        if c.ns.as_deref() != Some(BPMN_MODEL) {
            continue;
        }
        let loc = Loc(c.pos);
        match c.local.as_str() {
            "sequenceFlow" => scope.flows.push(SequenceFlow {
                id: id_of(c),
                name: attr(c, "name"),
                source: attr(c, "sourceRef").unwrap_or_default(),
                target: attr(c, "targetRef").unwrap_or_default(),
                condition: bpmn_child(c, "conditionExpression").map(expression),
                camunda: read_camunda(c),
                loc,
            }),
            "textAnnotation" => scope.artifacts.push(Artifact::TextAnnotation {
                id: id_of(c),
                text: bpmn_child(c, "text").map(|t| t.text()).unwrap_or_default(),
                loc,
            }),
            "association" => scope.artifacts.push(Artifact::Association {
                id: id_of(c),
                source: attr(c, "sourceRef").unwrap_or_default(),
                target: attr(c, "targetRef").unwrap_or_default(),
                loc,
            }),
            "group" => scope.artifacts.push(Artifact::Group {
                id: id_of(c),
                category_value_ref: attr(c, "categoryValueRef"),
                loc,
            }),
            "dataObject" | "dataObjectReference" | "dataStoreReference" => {
                scope.data.push(DataElement {
                    kind: c.local.clone(),
                    id: id_of(c),
                    name: attr(c, "name"),
                    reference: attr(c, "dataObjectRef").or_else(|| attr(c, "dataStoreRef")),
                    loc,
                })
            }
            local => match read_flow_node(c, out) {
                Some(node) => scope.nodes.push(node),
                None if SCOPE_PLUMBING.contains(&local) => {}
                None => out.push(Diagnostic::warning(
                    "W002",
                    c.pos,
                    c.attr("id"),
                    format!(
                        "<{local}> is not a BPMN element allowed in <{}>; it is kept but not read",
                        container.local
                    ),
                )),
            },
        }
    }
    if let Some(io) = bpmn_child(container, "ioSpecification") {
        for d in io
            .elements()
            .filter(|d| d.local == "dataInput" || d.local == "dataOutput")
        {
            scope.data.push(DataElement {
                kind: d.local.clone(),
                id: id_of(d),
                name: attr(d, "name"),
                reference: None,
                loc: Loc(d.pos),
            });
        }
    }
    scope
}

fn read_event_definitions(e: &Element) -> Vec<EventDefinition> {
    let mut defs = Vec::new();
    for c in e.elements().filter(|c| c.ns.as_deref() == Some(BPMN_MODEL)) {
        let kind = match c.local.as_str() {
            "messageEventDefinition" => EventDefinitionKind::Message {
                message_ref: reference(c, "messageRef"),
            },
            "timerEventDefinition" => EventDefinitionKind::Timer(Timer {
                time_date: bpmn_child(c, "timeDate").map(expression),
                time_duration: bpmn_child(c, "timeDuration").map(expression),
                time_cycle: bpmn_child(c, "timeCycle").map(expression),
            }),
            "signalEventDefinition" => EventDefinitionKind::Signal {
                signal_ref: reference(c, "signalRef"),
            },
            "errorEventDefinition" => EventDefinitionKind::Error {
                error_ref: reference(c, "errorRef"),
            },
            "escalationEventDefinition" => EventDefinitionKind::Escalation {
                escalation_ref: reference(c, "escalationRef"),
            },
            "conditionalEventDefinition" => EventDefinitionKind::Conditional {
                condition: bpmn_child(c, "condition").map(expression),
            },
            "linkEventDefinition" => EventDefinitionKind::Link {
                name: attr(c, "name"),
            },
            "terminateEventDefinition" => EventDefinitionKind::Terminate,
            "cancelEventDefinition" => EventDefinitionKind::Cancel,
            "compensateEventDefinition" => EventDefinitionKind::Compensate {
                activity_ref: attr(c, "activityRef"),
            },
            _ => continue,
        };
        defs.push(EventDefinition {
            kind,
            loc: Loc(c.pos),
        });
    }
    defs
}

fn read_script(
    script_el: Option<&Element>,
    format: Option<String>,
    resource: Option<String>,
    at: Pos,
) -> Script {
    Script {
        format,
        text: script_el.map(|s| s.text()).filter(|t| !t.trim().is_empty()),
        resource,
        loc: Loc(script_el.map_or(at, |s| s.pos)),
    }
}

fn read_flow_node(e: &Element, out: &mut Vec<Diagnostic>) -> Option<FlowNode> {
    let kind = match e.local.as_str() {
        "startEvent" => FlowNodeKind::StartEvent {
            definitions: read_event_definitions(e),
            is_interrupting: bool_attr(e, "isInterrupting", true),
        },
        "endEvent" => FlowNodeKind::EndEvent {
            definitions: read_event_definitions(e),
        },
        "intermediateCatchEvent" => FlowNodeKind::IntermediateCatchEvent {
            definitions: read_event_definitions(e),
        },
        "intermediateThrowEvent" => FlowNodeKind::IntermediateThrowEvent {
            definitions: read_event_definitions(e),
        },
        "boundaryEvent" => FlowNodeKind::BoundaryEvent {
            definitions: read_event_definitions(e),
            attached_to: reference(e, "attachedToRef").unwrap_or_default(),
            cancel_activity: bool_attr(e, "cancelActivity", true),
        },
        "task" => FlowNodeKind::Task,
        "userTask" => FlowNodeKind::UserTask,
        "manualTask" => FlowNodeKind::ManualTask,
        "scriptTask" => FlowNodeKind::ScriptTask {
            script: read_script(
                bpmn_child(e, "script"),
                attr(e, "scriptFormat"),
                e.attr_ns(CAMUNDA, "resource").map(str::to_string),
                e.pos,
            ),
        },
        "serviceTask" => FlowNodeKind::ServiceTask,
        "sendTask" => FlowNodeKind::SendTask {
            message_ref: reference(e, "messageRef"),
        },
        "receiveTask" => FlowNodeKind::ReceiveTask {
            message_ref: reference(e, "messageRef"),
            instantiate: bool_attr(e, "instantiate", false),
        },
        "businessRuleTask" => FlowNodeKind::BusinessRuleTask,
        "exclusiveGateway" => FlowNodeKind::ExclusiveGateway,
        "parallelGateway" => FlowNodeKind::ParallelGateway,
        "inclusiveGateway" => FlowNodeKind::InclusiveGateway,
        "eventBasedGateway" => FlowNodeKind::EventBasedGateway {
            instantiate: bool_attr(e, "instantiate", false),
        },
        "complexGateway" => FlowNodeKind::ComplexGateway,
        "subProcess" => FlowNodeKind::SubProcess {
            triggered_by_event: bool_attr(e, "triggeredByEvent", false),
            scope: Box::new(read_scope(e, out)),
        },
        "transaction" => FlowNodeKind::Transaction {
            scope: Box::new(read_scope(e, out)),
        },
        "adHocSubProcess" => FlowNodeKind::AdHocSubProcess {
            scope: Box::new(read_scope(e, out)),
        },
        "callActivity" => FlowNodeKind::CallActivity {
            called_element: reference(e, "calledElement"),
        },
        _ => return None,
    };
    let loop_characteristics = if let Some(mi) = bpmn_child(e, "multiInstanceLoopCharacteristics") {
        Some(LoopCharacteristics::MultiInstance {
            is_sequential: bool_attr(mi, "isSequential", false),
            loop_cardinality: bpmn_child(mi, "loopCardinality").map(expression),
            completion_condition: bpmn_child(mi, "completionCondition").map(expression),
            collection: mi.attr_ns(CAMUNDA, "collection").map(str::to_string),
            element_variable: mi.attr_ns(CAMUNDA, "elementVariable").map(str::to_string),
            loc: Loc(mi.pos),
        })
    } else {
        bpmn_child(e, "standardLoopCharacteristics").map(|sl| LoopCharacteristics::Standard {
            loop_condition: bpmn_child(sl, "loopCondition").map(expression),
            loop_maximum: sl.attr("loopMaximum").and_then(|m| m.trim().parse().ok()),
            test_before: bool_attr(sl, "testBefore", false),
        })
    };
    Some(FlowNode {
        id: id_of(e),
        name: attr(e, "name"),
        kind,
        default_flow: attr(e, "default"),
        loop_characteristics,
        is_for_compensation: bool_attr(e, "isForCompensation", false),
        camunda: read_camunda(e),
        loc: Loc(e.pos),
    })
}

fn split_list(v: Option<&str>) -> Vec<String> {
    v.map(|v| {
        v.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

fn camunda_children<'a>(e: &'a Element, local: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
    e.children_named(CAMUNDA, local)
}

fn read_camunda(e: &Element) -> Camunda {
    let c = |name: &str| e.attr_ns(CAMUNDA, name).map(str::to_string);
    let mut out = Camunda {
        assignee: c("assignee"),
        candidate_groups: split_list(e.attr_ns(CAMUNDA, "candidateGroups")),
        candidate_users: split_list(e.attr_ns(CAMUNDA, "candidateUsers")),
        due_date: c("dueDate"),
        priority: c("priority"),
        form_key: c("formKey"),
        form_ref: c("formRef"),
        async_before: camunda_bool(e, "asyncBefore") || camunda_bool(e, "async"),
        async_after: camunda_bool(e, "asyncAfter"),
        task_type: c("type"),
        topic: c("topic"),
        expression: c("expression"),
        java_delegate: c("class").or_else(|| c("delegateExpression")),
        result_variable: c("resultVariable"),
        resource: if e.local == "scriptTask" {
            None
        } else {
            c("resource")
        },
        called_element_version: c("calledElementVersion"),
        called_element_binding: c("calledElementBinding"),
        initiator: c("initiator"),
        candidate_starter_groups: split_list(e.attr_ns(CAMUNDA, "candidateStarterGroups")),
        candidate_starter_users: split_list(e.attr_ns(CAMUNDA, "candidateStarterUsers")),
        history_time_to_live: c("historyTimeToLive"),
        ..Camunda::default()
    };
    let Some(ext) = bpmn_child(e, "extensionElements") else {
        return out;
    };
    for form in camunda_children(ext, "formData") {
        for f in camunda_children(form, "formField") {
            let mut field = FormField {
                id: id_of(f),
                label: attr(f, "label"),
                field_type: attr(f, "type"),
                default_value: attr(f, "defaultValue"),
                ..FormField::default()
            };
            for v in camunda_children(f, "validation") {
                for cons in camunda_children(v, "constraint") {
                    field
                        .constraints
                        .push((attr(cons, "name").unwrap_or_default(), attr(cons, "config")));
                }
            }
            for v in camunda_children(f, "value") {
                field.values.push((id_of(v), attr(v, "name")));
            }
            out.form_fields.push(field);
        }
    }
    read_input_output(ext, &mut out.inputs, &mut out.outputs);
    if let Some(c) = camunda_children(ext, "connector").next() {
        let mut connector = crate::bpmn::Connector {
            id: camunda_children(c, "connectorId")
                .next()
                .map(|i| i.text().trim().to_string())
                .unwrap_or_default(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            loc: Loc(c.pos),
        };
        read_input_output(c, &mut connector.inputs, &mut connector.outputs);
        out.connector = Some(connector);
    }
    for (local, target) in [("in", &mut out.in_mappings), ("out", &mut out.out_mappings)] {
        for m in camunda_children(ext, local) {
            target.push(VariableMapping {
                source: attr(m, "source"),
                source_expression: attr(m, "sourceExpression"),
                target: attr(m, "target"),
                all: m.attr("variables") == Some("all"),
                business_key: attr(m, "businessKey"),
                local: bool_attr(m, "local", false),
            });
        }
    }
    for l in camunda_children(ext, "executionListener") {
        let script = camunda_children(l, "script").next().map(|s| Script {
            format: attr(s, "scriptFormat"),
            text: Some(s.text()).filter(|t| !t.trim().is_empty()),
            resource: attr(s, "resource"),
            loc: Loc(s.pos),
        });
        out.execution_listeners.push(Listener {
            event: attr(l, "event").unwrap_or_default(),
            script,
            other: attr(l, "class")
                .or_else(|| attr(l, "expression"))
                .or_else(|| attr(l, "delegateExpression")),
            loc: Loc(l.pos),
        });
    }
    for props in camunda_children(ext, "properties") {
        for p in camunda_children(props, "property") {
            out.properties.push((
                attr(p, "name").unwrap_or_default(),
                attr(p, "value").unwrap_or_default(),
            ));
        }
    }
    out
}

/// The input and output parameters of the `camunda:inputOutput` children of `e`.
fn read_input_output(e: &Element, inputs: &mut Vec<Parameter>, outputs: &mut Vec<Parameter>) {
    for io in camunda_children(e, "inputOutput") {
        for p in camunda_children(io, "inputParameter") {
            inputs.push(read_parameter(p));
        }
        for p in camunda_children(io, "outputParameter") {
            outputs.push(read_parameter(p));
        }
    }
}

fn read_parameter(p: &Element) -> Parameter {
    Parameter {
        name: attr(p, "name").unwrap_or_default(),
        value: read_parameter_value(p),
        loc: Loc(p.pos),
    }
}

fn read_parameter_value(p: &Element) -> ParameterValue {
    match p.elements().find(|c| c.ns.as_deref() == Some(CAMUNDA)) {
        Some(definition) => read_value_definition(definition),
        None if p.text().is_empty() => ParameterValue::Null,
        None => ParameterValue::Text(p.text()),
    }
}

/// A `camunda:script`, `camunda:list`, `camunda:map` or `camunda:value` element.
fn read_value_definition(c: &Element) -> ParameterValue {
    match c.local.as_str() {
        "script" => ParameterValue::Script(Script {
            format: attr(c, "scriptFormat"),
            text: Some(c.text()),
            resource: attr(c, "resource"),
            loc: Loc(c.pos),
        }),
        "list" => ParameterValue::List(
            c.elements()
                .filter(|v| v.ns.as_deref() == Some(CAMUNDA))
                .map(read_value_definition)
                .collect(),
        ),
        "map" => ParameterValue::Map(
            camunda_children(c, "entry")
                .map(|entry| {
                    (
                        attr(entry, "key").unwrap_or_default(),
                        read_parameter_value(entry),
                    )
                })
                .collect(),
        ),
        _ => ParameterValue::Text(c.text()),
    }
}

fn read_collaboration(e: &Element, out: &mut Vec<Diagnostic>) -> Collaboration {
    let _ = out;
    Collaboration {
        id: id_of(e),
        participants: bpmn_children(e, "participant")
            .map(|p| Participant {
                id: id_of(p),
                name: attr(p, "name"),
                process_ref: reference(p, "processRef"),
                loc: Loc(p.pos),
            })
            .collect(),
        message_flows: bpmn_children(e, "messageFlow")
            .map(|m| MessageFlow {
                id: id_of(m),
                source: attr(m, "sourceRef").unwrap_or_default(),
                target: attr(m, "targetRef").unwrap_or_default(),
                message_ref: reference(m, "messageRef"),
                loc: Loc(m.pos),
            })
            .collect(),
        artifacts: read_scope(e, &mut Vec::new()).artifacts,
        loc: Loc(e.pos),
    }
}

fn number(e: &Element, name: &str) -> f64 {
    e.attr(name)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

fn bounds(e: &Element) -> Option<Bounds> {
    e.child(DC, "Bounds").map(|b| Bounds {
        x: number(b, "x"),
        y: number(b, "y"),
        width: number(b, "width"),
        height: number(b, "height"),
    })
}

fn label_bounds(e: &Element) -> Option<Bounds> {
    e.child(BPMN_DI, "BPMNLabel").and_then(bounds)
}

fn read_diagram(e: &Element) -> Diagram {
    Diagram {
        id: attr(e, "id"),
        name: attr(e, "name"),
        plane: e.child(BPMN_DI, "BPMNPlane").map(|p| Plane {
            id: attr(p, "id"),
            bpmn_element: attr(p, "bpmnElement"),
            shapes: p
                .children_named(BPMN_DI, "BPMNShape")
                .map(|s| Shape {
                    id: attr(s, "id"),
                    bpmn_element: attr(s, "bpmnElement"),
                    bounds: bounds(s),
                    label_bounds: label_bounds(s),
                    is_expanded: s.attr("isExpanded").map(|v| v == "true"),
                    is_horizontal: s.attr("isHorizontal").map(|v| v == "true"),
                    loc: Loc(s.pos),
                })
                .collect(),
            edges: p
                .children_named(BPMN_DI, "BPMNEdge")
                .map(|s| Edge {
                    id: attr(s, "id"),
                    bpmn_element: attr(s, "bpmnElement"),
                    waypoints: s
                        .children_named(DI, "waypoint")
                        .map(|w| (number(w, "x"), number(w, "y")))
                        .collect(),
                    label_bounds: label_bounds(s),
                    loc: Loc(s.pos),
                })
                .collect(),
            loc: Loc(p.pos),
        }),
        loc: Loc(e.pos),
    }
}
