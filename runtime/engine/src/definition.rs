//! A deployable process compiled for execution: flat node and flow tables
//! with integer indices, scripts compiled once, timers parsed once.
//!
//! Invariant: a `ProcessDefinition` only exists for a process that passed
//! validation; the executor may index its tables without checking.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use millrace_model::bpmn::{
    self, EventDefinitionKind, FlowNode, FlowNodeKind, LoopCharacteristics, Parameter,
    ParameterValue, Scope,
};
use millrace_model::timer::{self, TimerValue};
use millrace_model::validate::{self, ScriptChecker};
use millrace_model::{Diagnostic, Model, Severity};

use crate::script::{CompiledScript, ScriptHost, ScriptKind};

/// Index of a node in [`ProcessDefinition::nodes`].
pub type NodeIx = u32;
/// Index of a flow in [`ProcessDefinition::flows`].
pub type FlowIx = u32;
/// Index of a scope in [`ProcessDefinition::scopes`]; 0 is the process.
pub type ScopeIx = u32;

/// A compiled script with the text it came from.
#[derive(Debug, Clone)]
pub struct Code {
    /// The compiled form.
    pub compiled: Arc<dyn CompiledScript>,
    /// The source text, for messages.
    pub text: String,
}

/// Which of a timer's three forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerKind {
    /// `timeDate`.
    Date,
    /// `timeDuration`.
    Duration,
    /// `timeCycle`.
    Cycle,
}

/// A timer: fixed ISO 8601 text parsed once, or a Rhai expression
/// (`language="rhai"`) evaluated when the timer starts, giving a date-time
/// or ISO 8601 text.
#[derive(Debug, Clone)]
pub enum TimerSpec {
    /// Parsed at deploy.
    Fixed(TimerValue),
    /// Evaluated when the timer starts.
    Computed {
        /// Which form the value takes.
        kind: TimerKind,
        /// The expression.
        code: Code,
    },
}

impl TimerSpec {
    /// Reads a computed timer's value.
    pub fn read(kind: TimerKind, value: &crate::value::Value) -> Result<TimerValue, String> {
        use crate::value::Value;
        match (kind, value) {
            (TimerKind::Date, Value::DateTime(d)) => Ok(TimerValue::Date(*d)),
            (TimerKind::Date, Value::String(s)) => timer::parse_date(s).map(TimerValue::Date),
            (TimerKind::Duration, Value::String(s)) => {
                timer::parse_duration(s).map(TimerValue::Duration)
            }
            (TimerKind::Cycle, Value::String(s)) => timer::parse_cycle(s),
            (_, other) => Err(format!(
                "the timer expression gave a {}, not a date-time or ISO 8601 text",
                other.type_name()
            )),
        }
    }
}

/// What starts or triggers a catching event.
#[derive(Debug, Clone)]
pub enum Trigger {
    /// No trigger (a none start event).
    None,
    /// A timer.
    Timer(TimerSpec),
    /// A message, by name.
    Message(String),
    /// A signal, by name.
    Signal(String),
    /// An error, by code; `None` catches every error.
    Error(Option<String>),
    /// An escalation, by code; `None` catches every escalation.
    Escalation(Option<String>),
    /// A condition over the variables.
    Conditional(Code),
    /// A link catch, by link name.
    Link(String),
    /// Compensation: on a boundary event, marks its activity's compensation
    /// handler ([`Node::compensation_handler`]); on an event sub-process's
    /// start, makes that event sub-process its sub-process's compensation.
    /// Never a subscription: a compensation throw finds what to compensate.
    Compensation,
}

/// What a throwing event or end event does.
#[derive(Debug, Clone, PartialEq)]
pub enum Throw {
    /// Nothing (a none event).
    None,
    /// Ends every token of the scope (terminate end event).
    Terminate,
    /// Throws an error with this code.
    Error(Option<String>),
    /// Throws an escalation with this code.
    Escalation(Option<String>),
    /// Sends a message by name.
    Message(String),
    /// Broadcasts a signal by name.
    Signal(String),
    /// Jumps to the link catch event of this name.
    Link(String),
    /// Compensates the completed activity with this BPMN id (`activityRef`),
    /// or, with none, every completed activity of the scope, the latest
    /// first; the throw waits until the compensation is done.
    Compensate(Option<String>),
}

/// How a call activity picks the called definition's version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionBinding {
    /// The latest deployed version when the call happens.
    Latest,
    /// A fixed version number.
    Version(i64),
}

/// What a node does.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// A start event.
    StartEvent {
        /// What starts it.
        trigger: Trigger,
        /// For event sub-process starts: whether it interrupts its parent scope.
        interrupting: bool,
    },
    /// An end event.
    EndEvent(Throw),
    /// An intermediate catch event.
    CatchEvent(Trigger),
    /// An intermediate throw event.
    ThrowEvent(Throw),
    /// A boundary event.
    BoundaryEvent {
        /// What triggers it.
        trigger: Trigger,
        /// The activity it is attached to.
        attached_to: NodeIx,
        /// Whether it cancels the activity.
        interrupting: bool,
    },
    /// A task that completes at once (task, manual task).
    PassThrough,
    /// A user task: waits for a person.
    UserTask(UserTaskSpec),
    /// A script (script task, or a service or business-rule task with a Rhai script).
    Script {
        /// The script.
        code: Code,
        /// `camunda:resultVariable`.
        result_variable: Option<String>,
    },
    /// A service task worked by an external worker.
    ExternalTask {
        /// The topic workers fetch it by.
        topic: String,
    },
    /// A connector task (`camunda:connector`): `mail` queues its mail at once;
    /// any other connector is called by the worker outside the step, as a job.
    Connector {
        /// `camunda:connectorId`.
        connector: String,
        /// The connector's input parameters.
        inputs: Vec<(String, MappingValue)>,
        /// The connector's output parameters, evaluated with the response in view.
        outputs: Vec<(String, MappingValue)>,
    },
    /// A mail task (`camunda:type="mail"`): queues the mail its input
    /// parameters `to`, `subject` and `body` describe, and moves on.
    Mail,
    /// A send task: sends a message and moves on.
    SendTask {
        /// The message's name, if it names one.
        message: Option<String>,
    },
    /// A receive task: waits for a message.
    ReceiveTask {
        /// The message's name.
        message: String,
    },
    /// An exclusive gateway.
    ExclusiveGateway,
    /// A parallel gateway.
    ParallelGateway,
    /// An inclusive gateway.
    InclusiveGateway,
    /// An event-based gateway.
    EventBasedGateway,
    /// An embedded sub-process.
    SubProcess,
    /// An event sub-process.
    EventSubProcess,
    /// A call activity.
    CallActivity {
        /// The called process key.
        called: String,
        /// Which version.
        binding: VersionBinding,
    },
}

