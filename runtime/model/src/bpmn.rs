//! The typed BPMN 2.0 model: what a file means, read from the lossless tree.
//!
//! Element and attribute names follow the BPMN 2.0 specification; the
//! `camunda:` engine attributes are gathered in [`Camunda`]. Every element
//! keeps its [`Loc`] so diagnostics can point at the line it came from.

use crate::xml::Pos;

/// Where an element stands in its file. Two models are equal when they mean
/// the same, wherever their elements stand, so a `Loc` always compares equal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Loc(pub Pos);

impl PartialEq for Loc {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The root of a BPMN file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Definitions {
    /// `id` of `<definitions>`.
    pub id: Option<String>,
    /// The default expression language of the file.
    pub expression_language: Option<String>,
    /// `exporter` and `exporterVersion`, when a tool wrote them.
    pub exporter: Option<String>,
    /// Processes, in file order.
    pub processes: Vec<Process>,
    /// Collaborations (pools and message flows).
    pub collaborations: Vec<Collaboration>,
    /// Message definitions.
    pub messages: Vec<Message>,
    /// Signal definitions.
    pub signals: Vec<Signal>,
    /// Error definitions.
    pub errors: Vec<ErrorDefinition>,
    /// Escalation definitions.
    pub escalations: Vec<Escalation>,
    /// Top-level data stores.
    pub data_stores: Vec<Identified>,
    /// `<import>` elements.
    pub imports: Vec<Import>,
    /// Diagrams (BPMNDI).
    pub diagrams: Vec<Diagram>,
}

/// An element known only by its id and name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Identified {
    /// The element's id.
    pub id: String,
    /// The element's name.
    pub name: Option<String>,
    /// Where it stands.
    pub loc: Loc,
}

/// `<message>`.
pub type Message = Identified;
/// `<signal>`.
pub type Signal = Identified;

/// `<error>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ErrorDefinition {
    /// The element's id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// `errorCode`, what a catching event matches on.
    pub error_code: Option<String>,
    /// Where it stands.
    pub loc: Loc,
}

/// `<escalation>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Escalation {
    /// The element's id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// `escalationCode`.
    pub escalation_code: Option<String>,
    /// Where it stands.
    pub loc: Loc,
}

/// `<import>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Import {
    /// `importType`.
    pub import_type: Option<String>,
    /// `location`.
    pub location: Option<String>,
    /// `namespace`.
    pub namespace: Option<String>,
}

/// `<process>`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Process {
    /// The process id: the key a definition is deployed and started by.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// `isExecutable`; `None` when absent (which BPMN reads as not executable).
    pub is_executable: Option<bool>,
    /// The flow elements directly in the process.
    pub scope: Scope,
    /// Lanes of all lane sets, nested lanes flattened in order.
    pub lanes: Vec<Lane>,
    /// Engine attributes of the process (execution listeners, properties).
    pub camunda: Camunda,
    /// Where it stands.
    pub loc: Loc,
}

impl Process {
    /// Whether the process is meant to run (`isExecutable="true"`).
    pub fn executable(&self) -> bool {
        self.is_executable == Some(true)
    }
}

/// What one flow scope (a process or a sub-process) holds directly.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scope {
    /// Flow nodes, in file order.
    pub nodes: Vec<FlowNode>,
    /// Sequence flows, in file order.
    pub flows: Vec<SequenceFlow>,
    /// Text annotations, associations and groups.
    pub artifacts: Vec<Artifact>,
    /// Data objects, their references, data store references, data inputs and outputs.
    pub data: Vec<DataElement>,
}

impl Scope {
    /// The node with this id directly in this scope.
    pub fn node(&self, id: &str) -> Option<&FlowNode> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Every flow node in this scope and, depth first, in its sub-processes.
    pub fn all_nodes(&self) -> Vec<&FlowNode> {
        let mut out = Vec::new();
        fn walk<'a>(s: &'a Scope, out: &mut Vec<&'a FlowNode>) {
            for n in &s.nodes {
                out.push(n);
                if let Some(inner) = n.kind.scope() {
                    walk(inner, out);
                }
            }
        }
        walk(self, &mut out);
        out
    }

    /// Every sequence flow in this scope and, depth first, in its sub-processes.
    pub fn all_flows(&self) -> Vec<&SequenceFlow> {
        let mut out: Vec<&SequenceFlow> = self.flows.iter().collect();
        for n in &self.nodes {
            if let Some(inner) = n.kind.scope() {
                out.extend(inner.all_flows());
            }
        }
        out
    }
}

/// A lane.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lane {
    /// The lane's id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// The flow nodes it lists.
    pub flow_node_refs: Vec<String>,
    /// Where it stands.
    pub loc: Loc,
}

/// An artifact.
#[derive(Debug, Clone, PartialEq)]
pub enum Artifact {
    /// `<textAnnotation>` with its text.
    TextAnnotation {
        /// The id.
        id: String,
        /// The annotation's text.
        text: String,
        /// Where it stands.
        loc: Loc,
    },
    /// `<association>`.
    Association {
        /// The id.
        id: String,
        /// `sourceRef`.
        source: String,
        /// `targetRef`.
        target: String,
        /// Where it stands.
        loc: Loc,
    },
    /// `<group>`.
    Group {
        /// The id.
        id: String,
        /// `categoryValueRef`.
        category_value_ref: Option<String>,
        /// Where it stands.
        loc: Loc,
    },
}

/// A data element of a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct DataElement {
    /// What kind (`dataObject`, `dataObjectReference`, `dataStoreReference`, `dataInput`, `dataOutput`, `property`).
    pub kind: String,
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// `dataObjectRef` or `dataStoreRef`, for references.
    pub reference: Option<String>,
    /// Where it stands.
    pub loc: Loc,
}

/// A flow node: an event, an activity or a gateway.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowNode {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// What kind of node it is, with what that kind carries.
    pub kind: FlowNodeKind,
    /// `default`: the flow taken when no condition holds (gateways and activities).
    pub default_flow: Option<String>,
    /// Standard loop or multi-instance characteristics (activities).
    pub loop_characteristics: Option<LoopCharacteristics>,
    /// `isForCompensation` (activities).
    pub is_for_compensation: bool,
    /// Engine attributes.
    pub camunda: Camunda,
    /// Where it stands.
    pub loc: Loc,
}

/// The kinds of flow node of BPMN 2.0, by their spec names.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum FlowNodeKind {
    StartEvent {
        definitions: Vec<EventDefinition>,
        is_interrupting: bool,
    },
    EndEvent {
        definitions: Vec<EventDefinition>,
    },
    IntermediateCatchEvent {
        definitions: Vec<EventDefinition>,
    },
    IntermediateThrowEvent {
        definitions: Vec<EventDefinition>,
    },
    BoundaryEvent {
        definitions: Vec<EventDefinition>,
        attached_to: String,
        cancel_activity: bool,
    },
    Task,
    UserTask,
    ManualTask,
    ScriptTask {
        script: Script,
    },
    ServiceTask,
    SendTask {
        message_ref: Option<String>,
    },
    ReceiveTask {
        message_ref: Option<String>,
        instantiate: bool,
    },
    BusinessRuleTask,
    ExclusiveGateway,
    ParallelGateway,
    InclusiveGateway,
    EventBasedGateway {
        instantiate: bool,
    },
    ComplexGateway,
    SubProcess {
        triggered_by_event: bool,
        scope: Box<Scope>,
    },
    Transaction {
        scope: Box<Scope>,
    },
    AdHocSubProcess {
        scope: Box<Scope>,
    },
    CallActivity {
        called_element: Option<String>,
    },
}