impl NodeKind {
    /// What kind of element it is, in words (`user task`, `timer`…): what a
    /// migration compares, since an element maps only to one of its kind.
    pub fn kind_name(&self) -> &'static str {
        match self {
            NodeKind::StartEvent { .. } => "start event",
            NodeKind::EndEvent(_) => "end event",
            NodeKind::CatchEvent(_) => "intermediate catch event",
            NodeKind::ThrowEvent(_) => "intermediate throw event",
            NodeKind::BoundaryEvent { .. } => "boundary event",
            NodeKind::PassThrough => "task",
            NodeKind::UserTask(_) => "user task",
            NodeKind::Script { .. } => "script task",
            NodeKind::ExternalTask { .. } => "external task",
            NodeKind::Connector { .. } => "connector task",
            NodeKind::Mail => "mail task",
            NodeKind::SendTask { .. } => "send task",
            NodeKind::ReceiveTask { .. } => "receive task",
            NodeKind::ExclusiveGateway => "exclusive gateway",
            NodeKind::ParallelGateway => "parallel gateway",
            NodeKind::InclusiveGateway => "inclusive gateway",
            NodeKind::EventBasedGateway => "event-based gateway",
            NodeKind::SubProcess => "sub-process",
            NodeKind::EventSubProcess => "event sub-process",
            NodeKind::CallActivity { .. } => "call activity",
        }
    }
}

/// A user task's assignment, dates and form.
#[derive(Debug, Clone, Default)]
pub struct UserTaskSpec {
    /// `camunda:assignee`.
    pub assignee: Option<String>,
    /// `camunda:candidateGroups`.
    pub candidate_groups: Vec<String>,
    /// `camunda:candidateUsers`.
    pub candidate_users: Vec<String>,
    /// `camunda:dueDate` (an ISO date or duration from creation).
    pub due_date: Option<String>,
    /// `camunda:priority`.
    pub priority: Option<i64>,
    /// `camunda:formRef` or `camunda:formKey`.
    pub form: Option<String>,
    /// `camunda:formData` fields.
    pub form_fields: Vec<bpmn::FormField>,
    /// The assignee, candidates and due date written as expressions
    /// (`${initiator}`, `#{reviewers}`), compiled, by the text as written.
    pub expressions: std::collections::HashMap<String, Code>,
}

/// A compiled input or output mapping value.
#[derive(Debug, Clone)]
pub enum MappingValue {
    /// A constant.
    Constant(crate::value::Value),
    /// A script's value.
    Script(Code),
    /// A list of values.
    List(Vec<MappingValue>),
    /// A map of values.
    Map(Vec<(String, MappingValue)>),
}

/// A compiled `camunda:in`/`camunda:out` mapping.
#[derive(Debug, Clone)]
pub enum CallMapping {
    /// Every variable.
    All,
    /// One variable, renamed.
    Variable {
        /// The source variable.
        source: String,
        /// The target variable.
        target: String,
    },
    /// An expression's value into a variable.
    Expression {
        /// The expression.
        code: Code,
        /// The target variable.
        target: String,
    },
    /// The business key of the called instance.
    BusinessKey(Code),
}

/// Multi-instance characteristics.
#[derive(Debug, Clone)]
pub struct MultiInstance {
    /// One instance after another.
    pub sequential: bool,
    /// `loopCardinality`.
    pub cardinality: Option<Code>,
    /// `camunda:collection`: a variable name or an expression giving a list.
    pub collection: Option<Code>,
    /// `camunda:elementVariable`.
    pub element_variable: Option<String>,
    /// `completionCondition`.
    pub completion_condition: Option<Code>,
}

/// Standard loop characteristics.
#[derive(Debug, Clone)]
pub struct StandardLoop {
    /// `loopCondition`: run again while true.
    pub condition: Option<Code>,
    /// `loopMaximum`.
    pub maximum: Option<u64>,
    /// `testBefore`.
    pub test_before: bool,
}

/// Execution listeners of one event.
#[derive(Debug, Clone, Default)]
pub struct Listeners {
    /// On start.
    pub start: Vec<Code>,
    /// On end.
    pub end: Vec<Code>,
    /// On take (sequence flows).
    pub take: Vec<Code>,
}

/// A compiled flow node.
#[derive(Debug, Clone)]
pub struct Node {
    /// The BPMN id.
    pub id: String,
    /// The name.
    pub name: Option<String>,
    /// What it does.
    pub kind: NodeKind,
    /// The scope it stands in.
    pub scope: ScopeIx,
    /// For sub-processes: the scope it opens.
    pub inner_scope: Option<ScopeIx>,
    /// Incoming sequence flows.
    pub incoming: Vec<FlowIx>,
    /// Outgoing sequence flows.
    pub outgoing: Vec<FlowIx>,
    /// The default flow.
    pub default_flow: Option<FlowIx>,
    /// Boundary events attached to it.
    pub boundaries: Vec<NodeIx>,
    /// `camunda:asyncBefore`.
    pub async_before: bool,
    /// `camunda:asyncAfter`.
    pub async_after: bool,
    /// Input mappings.
    pub inputs: Vec<(String, MappingValue)>,
    /// Output mappings.
    pub outputs: Vec<(String, MappingValue)>,
    /// `camunda:in` mappings (call activities).
    pub call_in: Vec<CallMapping>,
    /// `camunda:out` mappings (call activities).
    pub call_out: Vec<CallMapping>,
    /// Execution listeners.
    pub listeners: Listeners,
    /// Multi-instance characteristics.
    pub multi_instance: Option<MultiInstance>,
    /// Standard loop characteristics.
    pub standard_loop: Option<StandardLoop>,
    /// The activity (`isForCompensation`) that compensates this one once it
    /// has completed: the target of the association from its compensation
    /// boundary event.
    pub compensation_handler: Option<NodeIx>,
}