impl FlowNodeKind {
    /// The BPMN element name (`userTask`, `exclusiveGateway`, …).
    pub fn element_name(&self) -> &'static str {
        match self {
            FlowNodeKind::StartEvent { .. } => "startEvent",
            FlowNodeKind::EndEvent { .. } => "endEvent",
            FlowNodeKind::IntermediateCatchEvent { .. } => "intermediateCatchEvent",
            FlowNodeKind::IntermediateThrowEvent { .. } => "intermediateThrowEvent",
            FlowNodeKind::BoundaryEvent { .. } => "boundaryEvent",
            FlowNodeKind::Task => "task",
            FlowNodeKind::UserTask => "userTask",
            FlowNodeKind::ManualTask => "manualTask",
            FlowNodeKind::ScriptTask { .. } => "scriptTask",
            FlowNodeKind::ServiceTask => "serviceTask",
            FlowNodeKind::SendTask { .. } => "sendTask",
            FlowNodeKind::ReceiveTask { .. } => "receiveTask",
            FlowNodeKind::BusinessRuleTask => "businessRuleTask",
            FlowNodeKind::ExclusiveGateway => "exclusiveGateway",
            FlowNodeKind::ParallelGateway => "parallelGateway",
            FlowNodeKind::InclusiveGateway => "inclusiveGateway",
            FlowNodeKind::EventBasedGateway { .. } => "eventBasedGateway",
            FlowNodeKind::ComplexGateway => "complexGateway",
            FlowNodeKind::SubProcess { .. } => "subProcess",
            FlowNodeKind::Transaction { .. } => "transaction",
            FlowNodeKind::AdHocSubProcess { .. } => "adHocSubProcess",
            FlowNodeKind::CallActivity { .. } => "callActivity",
        }
    }

    /// The inner scope of a sub-process kind.
    pub fn scope(&self) -> Option<&Scope> {
        match self {
            FlowNodeKind::SubProcess { scope, .. }
            | FlowNodeKind::Transaction { scope }
            | FlowNodeKind::AdHocSubProcess { scope } => Some(scope),
            _ => None,
        }
    }

    /// The inner scope of a sub-process kind, to change.
    pub fn scope_mut(&mut self) -> Option<&mut Scope> {
        match self {
            FlowNodeKind::SubProcess { scope, .. }
            | FlowNodeKind::Transaction { scope }
            | FlowNodeKind::AdHocSubProcess { scope } => Some(scope),
            _ => None,
        }
    }

    /// The event definitions of an event kind; empty for other kinds.
    pub fn event_definitions(&self) -> &[EventDefinition] {
        match self {
            FlowNodeKind::StartEvent { definitions, .. }
            | FlowNodeKind::EndEvent { definitions }
            | FlowNodeKind::IntermediateCatchEvent { definitions }
            | FlowNodeKind::IntermediateThrowEvent { definitions }
            | FlowNodeKind::BoundaryEvent { definitions, .. } => definitions,
            _ => &[],
        }
    }

    /// Whether this is an activity (task, sub-process or call activity).
    pub fn is_activity(&self) -> bool {
        matches!(
            self,
            FlowNodeKind::Task
                | FlowNodeKind::UserTask
                | FlowNodeKind::ManualTask
                | FlowNodeKind::ScriptTask { .. }
                | FlowNodeKind::ServiceTask
                | FlowNodeKind::SendTask { .. }
                | FlowNodeKind::ReceiveTask { .. }
                | FlowNodeKind::BusinessRuleTask
                | FlowNodeKind::SubProcess { .. }
                | FlowNodeKind::Transaction { .. }
                | FlowNodeKind::AdHocSubProcess { .. }
                | FlowNodeKind::CallActivity { .. }
        )
    }

    /// Whether this is a gateway.
    pub fn is_gateway(&self) -> bool {
        matches!(
            self,
            FlowNodeKind::ExclusiveGateway
                | FlowNodeKind::ParallelGateway
                | FlowNodeKind::InclusiveGateway
                | FlowNodeKind::EventBasedGateway { .. }
                | FlowNodeKind::ComplexGateway
        )
    }
}

/// An event definition with where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDefinition {
    /// What triggers or is thrown.
    pub kind: EventDefinitionKind,
    /// Where it stands.
    pub loc: Loc,
}

/// The event definitions of BPMN 2.0.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum EventDefinitionKind {
    Message { message_ref: Option<String> },
    Timer(Timer),
    Signal { signal_ref: Option<String> },
    Error { error_ref: Option<String> },
    Escalation { escalation_ref: Option<String> },
    Conditional { condition: Option<Expression> },
    Link { name: Option<String> },
    Terminate,
    Cancel,
    Compensate { activity_ref: Option<String> },
}

impl EventDefinitionKind {
    /// The BPMN element name (`timerEventDefinition`, …).
    pub fn element_name(&self) -> &'static str {
        match self {
            EventDefinitionKind::Message { .. } => "messageEventDefinition",
            EventDefinitionKind::Timer(_) => "timerEventDefinition",
            EventDefinitionKind::Signal { .. } => "signalEventDefinition",
            EventDefinitionKind::Error { .. } => "errorEventDefinition",
            EventDefinitionKind::Escalation { .. } => "escalationEventDefinition",
            EventDefinitionKind::Conditional { .. } => "conditionalEventDefinition",
            EventDefinitionKind::Link { .. } => "linkEventDefinition",
            EventDefinitionKind::Terminate => "terminateEventDefinition",
            EventDefinitionKind::Cancel => "cancelEventDefinition",
            EventDefinitionKind::Compensate { .. } => "compensateEventDefinition",
        }
    }
}

/// A timer event definition: at most one of date, duration and cycle.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timer {
    /// `timeDate`.
    pub time_date: Option<Expression>,
    /// `timeDuration`.
    pub time_duration: Option<Expression>,
    /// `timeCycle`.
    pub time_cycle: Option<Expression>,
}

/// A condition or other expression, with its language as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expression {
    /// The text of the expression, trimmed.
    pub text: String,
    /// `language` as written on the element; `None` means the file's default.
    pub language: Option<String>,
    /// Where it stands.
    pub loc: Loc,
}

/// The script of a script task or listener.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Script {
    /// `scriptFormat`.
    pub format: Option<String>,
    /// The inline script text.
    pub text: Option<String>,
    /// `camunda:resource`: a script file from `scripts/`.
    pub resource: Option<String>,
    /// Where the script text starts (for line numbers inside it).
    pub loc: Loc,
}

/// A sequence flow.
#[derive(Debug, Clone, PartialEq)]
pub struct SequenceFlow {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// `sourceRef`.
    pub source: String,
    /// `targetRef`.
    pub target: String,
    /// `conditionExpression`.
    pub condition: Option<Expression>,
    /// Engine attributes (take listeners).
    pub camunda: Camunda,
    /// Where it stands.
    pub loc: Loc,
}

/// Loop characteristics of an activity.
#[derive(Debug, Clone, PartialEq)]
pub enum LoopCharacteristics {
    /// `standardLoopCharacteristics`.
    Standard {
        /// `loopCondition`.
        loop_condition: Option<Expression>,
        /// `loopMaximum`.
        loop_maximum: Option<u64>,
        /// `testBefore`.
        test_before: bool,
    },
    /// `multiInstanceLoopCharacteristics`.
    MultiInstance {
        /// `isSequential`.
        is_sequential: bool,
        /// `loopCardinality`.
        loop_cardinality: Option<Expression>,
        /// `completionCondition`.
        completion_condition: Option<Expression>,
        /// `camunda:collection`.
        collection: Option<String>,
        /// `camunda:elementVariable`.
        element_variable: Option<String>,
        /// Where it stands.
        loc: Loc,
    },
}