/// A compiled sequence flow.
#[derive(Debug, Clone)]
pub struct Flow {
    /// The BPMN id.
    pub id: String,
    /// Source node.
    pub source: NodeIx,
    /// Target node.
    pub target: NodeIx,
    /// Condition, if any.
    pub condition: Option<Code>,
    /// Take listeners.
    pub take_listeners: Vec<Code>,
}

/// A scope: the process or a sub-process's inside.
#[derive(Debug, Clone, Default)]
pub struct ScopeDef {
    /// The sub-process that opens it; `None` for the process.
    pub owner: Option<NodeIx>,
    /// The none start event.
    pub none_start: Option<NodeIx>,
    /// In a scope with no start event at all: the activities and gateways
    /// with no incoming sequence flow, which all start when the scope does
    /// (BPMN 2.0 §10.5.1). Empty where the scope has a start event.
    pub implicit_starts: Vec<NodeIx>,
    /// Event sub-processes directly in it.
    pub event_subprocesses: Vec<NodeIx>,
    /// Nodes directly in it.
    pub nodes: Vec<NodeIx>,
}

/// A process compiled for execution.
#[derive(Debug, Clone)]
pub struct ProcessDefinition {
    /// The process id: the key it is started by.
    pub key: String,
    /// The deployed version.
    pub version: i64,
    /// The name.
    pub name: Option<String>,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Flows.
    pub flows: Vec<Flow>,
    /// Scopes; 0 is the process.
    pub scopes: Vec<ScopeDef>,
    /// Node index by BPMN id.
    pub node_by_id: HashMap<String, NodeIx>,
    /// For each inclusive gateway, for each of its incoming flows: the nodes
    /// from which that flow can be reached without passing through the
    /// gateway (BPMN 2.0 §13.3.5's paths, by the node a token is at).
    pub inclusive_upstream: HashMap<NodeIx, Vec<(FlowIx, HashSet<NodeIx>)>>,
    /// Process-level listeners.
    pub listeners: Listeners,
    /// Who may start it (`camunda:candidateStarterGroups` and `…Users`).
    pub starters: Starters,
    /// `camunda:historyTimeToLive`, in days: how long an ended instance of
    /// this version is kept before the history cleanup removes it; `None`
    /// keeps it for ever.
    pub history_ttl_days: Option<i64>,
    /// The form of its none start event, if that names one: what a person
    /// starting it fills in.
    pub start_form: Option<EventForm>,
    /// The forms that elements waiting for a message declare
    /// (`camunda:formRef`, an `action.form` property naming a form, or
    /// `camunda:formData` on a message catch, boundary
    /// or event sub-process start, or a receive task), by node: what the
    /// sender of that message fills in, checked on the server.
    pub message_forms: HashMap<NodeIx, EventForm>,
    /// `camunda:initiator` of its none start event: the variable that
    /// holds the user id of whoever starts an instance there.
    pub initiator: Option<String>,
    /// The service-level targets the process and its activities declare
    /// (`sla.<name>` properties; see [`crate::sla`]).
    pub slas: Vec<crate::sla::SlaSpec>,
    /// The process's `sla.daysOff`: the variable holding the days off that
    /// business hours skip.
    pub sla_days_off: Option<String>,
    /// The process's own `camunda:properties`, as written (the request
    /// view's `request.*` declarations among them).
    pub properties: Vec<(String, String)>,
}

/// The form an event declares: what a person starting the process fills in
/// (its none start event's), or what a person sending a message it waits
/// for fills in (a message catch's, a request view's quick action).
#[derive(Debug, Clone, PartialEq)]
pub struct EventForm {
    /// The event's id.
    pub node: String,
    /// `camunda:formRef` (or `camunda:formKey`).
    pub form: Option<String>,
    /// `camunda:formData` fields.
    pub form_fields: Vec<bpmn::FormField>,
}

/// The groups and users a process names as its candidate starters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Starters {
    /// Groups whose members may start the process.
    pub groups: Vec<String>,
    /// Users who may start it.
    pub users: Vec<String>,
}

/// Why a process cannot be deployed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeployError {
    /// Validation found errors.
    #[error("the model has {} error(s); the first: {}", .0.len(), .0.first().map(|d| d.render("")).unwrap_or_default())]
    Invalid(Vec<Diagnostic>),
    /// No executable process with that id.
    #[error("the file has no executable process {0:?}")]
    NoSuchProcess(String),
}

impl ProcessDefinition {
    /// The node with this BPMN id.
    pub fn node_ix(&self, id: &str) -> Option<NodeIx> {
        self.node_by_id.get(id).copied()
    }

    /// The node at this index.
    pub fn node(&self, ix: NodeIx) -> &Node {
        &self.nodes[ix as usize]
    }

    /// The flow at this index.
    pub fn flow(&self, ix: FlowIx) -> &Flow {
        &self.flows[ix as usize]
    }

    /// Validates the model and compiles every executable process in it.
    pub fn compile_all<H: ScriptHost + ScriptChecker>(
        model: &Model,
        host: &H,
        version: i64,
    ) -> Result<Vec<ProcessDefinition>, DeployError> {
        let diagnostics = validate::validate(model, host, validate::Options::default());
        let errors: Vec<_> = diagnostics
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        if !errors.is_empty() {
            return Err(DeployError::Invalid(errors));
        }
        model
            .definitions
            .executable_processes()
            .map(|p| Compiler::new(model, host).compile(p, version))
            .collect()
    }
}

struct Compiler<'a, H> {
    model: &'a Model,
    host: &'a H,
    def: ProcessDefinition,
    /// Boundary events waiting for their host's index.
    pending_boundaries: Vec<(NodeIx, String)>,
}

/// The longest history time to live accepted: a hundred years.
pub const MAX_HISTORY_TTL_DAYS: i64 = 36_500;

/// `camunda:historyTimeToLive` as days: `180`, or `P180D` (Camunda 7 takes
/// both); 0 to [`MAX_HISTORY_TTL_DAYS`].
pub fn history_ttl_days(text: &str) -> Option<i64> {
    let t = text.trim();
    let digits = t
        .strip_prefix('P')
        .and_then(|r| r.strip_suffix('D'))
        .unwrap_or(t);
    digits
        .parse::<i64>()
        .ok()
        .filter(|d| (0..=MAX_HISTORY_TTL_DAYS).contains(d))
}

fn invalid(msg: String) -> DeployError {
    DeployError::Invalid(vec![Diagnostic::error(
        "E100",
        Default::default(),
        None,
        msg,
    )])
}

impl<'a, H: ScriptHost + ScriptChecker> Compiler<'a, H> {
    fn new(model: &'a Model, host: &'a H) -> Self {
        Compiler {
            model,
            host,
            def: ProcessDefinition {
                key: String::new(),
                version: 0,
                name: None,
                nodes: Vec::new(),
                flows: Vec::new(),
                scopes: Vec::new(),
                node_by_id: HashMap::new(),
                inclusive_upstream: HashMap::new(),
                listeners: Listeners::default(),
                starters: Starters::default(),
                history_ttl_days: None,
                start_form: None,
                message_forms: HashMap::new(),
                initiator: None,
                slas: Vec::new(),
                sla_days_off: None,
                properties: Vec::new(),
            },
            pending_boundaries: Vec::new(),
        }
    }

    fn code(&self, kind: ScriptKind, text: &str, at: &str) -> Result<Code, DeployError> {
        self.host
            .compile(kind, text)
            .map(|compiled| Code {
                compiled,
                text: text.to_string(),
            })
            .map_err(|f| {
                invalid(format!(
                    "{at}: the script does not compile (line {}): {}",
                    f.line, f.message
                ))
            })
    }

    fn script_text(&self, s: &bpmn::Script, at: &str) -> Result<String, DeployError> {
        match (&s.text, &s.resource) {
            (Some(t), _) => Ok(t.clone()),
            (None, Some(r)) => self
                .host
                .resource(r)
                .map_err(|e| invalid(format!("{at}: {e}"))),
            (None, None) => Err(invalid(format!("{at}: no script"))),
        }
    }

    fn compile(
        mut self,
        p: &bpmn::Process,
        version: i64,
    ) -> Result<ProcessDefinition, DeployError> {
        self.def.key = p.id.clone();
        self.def.name = p.name.clone();
        self.def.properties = p.camunda.properties.clone();
        self.def.version = version;
        self.def.listeners = self.listeners(&p.camunda, &p.id)?;
        self.def.starters = Starters {
            groups: p.camunda.candidate_starter_groups.clone(),
            users: p.camunda.candidate_starter_users.clone(),
        };
        self.def.history_ttl_days = match &p.camunda.history_time_to_live {
            None => None,
            Some(text) => Some(history_ttl_days(text).ok_or_else(|| {
                invalid(format!(
                    "process {}: camunda:historyTimeToLive {text:?} is not a number of days (180) or a duration in days (P180D), at most 36500",
                    p.id
                ))
            })?),
        };
        self.scope(&p.scope, None)?;
        for (ix, host) in std::mem::take(&mut self.pending_boundaries) {
            let host_ix = self
                .def
                .node_ix(&host)
                .ok_or_else(|| invalid(format!("boundary event attached to unknown {host:?}")))?;
            if let NodeKind::BoundaryEvent { attached_to, .. } =
                &mut self.def.nodes[ix as usize].kind
            {
                *attached_to = host_ix;
            }
            self.def.nodes[host_ix as usize].boundaries.push(ix);
        }
        self.compensation_handlers(&p.scope);
        self.inclusive_upstream();
        self.slas(p)?;
        Ok(self.def)
    }