/// The `camunda:` attributes and extension elements Millrace reads.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Camunda {
    /// `camunda:assignee`.
    pub assignee: Option<String>,
    /// `camunda:candidateGroups`, split on commas.
    pub candidate_groups: Vec<String>,
    /// `camunda:candidateUsers`, split on commas.
    pub candidate_users: Vec<String>,
    /// `camunda:dueDate`.
    pub due_date: Option<String>,
    /// `camunda:priority`.
    pub priority: Option<String>,
    /// `camunda:formKey`.
    pub form_key: Option<String>,
    /// `camunda:formRef`.
    pub form_ref: Option<String>,
    /// `camunda:formData` fields.
    pub form_fields: Vec<FormField>,
    /// `camunda:asyncBefore` (or the legacy `camunda:async`).
    pub async_before: bool,
    /// `camunda:asyncAfter`.
    pub async_after: bool,
    /// `camunda:type` (`external` for external workers).
    pub task_type: Option<String>,
    /// `camunda:topic`.
    pub topic: Option<String>,
    /// `camunda:expression`.
    pub expression: Option<String>,
    /// `camunda:class` or `camunda:delegateExpression` (Java; not supported).
    pub java_delegate: Option<String>,
    /// `camunda:resultVariable`.
    pub result_variable: Option<String>,
    /// `camunda:resource` on a task that is not a script task.
    pub resource: Option<String>,
    /// `camunda:calledElementVersion`.
    pub called_element_version: Option<String>,
    /// `camunda:calledElementBinding`.
    pub called_element_binding: Option<String>,
    /// `camunda:inputOutput` input parameters.
    pub inputs: Vec<Parameter>,
    /// `camunda:inputOutput` output parameters.
    pub outputs: Vec<Parameter>,
    /// Call-activity `camunda:in` mappings.
    pub in_mappings: Vec<VariableMapping>,
    /// Call-activity `camunda:out` mappings.
    pub out_mappings: Vec<VariableMapping>,
    /// `camunda:executionListener`s.
    pub execution_listeners: Vec<Listener>,
    /// `camunda:properties`.
    pub properties: Vec<(String, String)>,
    /// `camunda:initiator` on a start event.
    pub initiator: Option<String>,
    /// `camunda:candidateStarterGroups` on a process, split on commas: who may start it.
    pub candidate_starter_groups: Vec<String>,
    /// `camunda:candidateStarterUsers` on a process, split on commas.
    pub candidate_starter_users: Vec<String>,
    /// `camunda:historyTimeToLive` on a process: how long its ended
    /// instances are kept (days, or an ISO 8601 duration such as `P180D`).
    pub history_time_to_live: Option<String>,
    /// `camunda:connector` on a service or send task: how it reaches data or the outside world.
    pub connector: Option<Connector>,
}

/// A `camunda:connector` (Camunda 7's shape): which connector, with its own
/// input parameters (what the call is given) and output parameters (what of
/// its response is kept, evaluated with the response's variables in view).
#[derive(Debug, Clone, PartialEq)]
pub struct Connector {
    /// `camunda:connectorId` (`sql`, `mail`, `http`).
    pub id: String,
    /// The connector's `camunda:inputOutput` input parameters.
    pub inputs: Vec<Parameter>,
    /// The connector's `camunda:inputOutput` output parameters.
    pub outputs: Vec<Parameter>,
    /// Where it stands.
    pub loc: Loc,
}

/// A `camunda:formField`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FormField {
    /// `id`: the variable it sets.
    pub id: String,
    /// `label`.
    pub label: Option<String>,
    /// `type` (`string`, `long`, `boolean`, `date`, `enum`, …).
    pub field_type: Option<String>,
    /// `defaultValue`.
    pub default_value: Option<String>,
    /// `camunda:constraint`s as (name, config).
    pub constraints: Vec<(String, Option<String>)>,
    /// `camunda:value`s of an enum field as (id, name).
    pub values: Vec<(String, Option<String>)>,
}

/// An input or output parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The variable name.
    pub name: String,
    /// Its value definition.
    pub value: ParameterValue,
    /// Where it stands.
    pub loc: Loc,
}

/// The value of a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum ParameterValue {
    /// No content: null.
    Null,
    /// Text content: a constant string.
    Text(String),
    /// `<camunda:script>`: an expression evaluated when the mapping runs.
    Script(Script),
    /// `<camunda:list>`.
    List(Vec<ParameterValue>),
    /// `<camunda:map>` with its entries.
    Map(Vec<(String, ParameterValue)>),
}

/// A `camunda:in` or `camunda:out` mapping.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct VariableMapping {
    /// `source`.
    pub source: Option<String>,
    /// `sourceExpression`.
    pub source_expression: Option<String>,
    /// `target`.
    pub target: Option<String>,
    /// `variables="all"`.
    pub all: bool,
    /// `businessKey` (an expression for the called instance's business key).
    pub business_key: Option<String>,
    /// `local="true"`.
    pub local: bool,
}