    /// The SLAs the process and its activities declare, with their element
    /// ids resolved and their targets parsed or compiled.
    fn slas(&mut self, p: &bpmn::Process) -> Result<(), DeployError> {
        use crate::sla::{declarations, parse_target, SlaSpec, SlaTarget};
        self.def.sla_days_off = p
            .camunda
            .properties
            .iter()
            .find(|(k, _)| k == "sla.daysOff")
            .map(|(_, v)| v.trim().to_string());
        // (the declaring activity, how errors name it, its properties)
        type Owner<'p> = (Option<NodeIx>, String, &'p [(String, String)]);
        let mut owners: Vec<Owner> =
            vec![(None, format!("process {}", p.id), &p.camunda.properties)];
        let mut todo = vec![&p.scope];
        while let Some(scope) = todo.pop() {
            for n in &scope.nodes {
                if n.camunda
                    .properties
                    .iter()
                    .any(|(k, _)| k.starts_with(crate::sla::PREFIX))
                {
                    owners.push((self.def.node_ix(&n.id), n.id.clone(), &n.camunda.properties));
                }
                todo.extend(n.kind.scope());
            }
        }
        for (element, at, properties) in owners {
            for d in declarations(properties, &at).map_err(invalid)? {
                let node = |id: &str, what: &str| {
                    self.def.node_ix(id).ok_or_else(|| {
                        invalid(format!(
                            "{at}: property sla.{}.{what} names {id:?}, which is no element of this process",
                            d.name
                        ))
                    })
                };
                let started_by = d
                    .started_by
                    .as_deref()
                    .map(|id| node(id, "startedBy"))
                    .transpose()?;
                let met_by = d
                    .met_by
                    .iter()
                    .map(|id| node(id, "metBy"))
                    .collect::<Result<Vec<_>, _>>()?;
                let written = d.target.clone().unwrap_or_default();
                let target = match bpmn::assignment_expression(&written) {
                    Some(e) => SlaTarget::Expression(self.code(ScriptKind::Expression, e, &at)?),
                    None => SlaTarget::Fixed(
                        parse_target(&written)
                            .map_err(|e| invalid(format!("{at}: property sla.{}: {e}", d.name)))?,
                    ),
                };
                self.def.slas.push(SlaSpec {
                    name: d.name.clone(),
                    element,
                    target,
                    business_hours: d.hours.as_deref() == Some("business"),
                    started_by,
                    met_by,
                    escalation: d.escalation.clone().filter(|c| !c.is_empty()),
                });
            }
        }
        Ok(())
    }

    /// Links each activity with a compensation boundary event to the handler
    /// the boundary event's association leads to (drawn either way; the
    /// validator requires one).
    fn compensation_handlers(&mut self, root: &Scope) {
        let mut associations = Vec::new();
        let mut todo = vec![root];
        while let Some(scope) = todo.pop() {
            for a in &scope.artifacts {
                if let bpmn::Artifact::Association { source, target, .. } = a {
                    associations.push((source.clone(), target.clone()));
                }
            }
            todo.extend(scope.nodes.iter().filter_map(|n| n.kind.scope()));
        }
        let handler_of = |boundary: &str, def: &ProcessDefinition| {
            associations.iter().find_map(|(a, b)| {
                let other = if a == boundary {
                    b
                } else if b == boundary {
                    a
                } else {
                    return None;
                };
                def.node_ix(other)
            })
        };
        let links: Vec<(NodeIx, NodeIx)> = self
            .def
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::BoundaryEvent {
                    trigger: Trigger::Compensation,
                    attached_to,
                    ..
                } => handler_of(&n.id, &self.def).map(|h| (*attached_to, h)),
                _ => None,
            })
            .collect();
        for (activity, handler) in links {
            self.def.nodes[activity as usize].compensation_handler = Some(handler);
        }
    }

    fn scope(&mut self, scope: &Scope, owner: Option<NodeIx>) -> Result<ScopeIx, DeployError> {
        let six = self.def.scopes.len() as ScopeIx;
        self.def.scopes.push(ScopeDef {
            owner,
            ..ScopeDef::default()
        });
        // Nodes first, so flows can refer to them.
        let mut inner = Vec::new();
        for n in &scope.nodes {
            let ix = self.node(n, six)?;
            self.def.scopes[six as usize].nodes.push(ix);
            if let Some(s) = n.kind.scope() {
                inner.push((ix, s));
            }
        }
        for f in &scope.flows {
            let (Some(source), Some(target)) =
                (self.def.node_ix(&f.source), self.def.node_ix(&f.target))
            else {
                return Err(invalid(format!(
                    "sequence flow {:?} has unknown ends",
                    f.id
                )));
            };
            let condition = match &f.condition {
                Some(c) if !c.text.is_empty() => {
                    Some(self.code(ScriptKind::Condition, &c.text, &f.id)?)
                }
                _ => None,
            };
            let take_listeners = self.listeners(&f.camunda, &f.id)?.take;
            let fix = self.def.flows.len() as FlowIx;
            self.def.flows.push(Flow {
                id: f.id.clone(),
                source,
                target,
                condition,
                take_listeners,
            });
            self.def.nodes[source as usize].outgoing.push(fix);
            self.def.nodes[target as usize].incoming.push(fix);
        }
        for n in &scope.nodes {
            if let Some(d) = &n.default_flow {
                let fix = self
                    .def
                    .flows
                    .iter()
                    .position(|f| &f.id == d)
                    .map(|i| i as FlowIx);
                if let Some(ix) = self.def.node_ix(&n.id) {
                    self.def.nodes[ix as usize].default_flow = fix;
                }
            }
        }
        let has_start = scope
            .nodes
            .iter()
            .any(|n| matches!(n.kind, FlowNodeKind::StartEvent { .. }));
        if !has_start {
            // Not boundary events, event sub-processes, compensation handlers
            // or link catch events: they start by their trigger, not with the scope.
            let implicit: Vec<NodeIx> = scope
                .nodes
                .iter()
                .filter(|n| !n.is_for_compensation)
                .filter_map(|n| self.def.node_ix(&n.id))
                .filter(|&ix| {
                    let node = &self.def.nodes[ix as usize];
                    node.incoming.is_empty()
                        && !matches!(
                            node.kind,
                            NodeKind::BoundaryEvent { .. }
                                | NodeKind::EventSubProcess
                                | NodeKind::CatchEvent(Trigger::Link(_))
                        )
                })
                .collect();
            self.def.scopes[six as usize].implicit_starts = implicit;
        }
        for (ix, s) in inner {
            let inner_ix = self.scope(s, Some(ix))?;
            self.def.nodes[ix as usize].inner_scope = Some(inner_ix);
        }
        Ok(six)
    }

    fn trigger(&self, n: &FlowNode) -> Result<Trigger, DeployError> {
        let Some(d) = n.kind.event_definitions().first() else {
            return Ok(Trigger::None);
        };
        Ok(match &d.kind {
            EventDefinitionKind::Timer(t) => Trigger::Timer(self.timer(t, &n.id)?),
            EventDefinitionKind::Message { message_ref } => {
                Trigger::Message(self.message_name(message_ref.as_deref()))
            }
            EventDefinitionKind::Signal { signal_ref } => {
                Trigger::Signal(self.signal_name(signal_ref.as_deref()))
            }
            EventDefinitionKind::Error { error_ref } => {
                Trigger::Error(self.error_code(error_ref.as_deref()))
            }
            EventDefinitionKind::Escalation { escalation_ref } => {
                Trigger::Escalation(self.escalation_code(escalation_ref.as_deref()))
            }
            EventDefinitionKind::Conditional { condition } => {
                let text = condition
                    .as_ref()
                    .map(|c| c.text.as_str())
                    .unwrap_or("false");
                Trigger::Conditional(self.code(ScriptKind::Condition, text, &n.id)?)
            }
            EventDefinitionKind::Link { name } => Trigger::Link(name.clone().unwrap_or_default()),
            EventDefinitionKind::Compensate { .. } => Trigger::Compensation,
            other => {
                return Err(invalid(format!(
                    "{}: {} is not supported",
                    n.id,
                    other.element_name()
                )))
            }
        })
    }

    fn throw(&self, n: &FlowNode) -> Result<Throw, DeployError> {
        let Some(d) = n.kind.event_definitions().first() else {
            return Ok(Throw::None);
        };
        Ok(match &d.kind {
            EventDefinitionKind::Terminate => Throw::Terminate,
            EventDefinitionKind::Error { error_ref } => {
                Throw::Error(self.error_code(error_ref.as_deref()))
            }
            EventDefinitionKind::Escalation { escalation_ref } => {
                Throw::Escalation(self.escalation_code(escalation_ref.as_deref()))
            }
            EventDefinitionKind::Message { message_ref } => {
                Throw::Message(self.message_name(message_ref.as_deref()))
            }
            EventDefinitionKind::Signal { signal_ref } => {
                Throw::Signal(self.signal_name(signal_ref.as_deref()))
            }
            EventDefinitionKind::Link { name } => Throw::Link(name.clone().unwrap_or_default()),
            EventDefinitionKind::Compensate { activity_ref } => {
                Throw::Compensate(activity_ref.clone())
            }
            other => {
                return Err(invalid(format!(
                    "{}: {} is not supported",
                    n.id,
                    other.element_name()
                )))
            }
        })
    }

    /// Messages are correlated by name; an unnamed message by its id.
    fn message_name(&self, r: Option<&str>) -> String {
        let r = r.unwrap_or_default();
        self.model
            .definitions
            .message(r)
            .and_then(|m| m.name.clone())
            .unwrap_or_else(|| r.to_string())
    }

    fn signal_name(&self, r: Option<&str>) -> String {
        let r = r.unwrap_or_default();
        self.model
            .definitions
            .signal(r)
            .and_then(|m| m.name.clone())
            .unwrap_or_else(|| r.to_string())
    }

    fn error_code(&self, r: Option<&str>) -> Option<String> {
        let r = r?;
        Some(
            self.model
                .definitions
                .error(r)
                .and_then(|e| e.error_code.clone().or_else(|| e.name.clone()))
                .unwrap_or_else(|| r.to_string()),
        )
    }

    fn escalation_code(&self, r: Option<&str>) -> Option<String> {
        let r = r?;
        Some(
            self.model
                .definitions
                .escalation(r)
                .and_then(|e| e.escalation_code.clone().or_else(|| e.name.clone()))
                .unwrap_or_else(|| r.to_string()),
        )
    }

    fn timer(&self, t: &bpmn::Timer, at: &str) -> Result<TimerSpec, DeployError> {
        let (kind, e) = match (&t.time_date, &t.time_duration, &t.time_cycle) {
            (Some(e), _, _) => (TimerKind::Date, e),
            (_, Some(e), _) => (TimerKind::Duration, e),
            (_, _, Some(e)) => (TimerKind::Cycle, e),
            _ => return Err(invalid(format!("{at}: timer without definition"))),
        };
        if e.language.is_some() {
            return Ok(TimerSpec::Computed {
                kind,
                code: self.code(ScriptKind::Expression, &e.text, at)?,
            });
        }
        let value = match kind {
            TimerKind::Date => timer::parse_date(&e.text).map(TimerValue::Date),
            TimerKind::Duration => timer::parse_duration(&e.text).map(TimerValue::Duration),
            TimerKind::Cycle => timer::parse_cycle(&e.text),
        };
        value
            .map(TimerSpec::Fixed)
            .map_err(|e| invalid(format!("{at}: {e}")))
    }

    fn listeners(&self, c: &bpmn::Camunda, at: &str) -> Result<Listeners, DeployError> {
        let mut out = Listeners::default();
        for l in &c.execution_listeners {
            let Some(s) = &l.script else { continue };
            let code = self.code(ScriptKind::Script, &self.script_text(s, at)?, at)?;
            match l.event.as_str() {
                "start" => out.start.push(code),
                "end" => out.end.push(code),
                _ => out.take.push(code),
            }
        }
        Ok(out)
    }

    fn mapping_value(&self, v: &ParameterValue, at: &str) -> Result<MappingValue, DeployError> {
        Ok(match v {
            ParameterValue::Null => MappingValue::Constant(crate::value::Value::Null),
            ParameterValue::Text(t) => {
                MappingValue::Constant(crate::value::Value::String(t.clone()))
            }
            ParameterValue::Script(s) => MappingValue::Script(self.code(
                ScriptKind::Script,
                &self.script_text(s, at)?,
                at,
            )?),
            ParameterValue::List(items) => MappingValue::List(
                items
                    .iter()
                    .map(|i| self.mapping_value(i, at))
                    .collect::<Result<_, _>>()?,
            ),
            ParameterValue::Map(entries) => MappingValue::Map(
                entries
                    .iter()
                    .map(|(k, i)| Ok((k.clone(), self.mapping_value(i, at)?)))
                    .collect::<Result<_, DeployError>>()?,
            ),
        })
    }

    fn mappings(
        &self,
        ps: &[Parameter],
        at: &str,
    ) -> Result<Vec<(String, MappingValue)>, DeployError> {
        ps.iter()
            .map(|p| Ok((p.name.clone(), self.mapping_value(&p.value, at)?)))
            .collect()
    }

    fn call_mappings(
        &self,
        ms: &[bpmn::VariableMapping],
        at: &str,
    ) -> Result<Vec<CallMapping>, DeployError> {
        let mut out = Vec::new();
        for m in ms {
            if m.all {
                out.push(CallMapping::All);
            } else if let Some(bk) = &m.business_key {
                out.push(CallMapping::BusinessKey(self.code(
                    ScriptKind::Expression,
                    bk,
                    at,
                )?));
            } else if let Some(src) = &m.source {
                out.push(CallMapping::Variable {
                    source: src.clone(),
                    target: m.target.clone().unwrap_or_else(|| src.clone()),
                });
            } else if let Some(e) = &m.source_expression {
                out.push(CallMapping::Expression {
                    code: self.code(ScriptKind::Expression, e, at)?,
                    target: m.target.clone().unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    fn node(&mut self, n: &FlowNode, scope: ScopeIx) -> Result<NodeIx, DeployError> {
        let ix = self.def.nodes.len() as NodeIx;
        let c = &n.camunda;
        let kind = match &n.kind {
            FlowNodeKind::StartEvent {
                is_interrupting, ..
            } => {
                let trigger = self.trigger(n)?;
                if matches!(trigger, Trigger::None) {
                    self.def.scopes[scope as usize].none_start.get_or_insert(ix);
                    if scope == 0 && self.def.initiator.is_none() {
                        self.def.initiator = c.initiator.clone().filter(|v| !v.trim().is_empty());
                    }
                    let form = c.form_ref.clone().or_else(|| c.form_key.clone());
                    if scope == 0
                        && self.def.start_form.is_none()
                        && (form.is_some() || !c.form_fields.is_empty())
                    {
                        self.def.start_form = Some(EventForm {
                            node: n.id.clone(),
                            form,
                            form_fields: c.form_fields.clone(),
                        });
                    }
                }
                NodeKind::StartEvent {
                    trigger,
                    interrupting: *is_interrupting,
                }
            }
            FlowNodeKind::EndEvent { .. } => NodeKind::EndEvent(self.throw(n)?),
            FlowNodeKind::IntermediateCatchEvent { .. } => NodeKind::CatchEvent(self.trigger(n)?),
            FlowNodeKind::IntermediateThrowEvent { .. } => NodeKind::ThrowEvent(self.throw(n)?),
            FlowNodeKind::BoundaryEvent {
                attached_to,
                cancel_activity,
                ..
            } => {
                self.pending_boundaries.push((ix, attached_to.clone()));
                NodeKind::BoundaryEvent {
                    trigger: self.trigger(n)?,
                    attached_to: 0,
                    interrupting: *cancel_activity,
                }
            }
            FlowNodeKind::Task | FlowNodeKind::ManualTask => NodeKind::PassThrough,
            FlowNodeKind::UserTask => NodeKind::UserTask(UserTaskSpec {
                expressions: {
                    let mut compiled = std::collections::HashMap::new();
                    let written = c
                        .assignee
                        .iter()
                        .chain(&c.candidate_groups)
                        .chain(&c.candidate_users)
                        .chain(&c.due_date);
                    for text in written {
                        if let Some(e) = bpmn::assignment_expression(text) {
                            let code = self.code(ScriptKind::Expression, e, &n.id)?;
                            compiled.insert(text.clone(), code);
                        }
                    }
                    compiled
                },
                assignee: c.assignee.clone(),
                candidate_groups: c.candidate_groups.clone(),
                candidate_users: c.candidate_users.clone(),
                due_date: c.due_date.clone(),
                priority: c.priority.as_deref().and_then(|p| p.trim().parse().ok()),
                form: c.form_ref.clone().or_else(|| c.form_key.clone()),
                form_fields: c.form_fields.clone(),
            }),
            FlowNodeKind::ScriptTask { script } => NodeKind::Script {
                code: self.code(ScriptKind::Script, &self.script_text(script, &n.id)?, &n.id)?,
                result_variable: c.result_variable.clone(),
            },
            FlowNodeKind::ServiceTask
            | FlowNodeKind::SendTask { .. }
            | FlowNodeKind::BusinessRuleTask
                if c.connector.is_some() =>
            {
                let connector = c
                    .connector
                    .as_ref()
                    .ok_or_else(|| invalid(format!("{}: the connector went missing", n.id)))?;
                NodeKind::Connector {
                    connector: connector.id.clone(),
                    inputs: self.mappings(&connector.inputs, &n.id)?,
                    outputs: self.mappings(&connector.outputs, &n.id)?,
                }
            }
            FlowNodeKind::ServiceTask | FlowNodeKind::SendTask { .. }
                if c.task_type.as_deref() == Some("mail") =>
            {
                NodeKind::Mail
            }
            FlowNodeKind::ServiceTask | FlowNodeKind::BusinessRuleTask => {
                if c.task_type.as_deref() == Some("external") {
                    NodeKind::ExternalTask {
                        topic: c.topic.clone().unwrap_or_default(),
                    }
                } else {
                    let text = match (&c.expression, &c.resource) {
                        (Some(e), _) => e.clone(),
                        (None, Some(r)) => self
                            .host
                            .resource(r)
                            .map_err(|e| invalid(format!("{}: {e}", n.id)))?,
                        (None, None) => {
                            return Err(invalid(format!("{}: no implementation", n.id)))
                        }
                    };
                    NodeKind::Script {
                        code: self.code(ScriptKind::Script, &text, &n.id)?,
                        result_variable: c.result_variable.clone(),
                    }
                }
            }
            FlowNodeKind::SendTask { message_ref } => NodeKind::SendTask {
                message: message_ref.as_deref().map(|m| self.message_name(Some(m))),
            },
            FlowNodeKind::ReceiveTask { message_ref, .. } => NodeKind::ReceiveTask {
                message: self.message_name(message_ref.as_deref()),
            },
            FlowNodeKind::ExclusiveGateway => NodeKind::ExclusiveGateway,
            FlowNodeKind::ParallelGateway => NodeKind::ParallelGateway,
            FlowNodeKind::InclusiveGateway => NodeKind::InclusiveGateway,
            FlowNodeKind::EventBasedGateway { .. } => NodeKind::EventBasedGateway,
            FlowNodeKind::SubProcess {
                triggered_by_event: true,
                ..
            } => {
                self.def.scopes[scope as usize].event_subprocesses.push(ix);
                NodeKind::EventSubProcess
            }
            FlowNodeKind::SubProcess { .. } => NodeKind::SubProcess,
            FlowNodeKind::CallActivity { called_element } => NodeKind::CallActivity {
                called: called_element.clone().unwrap_or_default(),
                binding: match (
                    c.called_element_binding.as_deref(),
                    &c.called_element_version,
                ) {
                    (Some("version"), Some(v)) => {
                        VersionBinding::Version(v.trim().parse().unwrap_or(1))
                    }
                    _ => VersionBinding::Latest,
                },
            },
            FlowNodeKind::ComplexGateway
            | FlowNodeKind::Transaction { .. }
            | FlowNodeKind::AdHocSubProcess { .. } => {
                return Err(invalid(format!(
                    "{}: {} is not supported",
                    n.id,
                    n.kind.element_name()
                )))
            }
        };
        let (multi_instance, standard_loop) = match &n.loop_characteristics {
            Some(LoopCharacteristics::MultiInstance {
                is_sequential,
                loop_cardinality,
                completion_condition,
                collection,
                element_variable,
                ..
            }) => (
                Some(MultiInstance {
                    sequential: *is_sequential,
                    cardinality: loop_cardinality
                        .as_ref()
                        .map(|e| self.code(ScriptKind::Expression, &e.text, &n.id))
                        .transpose()?,
                    collection: collection
                        .as_ref()
                        .map(|e| self.code(ScriptKind::Expression, e, &n.id))
                        .transpose()?,
                    element_variable: element_variable.clone(),
                    completion_condition: completion_condition
                        .as_ref()
                        .map(|e| self.code(ScriptKind::Condition, &e.text, &n.id))
                        .transpose()?,
                }),
                None,
            ),
            Some(LoopCharacteristics::Standard {
                loop_condition,
                loop_maximum,
                test_before,
            }) => (
                None,
                Some(StandardLoop {
                    condition: loop_condition
                        .as_ref()
                        .map(|e| self.code(ScriptKind::Condition, &e.text, &n.id))
                        .transpose()?,
                    maximum: *loop_maximum,
                    test_before: *test_before,
                }),
            ),
            None => (None, None),
        };
        let node = Node {
            id: n.id.clone(),
            name: n.name.clone(),
            kind,
            scope,
            inner_scope: None,
            incoming: Vec::new(),
            outgoing: Vec::new(),
            default_flow: None,
            boundaries: Vec::new(),
            async_before: c.async_before,
            async_after: c.async_after,
            inputs: self.mappings(&c.inputs, &n.id)?,
            outputs: self.mappings(&c.outputs, &n.id)?,
            call_in: self.call_mappings(&c.in_mappings, &n.id)?,
            call_out: self.call_mappings(&c.out_mappings, &n.id)?,
            listeners: self.listeners(c, &n.id)?,
            multi_instance,
            standard_loop,
            compensation_handler: None,
        };
        let waits_for_message = match &node.kind {
            NodeKind::StartEvent { trigger, .. }
            | NodeKind::CatchEvent(trigger)
            | NodeKind::BoundaryEvent { trigger, .. } => matches!(trigger, Trigger::Message(_)),
            NodeKind::ReceiveTask { .. } => true,
            _ => false,
        };
        // The properties panel offers the form attributes on tasks and start
        // events only; an `action.form` extension property is what an analyst
        // can set in it on a catch or boundary event.
        let form = c
            .form_ref
            .clone()
            .or_else(|| c.form_key.clone())
            .or_else(|| {
                c.properties
                    .iter()
                    .find(|(name, _)| name == "action.form")
                    .map(|(_, value)| value.trim().to_string())
                    .filter(|v| !v.is_empty())
            });
        // A process-level message start makes a new instance: no request
        // view offers it, so only the catches inside an instance count.
        let makes_an_instance = scope == 0 && matches!(node.kind, NodeKind::StartEvent { .. });
        if waits_for_message && !makes_an_instance && (form.is_some() || !c.form_fields.is_empty())
        {
            self.def.message_forms.insert(
                ix,
                EventForm {
                    node: n.id.clone(),
                    form,
                    form_fields: c.form_fields.clone(),
                },
            );
        }
        self.def.node_by_id.insert(n.id.clone(), ix);
        self.def.nodes.push(node);
        Ok(ix)
    }

    /// For each inclusive gateway and each of its incoming flows, every node
    /// of its scope with a path to that flow that does not pass through the
    /// gateway.
    fn inclusive_upstream(&mut self) {
        let gateways: Vec<NodeIx> = (0..self.def.nodes.len() as NodeIx)
            .filter(|&i| matches!(self.def.node(i).kind, NodeKind::InclusiveGateway))
            .collect();
        for g in gateways {
            let mut per_flow = Vec::new();
            for &f in &self.def.node(g).incoming {
                let mut seen = HashSet::new();
                let mut stack = vec![self.def.flow(f).source];
                while let Some(n) = stack.pop() {
                    if n == g || !seen.insert(n) {
                        continue;
                    }
                    let node = self.def.node(n);
                    stack.extend(node.incoming.iter().map(|&f| self.def.flow(f).source));
                    // A token at a boundary event came from its host's path.
                    if let NodeKind::BoundaryEvent { attached_to, .. } = node.kind {
                        stack.push(attached_to);
                    }
                }
                per_flow.push((f, seen));
            }
            self.def.inclusive_upstream.insert(g, per_flow);
        }
    }
}