/// A `camunda:executionListener`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Listener {
    /// `event`: `start`, `end` or `take`.
    pub event: String,
    /// Its script.
    pub script: Option<Script>,
    /// `class`, `expression` or `delegateExpression` (not supported).
    pub other: Option<String>,
    /// Where it stands.
    pub loc: Loc,
}

/// A collaboration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Collaboration {
    /// Its id.
    pub id: String,
    /// Pools.
    pub participants: Vec<Participant>,
    /// Message flows.
    pub message_flows: Vec<MessageFlow>,
    /// Artifacts drawn on the collaboration.
    pub artifacts: Vec<Artifact>,
    /// Where it stands.
    pub loc: Loc,
}

/// A participant (pool).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Participant {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// `processRef`.
    pub process_ref: Option<String>,
    /// Where it stands.
    pub loc: Loc,
}

/// A message flow.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MessageFlow {
    /// Its id.
    pub id: String,
    /// `sourceRef`.
    pub source: String,
    /// `targetRef`.
    pub target: String,
    /// `messageRef`.
    pub message_ref: Option<String>,
    /// Where it stands.
    pub loc: Loc,
}

/// A BPMNDiagram.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Diagram {
    /// Its id.
    pub id: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// Its plane; a diagram may have none.
    pub plane: Option<Plane>,
    /// Where it stands.
    pub loc: Loc,
}

/// A BPMNPlane.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plane {
    /// Its id.
    pub id: Option<String>,
    /// `bpmnElement`.
    pub bpmn_element: Option<String>,
    /// Shapes.
    pub shapes: Vec<Shape>,
    /// Edges.
    pub edges: Vec<Edge>,
    /// Where it stands.
    pub loc: Loc,
}

/// Bounds of a shape or label.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[allow(missing_docs)]
pub struct Bounds {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// A BPMNShape.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Shape {
    /// Its id.
    pub id: Option<String>,
    /// `bpmnElement`.
    pub bpmn_element: Option<String>,
    /// Its bounds.
    pub bounds: Option<Bounds>,
    /// Its label's bounds.
    pub label_bounds: Option<Bounds>,
    /// `isExpanded`.
    pub is_expanded: Option<bool>,
    /// `isHorizontal`.
    pub is_horizontal: Option<bool>,
    /// Where it stands.
    pub loc: Loc,
}

/// A BPMNEdge.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Edge {
    /// Its id.
    pub id: Option<String>,
    /// `bpmnElement`.
    pub bpmn_element: Option<String>,
    /// Waypoints as (x, y).
    pub waypoints: Vec<(f64, f64)>,
    /// Its label's bounds.
    pub label_bounds: Option<Bounds>,
    /// Where it stands.
    pub loc: Loc,
}

impl Definitions {
    /// The process with this id.
    pub fn process(&self, id: &str) -> Option<&Process> {
        self.processes.iter().find(|p| p.id == id)
    }

    /// The executable processes.
    pub fn executable_processes(&self) -> impl Iterator<Item = &Process> {
        self.processes.iter().filter(|p| p.executable())
    }

    /// The message with this id.
    pub fn message(&self, id: &str) -> Option<&Message> {
        self.messages.iter().find(|m| m.id == id)
    }

    /// The signal with this id.
    pub fn signal(&self, id: &str) -> Option<&Signal> {
        self.signals.iter().find(|m| m.id == id)
    }

    /// The error with this id.
    pub fn error(&self, id: &str) -> Option<&ErrorDefinition> {
        self.errors.iter().find(|m| m.id == id)
    }

    /// The escalation with this id.
    pub fn escalation(&self, id: &str) -> Option<&Escalation> {
        self.escalations.iter().find(|m| m.id == id)
    }
}

/// The expression of an assignment or due date written as `${…}` or `#{…}`
/// (Camunda's notation; inside, a Rhai expression, which the common JUEL
/// forms `${initiator}` and `${customer.email}` already are).
pub fn assignment_expression(text: &str) -> Option<&str> {
    let t = text.trim();
    let inner = t
        .strip_prefix("${")
        .or_else(|| t.strip_prefix("#{"))?
        .strip_suffix('}')?;
    (!inner.trim().is_empty()).then_some(inner)
}
