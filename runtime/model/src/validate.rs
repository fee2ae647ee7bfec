//! Checks a model and collects every finding, never stopping at the first.
//!
//! Two layers: structure (every process: ids, references, scopes, start and
//! end, reachability, diagram) and execution (executable processes only:
//! what Millrace can run, expression languages, scripts that compile,
//! timers that parse). Script compilation is delegated to a
//! [`ScriptChecker`] so this crate stays free of the script engine.

use std::collections::{HashMap, HashSet};

use crate::bpmn::*;
use crate::diagnostic::Diagnostic;
use crate::graph::FlowGraph;
use crate::timer;
use crate::xml::Pos;
use crate::Model;

/// What a script text is expected to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// A boolean condition (an expression).
    Condition,
    /// A value expression (loop cardinality, mappings).
    Expression,
    /// A script: statements, whose last value is its result.
    Script,
}

/// A script that does not compile: where inside the script, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptFault {
    /// 1-based line inside the script text.
    pub line: u32,
    /// 1-based column inside the script text.
    pub column: u32,
    /// The compiler's reason.
    pub message: String,
}

/// Compiles scripts and finds script resources for the validator.
pub trait ScriptChecker {
    /// Compiles `text` as `kind`.
    fn check(&self, kind: ScriptKind, text: &str) -> Result<(), ScriptFault>;
    /// The text of a `camunda:resource` script file, or why it cannot be had.
    fn resource(&self, name: &str) -> Result<String, String>;
}

/// What to check.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Check executable processes for what Millrace can run. Off, only structure is checked.
    pub execution: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { execution: true }
    }
}

/// The language names that mean Rhai.
const RHAI: &[&str] = &["rhai", "Rhai", "RHAI", "text/x-rhai"];
/// The expression language BPMN assumes when none is given; tools write it by default
/// and other engines ignore it, so a file-level XPath default does not make a condition XPath.
const XPATH: &str = "http://www.w3.org/1999/XPath";

/// Validates a model: import findings, structure, and (per `options`) execution.
pub fn validate(model: &Model, checker: &dyn ScriptChecker, options: Options) -> Vec<Diagnostic> {
    let mut v = Validator {
        model,
        checker,
        options,
        out: model.import_diagnostics.clone(),
        ids: model.ids.keys().map(String::as_str).collect(),
    };
    v.duplicate_ids();
    v.collaborations();
    for p in &model.definitions.processes {
        v.process(p);
    }
    v.diagrams();
    v.out.sort_by_key(|d| (d.pos.line, d.pos.column));
    v.out
}

struct Validator<'a> {
    model: &'a Model,
    checker: &'a dyn ScriptChecker,
    options: Options,
    out: Vec<Diagnostic>,
    ids: HashSet<&'a str>,
}

/// What a process check needs to know about where a scope sits.
#[derive(Clone, Copy)]
struct ScopeContext<'a> {
    executable: bool,
    /// The sub-process that owns the scope, `None` for the process itself.
    owner: Option<&'a FlowNode>,
    /// The sub-process that owns the scope around this one, if any.
    outer: Option<&'a FlowNode>,
}

impl<'a> Validator<'a> {
    fn error(&mut self, code: &'static str, pos: Pos, id: &str, msg: impl Into<String>) {
        let id = (!id.is_empty()).then_some(id);
        self.out.push(Diagnostic::error(code, pos, id, msg));
    }

    /// Places the finding just pushed inside its script's text.
    fn in_script(&mut self, f: &ScriptFault) {
        if let Some(last) = self.out.last_mut() {
            last.script_pos = Some(Pos {
                line: f.line,
                column: f.column,
            });
        }
    }

    fn warning(&mut self, code: &'static str, pos: Pos, id: &str, msg: impl Into<String>) {
        let id = (!id.is_empty()).then_some(id);
        self.out.push(Diagnostic::warning(code, pos, id, msg));
    }

    fn duplicate_ids(&mut self) {
        let dups: Vec<_> = self
            .model
            .ids
            .iter()
            .filter(|(_, entries)| entries.len() > 1)
            .map(|(id, entries)| (id.clone(), entries.clone()))
            .collect();
        for (id, entries) in dups {
            let first = &entries[0];
            for e in &entries[1..] {
                self.error(
                    "E002",
                    e.pos,
                    &id,
                    format!(
                        "duplicate id: <{}> uses the id {id:?} that <{}> at line {} already has",
                        e.element, first.element, first.pos.line
                    ),
                );
            }
        }
    }

    fn dangling(&mut self, pos: Pos, id: &str, field: &str, target: &str) {
        if !target.is_empty() && !self.ids.contains(target) {
            self.error(
                "E003",
                pos,
                id,
                format!("{field} points to {target:?}, which no element in this file has as id"),
            );
        } else if target.is_empty() {
            self.error("E003", pos, id, format!("{field} is missing"));
        }
    }

    fn dangling_opt(&mut self, pos: Pos, id: &str, field: &str, target: Option<&str>) {
        if let Some(t) = target {
            self.dangling(pos, id, field, t);
        }
    }

    fn collaborations(&mut self) {
        for c in &self.model.definitions.collaborations {
            for p in &c.participants {
                self.dangling_opt(p.loc.0, &p.id, "processRef", p.process_ref.as_deref());
            }
            for m in &c.message_flows {
                self.dangling(m.loc.0, &m.id, "sourceRef", &m.source);
                self.dangling(m.loc.0, &m.id, "targetRef", &m.target);
                self.dangling_opt(m.loc.0, &m.id, "messageRef", m.message_ref.as_deref());
            }
            self.artifacts(&c.artifacts);
        }
    }

    fn artifacts(&mut self, artifacts: &[Artifact]) {
        for a in artifacts {
            match a {
                Artifact::Association {
                    id,
                    source,
                    target,
                    loc,
                } => {
                    self.dangling(loc.0, id, "sourceRef", source);
                    self.dangling(loc.0, id, "targetRef", target);
                }
                Artifact::Group {
                    id,
                    category_value_ref: Some(r),
                    loc,
                } if !self.ids.contains(r.as_str()) => {
                    self.warning(
                        "W016",
                        loc.0,
                        id,
                        format!("categoryValueRef points to {r:?}, which is not a category value in this file"),
                    );
                }
                _ => {}
            }
        }
    }

    fn diagrams(&mut self) {
        for d in &self.model.definitions.diagrams {
            let Some(plane) = &d.plane else { continue };
            let plane_id = plane.id.clone().unwrap_or_default();
            match plane.bpmn_element.as_deref() {
                Some(e) if !self.ids.contains(e) => self.warning(
                    "W016",
                    plane.loc.0,
                    &plane_id,
                    format!(
                        "the diagram plane draws {e:?}, which no element in this file has as id"
                    ),
                ),
                _ => {}
            }
            let mut drawn: HashMap<&str, u32> = HashMap::new();
            let mut findings = Vec::new();
            let items = plane
                .shapes
                .iter()
                .map(|s| (s.bpmn_element.as_deref(), s.id.as_deref(), s.loc.0, "shape"))
                .chain(
                    plane
                        .edges
                        .iter()
                        .map(|e| (e.bpmn_element.as_deref(), e.id.as_deref(), e.loc.0, "edge")),
                );
            for (element, di_id, pos, what) in items {
                let Some(element) = element else { continue };
                if !self.ids.contains(element) {
                    findings.push((
                        pos,
                        di_id.unwrap_or_default().to_string(),
                        format!("the diagram {what} draws {element:?}, which no element in this file has as id"),
                    ));
                } else if let Some(first_line) = drawn.get(element) {
                    findings.push((
                        pos,
                        di_id.unwrap_or_default().to_string(),
                        format!("{element:?} is drawn twice in one diagram (first at line {first_line})"),
                    ));
                } else {
                    drawn.insert(element, pos.line);
                }
            }
            for (pos, id, msg) in findings {
                let code = if msg.contains("twice") {
                    "W017"
                } else {
                    "W016"
                };
                self.warning(code, pos, &id, msg);
            }
        }
    }

    fn process(&mut self, p: &'a Process) {
        let executable = p.executable();
        if !executable {
            self.out.push(Diagnostic {
                severity: crate::Severity::Info,
                code: "I001",
                pos: p.loc.0,
                element_id: Some(p.id.clone()),
                message: "the process is descriptive (isExecutable is not true): its structure is checked, not whether it can run".into(),
                script_pos: None,
            });
        }
        // Lanes do not change execution, and other modelers leave refs to
        // removed elements behind: a dangling one is worth a warning only.
        for lane in &p.lanes {
            for r in &lane.flow_node_refs {
                if !self.ids.contains(r.as_str()) {
                    self.warning(
                        "W018",
                        lane.loc.0,
                        &lane.id,
                        format!("flowNodeRef points to {r:?}, which no element in this file has as id; the lane ignores it"),
                    );
                }
            }
        }
        self.scope(
            &p.scope,
            ScopeContext {
                executable,
                owner: None,
                outer: None,
            },
        );
        self.reachability(p);
        if executable && self.options.execution {
            for l in &p.camunda.execution_listeners {
                self.listener(&p.id, l);
            }
            let has_start = p
                .scope
                .nodes
                .iter()
                .any(|n| matches!(n.kind, FlowNodeKind::StartEvent { .. }));
            let has_end = p
                .scope
                .nodes
                .iter()
                .any(|n| matches!(n.kind, FlowNodeKind::EndEvent { .. }));
            // Neither start nor end events: BPMN starts everything without
            // incoming flow (§10.5.1), and so does Millrace.
            if !has_start && (has_end || p.scope.nodes.is_empty()) {
                self.error(
                    "E006",
                    p.loc.0,
                    &p.id,
                    "an executable process needs a start event to be started",
                );
            }
        }
    }

    fn scope(&mut self, scope: &'a Scope, cx: ScopeContext<'a>) {
        let here: HashSet<&str> = scope.nodes.iter().map(|n| n.id.as_str()).collect();
        for f in &scope.flows {
            for (field, target) in [("sourceRef", &f.source), ("targetRef", &f.target)] {
                if here.contains(target.as_str()) {
                    continue;
                }
                if self.ids.contains(target.as_str()) {
                    let container = cx
                        .owner
                        .map_or("process".to_string(), |o| format!("sub-process {:?}", o.id));
                    self.error(
                        "E004",
                        f.loc.0,
                        &f.id,
                        format!(
                            "the sequence flow crosses a boundary: its {field} {target:?} is not in the same {container}"
                        ),
                    );
                } else {
                    self.dangling(f.loc.0, &f.id, field, target);
                }
            }
            if let Some(c) = &f.condition {
                if cx.executable && self.options.execution && !c.text.is_empty() {
                    self.expression(&f.id, c, ScriptKind::Condition, "condition");
                }
            }
        }
        self.artifacts(&scope.artifacts);
        let starts: Vec<&FlowNode> = scope
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, FlowNodeKind::StartEvent { .. }))
            .collect();
        let ends = scope
            .nodes
            .iter()
            .filter(|n| matches!(n.kind, FlowNodeKind::EndEvent { .. }))
            .count();
        let scope_id = cx.owner.map_or("", |o| o.id.as_str());
        let scope_pos = cx.owner.map_or(Pos::default(), |o| o.loc.0);
        if let Some(owner) = cx.owner {
            let event_sub = matches!(
                owner.kind,
                FlowNodeKind::SubProcess {
                    triggered_by_event: true,
                    ..
                }
            );
            if cx.executable && self.options.execution {
                if event_sub {
                    let triggered = starts
                        .iter()
                        .filter(|s| !s.kind.event_definitions().is_empty())
                        .count();
                    if starts.len() != 1 || triggered != 1 {
                        self.error(
                            "E006",
                            scope_pos,
                            scope_id,
                            "an event sub-process needs exactly one start event, and it must have a trigger (message, timer, signal, error, escalation, conditional or compensation)",
                        );
                    }
                } else if !(scope.nodes.is_empty() || starts.is_empty()) {
                    let none_starts = starts
                        .iter()
                        .filter(|s| s.kind.event_definitions().is_empty())
                        .count();
                    if starts.len() != 1 || none_starts != 1 {
                        self.error(
                            "E006",
                            scope_pos,
                            scope_id,
                            format!(
                                "a sub-process needs exactly one start event with no trigger; this one has {} start event(s)",
                                starts.len()
                            ),
                        );
                    }
                }
            }
        }
        if ends > 0 && starts.is_empty() && cx.owner.is_some() {
            self.error(
                "E006",
                scope_pos,
                scope_id,
                "the sub-process has an end event but no start event; BPMN requires both or neither",
            );
        }
        if !starts.is_empty() && ends == 0 && !scope.nodes.is_empty() {
            let (pos, id) = cx
                .owner
                .map_or((starts[0].loc.0, starts[0].id.as_str()), |o| {
                    (o.loc.0, o.id.as_str())
                });
            self.warning(
                "W007",
                pos,
                id,
                "the scope has a start event but no end event; BPMN requires both or neither (paths end implicitly)",
            );
        }
        for n in &scope.nodes {
            self.node(n, scope, cx);
            if let Some(inner) = n.kind.scope() {
                self.scope(
                    inner,
                    ScopeContext {
                        executable: cx.executable,
                        owner: Some(n),
                        outer: cx.owner,
                    },
                );
            }
        }
    }

    fn node(&mut self, n: &'a FlowNode, scope: &'a Scope, cx: ScopeContext<'a>) {
        let pos = n.loc.0;
        let id = n.id.as_str();
        if let Some(d) = &n.default_flow {
            match scope.flows.iter().find(|f| &f.id == d) {
                None => self.dangling(pos, id, "default", d),
                Some(f) if f.source != n.id => self.error(
                    "E009",
                    pos,
                    id,
                    format!("the default flow {d:?} does not leave this element (its source is {:?})", f.source),
                ),
                Some(f) if f.condition.as_ref().is_some_and(|c| !c.text.is_empty()) => self.error(
                    "E008",
                    f.loc.0,
                    &f.id,
                    format!("the default flow of {id:?} carries a condition; a default flow is taken when no condition holds and must have none"),
                ),
                Some(_) => {}
            }
        }
        if let FlowNodeKind::BoundaryEvent { attached_to, .. } = &n.kind {
            match scope.node(attached_to) {
                Some(host) if host.kind.is_activity() => {}
                Some(host) => self.error(
                    "E005",
                    pos,
                    id,
                    format!("the boundary event is attached to {attached_to:?}, a <{}>; only activities carry boundary events", host.kind.element_name()),
                ),
                None if self.ids.contains(attached_to.as_str()) => self.error(
                    "E004",
                    pos,
                    id,
                    format!("the boundary event is attached to {attached_to:?}, which is not in the same scope"),
                ),
                None => self.dangling(pos, id, "attachedToRef", attached_to),
            }
        }
        for d in n.kind.event_definitions() {
            let dpos = d.loc.0;
            match &d.kind {
                EventDefinitionKind::Message { message_ref } => {
                    self.dangling_opt(dpos, id, "messageRef", message_ref.as_deref())
                }
                EventDefinitionKind::Signal { signal_ref } => {
                    self.dangling_opt(dpos, id, "signalRef", signal_ref.as_deref())
                }
                EventDefinitionKind::Error { error_ref } => {
                    self.dangling_opt(dpos, id, "errorRef", error_ref.as_deref())
                }
                EventDefinitionKind::Escalation { escalation_ref } => {
                    self.dangling_opt(dpos, id, "escalationRef", escalation_ref.as_deref())
                }
                _ => {}
            }
        }
        match &n.kind {
            FlowNodeKind::SendTask { message_ref }
            | FlowNodeKind::ReceiveTask { message_ref, .. } => {
                self.dangling_opt(pos, id, "messageRef", message_ref.as_deref())
            }
            _ => {}
        }
        if cx.executable && self.options.execution {
            self.executable_node(n);
            self.compensation(n, scope, cx);
        }
    }

    /// Every association in the file, as (source, target).
    fn associations(&self) -> Vec<(&'a str, &'a str)> {
        fn walk<'m>(scope: &'m Scope, out: &mut Vec<(&'m str, &'m str)>) {
            for a in &scope.artifacts {
                if let Artifact::Association { source, target, .. } = a {
                    out.push((source.as_str(), target.as_str()));
                }
            }
            for n in &scope.nodes {
                if let Some(inner) = n.kind.scope() {
                    walk(inner, out);
                }
            }
        }
        let mut out = Vec::new();
        for p in &self.model.definitions.processes {
            walk(&p.scope, &mut out);
        }
        for c in &self.model.definitions.collaborations {
            for a in &c.artifacts {
                if let Artifact::Association { source, target, .. } = a {
                    out.push((source.as_str(), target.as_str()));
                }
            }
        }
        out
    }

    /// Compensation's rules (BPMN 2.0 §10.5.7, §13.5.5): a handler has no
    /// sequence flows and is associated with a compensation boundary event,
    /// which has a handler and no outgoing flow; a compensation start event
    /// starts an event sub-process of a sub-process; a throw's activityRef
    /// names an activity of its scope.
    fn compensation(&mut self, n: &'a FlowNode, scope: &'a Scope, cx: ScopeContext<'a>) {
        let pos = n.loc.0;
        let id = n.id.as_str();
        let compensate = n
            .kind
            .event_definitions()
            .iter()
            .find_map(|d| match &d.kind {
                EventDefinitionKind::Compensate { activity_ref } => Some(activity_ref),
                _ => None,
            });
        let linked = |this: &Self, node: &str| -> Vec<&'a str> {
            this.associations()
                .into_iter()
                .filter_map(|(a, b)| {
                    if a == node {
                        Some(b)
                    } else if b == node {
                        Some(a)
                    } else {
                        None
                    }
                })
                .collect()
        };
        let is_compensation_boundary = |other: &FlowNode| {
            matches!(other.kind, FlowNodeKind::BoundaryEvent { .. })
                && other
                    .kind
                    .event_definitions()
                    .iter()
                    .any(|d| matches!(d.kind, EventDefinitionKind::Compensate { .. }))
        };
        if n.is_for_compensation {
            for f in scope
                .flows
                .iter()
                .filter(|f| f.source == n.id || f.target == n.id)
            {
                self.error(
                    "E020",
                    f.loc.0,
                    &f.id,
                    format!("{id:?} is a compensation handler (isForCompensation): it runs only when its activity is compensated, so it has no sequence flows; remove this one"),
                );
            }
            let associated = linked(self, id)
                .into_iter()
                .any(|other| scope.node(other).is_some_and(is_compensation_boundary));
            if !associated {
                self.warning(
                    "W019",
                    pos,
                    id,
                    "the compensation handler is associated with no compensation boundary event, so it never runs",
                );
            }
        }
        let Some(activity_ref) = compensate else {
            return;
        };
        match &n.kind {
            FlowNodeKind::BoundaryEvent { .. } => {
                let handlers = linked(self, id)
                    .into_iter()
                    .filter(|other| scope.node(other).is_some_and(|h| h.is_for_compensation))
                    .count();
                if handlers != 1 {
                    self.error(
                        "E020",
                        pos,
                        id,
                        format!("a compensation boundary event needs exactly one handler: an association to an activity marked isForCompensation in the same scope; this one has {handlers}"),
                    );
                }
                for f in scope.flows.iter().filter(|f| f.source == n.id) {
                    self.error(
                        "E020",
                        f.loc.0,
                        &f.id,
                        "a compensation boundary event has no outgoing sequence flow: its handler is joined to it by an association",
                    );
                }
            }
            FlowNodeKind::StartEvent { .. } => {
                let in_event_sub = cx.owner.is_some_and(|o| {
                    matches!(
                        o.kind,
                        FlowNodeKind::SubProcess {
                            triggered_by_event: true,
                            ..
                        }
                    )
                });
                let of_sub_process = cx
                    .outer
                    .is_some_and(|o| matches!(o.kind, FlowNodeKind::SubProcess { .. }));
                if !(in_event_sub && of_sub_process) {
                    self.error(
                        "E020",
                        pos,
                        id,
                        "a compensation start event starts an event sub-process inside a sub-process (it compensates that sub-process); put it there",
                    );
                }
            }
            _ => {}
        }
        if let Some(target) = activity_ref.as_deref().filter(|t| !t.is_empty()) {
            if !self.ids.contains(target) {
                return self.dangling(pos, id, "activityRef", target);
            }
            // In a compensation event sub-process, the throw names an
            // activity of the sub-process it compensates.
            let in_scope = scope.node(target).or_else(|| {
                cx.owner
                    .filter(|o| {
                        matches!(
                            o.kind,
                            FlowNodeKind::SubProcess {
                                triggered_by_event: true,
                                ..
                            }
                        )
                    })
                    .and(cx.outer)
                    .and_then(|outer| outer.kind.scope())
                    .and_then(|s| s.node(target))
            });
            if !in_scope.is_some_and(|t| t.kind.is_activity()) {
                self.error(
                    "E020",
                    pos,
                    id,
                    format!("activityRef {target:?} is not an activity of this scope; a compensation throw compensates the activities of its own scope"),
                );
            }
        }
    }

    fn unsupported(&mut self, n: &FlowNode, what: &str) {
        self.error(
            "E013",
            n.loc.0,
            &n.id,
            format!("{what} is not supported by Millrace's engine; the process cannot be deployed as executable"),
        );
    }

    fn executable_node(&mut self, n: &'a FlowNode) {
        let id = n.id.as_str();
        let defs = n.kind.event_definitions();
        let name = n.kind.element_name();
        match &n.kind {
            FlowNodeKind::ComplexGateway => self.unsupported(n, "a complex gateway"),
            FlowNodeKind::Transaction { .. } => self.unsupported(n, "a transaction sub-process"),
            FlowNodeKind::AdHocSubProcess { .. } => self.unsupported(n, "an ad-hoc sub-process"),
            FlowNodeKind::EventBasedGateway { instantiate: true } => {
                self.unsupported(n, "an instantiating event-based gateway")
            }
            FlowNodeKind::ReceiveTask {
                instantiate: true, ..
            } => self.unsupported(n, "an instantiating receive task"),
            _ => {}
        }
        if defs.len() > 1 {
            self.unsupported(
                n,
                &format!("a <{name}> with several event definitions (a multiple event)"),
            );
        }
        for d in defs {
            let allowed = match (&n.kind, &d.kind) {
                (_, EventDefinitionKind::Cancel) => false,
                (
                    FlowNodeKind::BoundaryEvent { .. }
                    | FlowNodeKind::IntermediateThrowEvent { .. }
                    | FlowNodeKind::EndEvent { .. }
                    | FlowNodeKind::StartEvent { .. },
                    EventDefinitionKind::Compensate { .. },
                ) => true,
                (FlowNodeKind::StartEvent { .. }, k) => !matches!(
                    k,
                    EventDefinitionKind::Terminate | EventDefinitionKind::Link { .. }
                ),
                (FlowNodeKind::EndEvent { .. }, k) => matches!(
                    k,
                    EventDefinitionKind::Terminate
                        | EventDefinitionKind::Error { .. }
                        | EventDefinitionKind::Message { .. }
                        | EventDefinitionKind::Signal { .. }
                        | EventDefinitionKind::Escalation { .. }
                ),
                (FlowNodeKind::IntermediateCatchEvent { .. }, k) => matches!(
                    k,
                    EventDefinitionKind::Timer(_)
                        | EventDefinitionKind::Message { .. }
                        | EventDefinitionKind::Signal { .. }
                        | EventDefinitionKind::Link { .. }
                        | EventDefinitionKind::Conditional { .. }
                ),
                (FlowNodeKind::IntermediateThrowEvent { .. }, k) => matches!(
                    k,
                    EventDefinitionKind::Message { .. }
                        | EventDefinitionKind::Signal { .. }
                        | EventDefinitionKind::Link { .. }
                        | EventDefinitionKind::Escalation { .. }
                ),
                (FlowNodeKind::BoundaryEvent { .. }, k) => matches!(
                    k,
                    EventDefinitionKind::Timer(_)
                        | EventDefinitionKind::Message { .. }
                        | EventDefinitionKind::Signal { .. }
                        | EventDefinitionKind::Error { .. }
                        | EventDefinitionKind::Escalation { .. }
                        | EventDefinitionKind::Conditional { .. }
                ),
                _ => true,
            };
            if !allowed {
                self.unsupported(n, &format!("a <{name}> with a <{}>", d.kind.element_name()));
            }
            match &d.kind {
                EventDefinitionKind::Timer(t) => self.timer(id, d.loc.0, t),
                EventDefinitionKind::Message { message_ref: None } => self.error(
                    "E016",
                    d.loc.0,
                    id,
                    "the message event names no message (messageRef); Millrace correlates messages by name",
                ),
                EventDefinitionKind::Signal { signal_ref: None } => self.error(
                    "E016",
                    d.loc.0,
                    id,
                    "the signal event names no signal (signalRef)",
                ),
                EventDefinitionKind::Conditional { condition } => match condition {
                    Some(c) if !c.text.is_empty() => self.expression(id, c, ScriptKind::Condition, "condition"),
                    _ => self.error("E010", d.loc.0, id, "the conditional event has no condition"),
                },
                _ => {}
            }
        }
        match &n.kind {
            FlowNodeKind::BoundaryEvent { .. } | FlowNodeKind::IntermediateCatchEvent { .. }
                if defs.is_empty() =>
            {
                self.error(
                    "E013",
                    n.loc.0,
                    id,
                    format!("a <{name}> needs an event definition (what it waits for)"),
                )
            }
            FlowNodeKind::ScriptTask { script } => self.script(id, script, n.loc.0, "script"),
            FlowNodeKind::ServiceTask | FlowNodeKind::BusinessRuleTask => {
                let c = &n.camunda;
                if let Some(connector) = &c.connector {
                    self.connector(n, connector);
                } else if c.task_type.as_deref() == Some("mail") {
                    self.mail(n);
                } else if c.task_type.as_deref() == Some("external") {
                    if c.topic.as_deref().is_none_or(|t| t.trim().is_empty()) {
                        self.error(
                            "E017",
                            n.loc.0,
                            id,
                            "an external task needs camunda:topic, the topic workers fetch it by",
                        );
                    }
                } else if let Some(expr) = &c.expression {
                    let e = Expression {
                        text: expr.clone(),
                        language: None,
                        loc: n.loc,
                    };
                    self.expression(id, &e, ScriptKind::Script, "camunda:expression");
                } else if let Some(res) = &c.resource {
                    let s = Script {
                        format: None,
                        text: None,
                        resource: Some(res.clone()),
                        loc: n.loc,
                    };
                    self.script(id, &s, n.loc.0, "camunda:resource");
                } else if c.java_delegate.is_some() {
                    self.unsupported(
                        n,
                        "a Java delegate (camunda:class or camunda:delegateExpression)",
                    );
                } else {
                    self.error(
                        "E017",
                        n.loc.0,
                        id,
                        format!("the <{name}> has no implementation: give camunda:type=\"external\" with camunda:topic, or a Rhai script in camunda:expression or camunda:resource"),
                    );
                }
            }
            FlowNodeKind::SendTask { .. } if n.camunda.connector.is_some() => {
                if let Some(connector) = &n.camunda.connector {
                    self.connector(n, connector);
                }
            }
            FlowNodeKind::SendTask { .. } if n.camunda.task_type.as_deref() == Some("mail") => {
                self.mail(n)
            }
            FlowNodeKind::CallActivity { called_element }
                if called_element
                    .as_deref()
                    .is_none_or(|c| c.trim().is_empty()) =>
            {
                self.error(
                    "E015",
                    n.loc.0,
                    id,
                    "the call activity names no process to call (calledElement)",
                )
            }
            _ => {}
        }
        if let Some(LoopCharacteristics::MultiInstance {
            loop_cardinality,
            completion_condition,
            collection,
            loc,
            ..
        }) = &n.loop_characteristics
        {
            if loop_cardinality.is_none() && collection.is_none() {
                self.error(
                    "E018",
                    loc.0,
                    id,
                    "a multi-instance activity needs loopCardinality or camunda:collection to know how many instances to run",
                );
            }
            if let Some(c) = loop_cardinality {
                self.expression(id, c, ScriptKind::Expression, "loopCardinality");
            }
            if let Some(c) = completion_condition {
                self.expression(id, c, ScriptKind::Condition, "completionCondition");
            }
        }
        if let Some(LoopCharacteristics::Standard {
            loop_condition: Some(c),
            ..
        }) = &n.loop_characteristics
        {
            self.expression(id, c, ScriptKind::Condition, "loopCondition");
        }
        for l in &n.camunda.execution_listeners {
            self.listener(id, l);
        }
        let connector_parameters = n
            .camunda
            .connector
            .iter()
            .flat_map(|c| c.inputs.iter().chain(&c.outputs));
        for p in n
            .camunda
            .inputs
            .iter()
            .chain(&n.camunda.outputs)
            .chain(connector_parameters)
        {
            self.parameter(id, &p.name, &p.value, p.loc.0);
        }
        // An assignment or due date may be a whole `${…}`: a Rhai expression
        // evaluated when the task is created (`${initiator}` reads the same in
        // both languages). A priority, or `${…}` inside other text, may not.
        let written = [
            (
                "camunda:assignee",
                n.camunda.assignee.iter().collect::<Vec<_>>(),
                true,
            ),
            (
                "camunda:candidateGroups",
                n.camunda.candidate_groups.iter().collect(),
                true,
            ),
            (
                "camunda:candidateUsers",
                n.camunda.candidate_users.iter().collect(),
                true,
            ),
            ("camunda:dueDate", n.camunda.due_date.iter().collect(), true),
            (
                "camunda:priority",
                n.camunda.priority.iter().collect(),
                false,
            ),
        ];
        for (attr, values, expressions_allowed) in written {
            for v in values {
                if !(v.contains("${") || v.contains("#{")) {
                    continue;
                }
                match assignment_expression(v).filter(|_| expressions_allowed) {
                    Some(e) => {
                        if let Err(f) = self.checker.check(ScriptKind::Expression, e) {
                            self.error(
                                "E010",
                                n.loc.0,
                                id,
                                format!(
                                    "{attr} {v:?} does not compile as a Rhai expression (column {}): {}",
                                    f.column, f.message
                                ),
                            );
                        }
                    }
                    None if expressions_allowed => self.error(
                        "E014",
                        n.loc.0,
                        id,
                        format!("{attr} {v:?} mixes an expression into text; write the whole value as one ${{…}} Rhai expression (${{\"user-\" + region}})"),
                    ),
                    None => self.error(
                        "E014",
                        n.loc.0,
                        id,
                        format!("{attr} holds an expression ({v:?}); it must be a plain number"),
                    ),
                }
            }
        }
    }

    /// A mail task takes its mail from input parameters `to`, `subject` and `body`.
    fn mail(&mut self, n: &FlowNode) {
        let has = |name: &str| n.camunda.inputs.iter().any(|p| p.name == name);
        if !has("to") || !has("subject") {
            self.error(
                "E017",
                n.loc.0,
                &n.id,
                "a mail task (camunda:type=\"mail\") needs input parameters to and subject (and usually body)",
            );
        }
    }

    /// A connector names one Millrace has and gives what that connector needs:
    /// `sql` the named query (a constant `query` input), `mail` its `to` and
    /// `subject`, `document` its template (a constant `template` input),
    /// `http` its `url`.
    fn connector(&mut self, n: &FlowNode, c: &Connector) {
        let has = |name: &str| c.inputs.iter().find(|p| p.name == name);
        match c.id.as_str() {
            "sql" => match has("query").map(|p| &p.value) {
                Some(ParameterValue::Text(q)) if !q.trim().is_empty() => {}
                Some(_) => self.error(
                    "E021",
                    c.loc.0,
                    &n.id,
                    "the sql connector's query input names a query of the deployment's .sql files as plain text, not a script",
                ),
                None => self.error(
                    "E021",
                    c.loc.0,
                    &n.id,
                    "the sql connector needs an input parameter query: the name of a query in the deployment's .sql files",
                ),
            },
            "document" => match has("template").map(|p| &p.value) {
                Some(ParameterValue::Text(t)) if t.trim().ends_with(".typ") => {}
                Some(_) => self.error(
                    "E021",
                    c.loc.0,
                    &n.id,
                    "the document connector's template input names a .typ file of the deployment as plain text (e.g. receipt.typ)",
                ),
                None => self.error(
                    "E021",
                    c.loc.0,
                    &n.id,
                    "the document connector needs an input parameter template: the .typ file of the deployment to typeset",
                ),
            },
            "http" => {
                if has("url").is_none() {
                    self.error(
                        "E021",
                        c.loc.0,
                        &n.id,
                        "the http connector needs an input parameter url (http://host/path, on a host the administrator allowed)",
                    );
                }
            }
            "mail" => {
                if has("to").is_none() || has("subject").is_none() {
                    self.error(
                        "E021",
                        c.loc.0,
                        &n.id,
                        "the mail connector needs input parameters to and subject (and usually body)",
                    );
                }
            }
            "" => self.error(
                "E021",
                c.loc.0,
                &n.id,
                "the connector has no camunda:connectorId; Millrace has sql, mail, document and http",
            ),
            other => self.error(
                "E021",
                c.loc.0,
                &n.id,
                format!("unknown connector {other:?}; Millrace has sql, mail, document and http"),
            ),
        }
    }

    fn parameter(&mut self, id: &str, name: &str, value: &ParameterValue, pos: Pos) {
        match value {
            ParameterValue::Text(t) if t.contains("${") || t.contains("#{") => self.error(
                "E014",
                pos,
                id,
                format!("the mapping {name:?} holds a JUEL expression ({t:?}); use <camunda:script scriptFormat=\"rhai\">"),
            ),
            ParameterValue::Script(s) => self.script(id, s, pos, &format!("the mapping {name:?}")),
            ParameterValue::List(items) => {
                for i in items {
                    self.parameter(id, name, i, pos);
                }
            }
            ParameterValue::Map(entries) => {
                for (_, i) in entries {
                    self.parameter(id, name, i, pos);
                }
            }
            _ => {}
        }
    }

    fn listener(&mut self, id: &str, l: &Listener) {
        if !matches!(l.event.as_str(), "start" | "end" | "take") {
            self.error(
                "E013",
                l.loc.0,
                id,
                format!(
                    "the execution listener event {:?} is not start, end or take",
                    l.event
                ),
            );
        }
        match (&l.script, &l.other) {
            (Some(s), _) => self.script(id, s, l.loc.0, "the execution listener"),
            (None, Some(other)) => self.error(
                "E013",
                l.loc.0,
                id,
                format!("the execution listener {other:?} is a Java class or JUEL expression; only scripts are supported"),
            ),
            (None, None) => self.error("E013", l.loc.0, id, "the execution listener has no script"),
        }
    }

    /// Why a language is not Rhai, or `None` when it is.
    fn language_problem(&self, language: Option<&str>, text: &str) -> Option<String> {
        let file_default = self
            .model
            .definitions
            .expression_language
            .as_deref()
            .filter(|l| *l != XPATH);
        match language.or(file_default).map(str::trim) {
            Some(l) if !l.is_empty() && !RHAI.contains(&l) => Some(format!(
                "the language {l:?} is not supported; Millrace runs Rhai (language=\"rhai\")"
            )),
            _ if text.trim_start().starts_with("${") || text.trim_start().starts_with("#{") => Some(
                "this looks like a JUEL expression (${…}); JUEL is not supported, write it in Rhai"
                    .into(),
            ),
            _ if text.trim_start().starts_with('=') => Some(
                "this looks like a FEEL expression (=…); FEEL is not supported, write it in Rhai"
                    .into(),
            ),
            _ => None,
        }
    }

    fn expression(&mut self, id: &str, e: &Expression, kind: ScriptKind, what: &str) {
        if let Some(problem) = self.language_problem(e.language.as_deref(), &e.text) {
            self.error("E014", e.loc.0, id, format!("{what}: {problem}"));
            return;
        }
        if let Err(f) = self.checker.check(kind, &e.text) {
            let hint = if e.language.is_none()
                && self.model.definitions.expression_language.as_deref() == Some(XPATH)
            {
                " (the file names XPath as its expression language, which Millrace ignores: an expression without a language is Rhai)"
            } else {
                ""
            };
            self.error(
                "E010",
                e.loc.0,
                id,
                format!(
                    "{what} does not compile as Rhai (line {}, column {} of the expression): {}{hint}",
                    f.line, f.column, f.message
                ),
            );
            self.in_script(&f);
        }
    }

    fn script(&mut self, id: &str, s: &Script, pos: Pos, what: &str) {
        if let Some(problem) = self.language_problem(s.format.as_deref(), "") {
            self.error("E014", pos, id, format!("{what}: {problem}"));
            return;
        }
        let text = match (&s.text, &s.resource) {
            (Some(t), _) => t.clone(),
            (None, Some(r)) => match self.checker.resource(r) {
                Ok(t) => t,
                Err(why) => {
                    self.error(
                        "E019",
                        pos,
                        id,
                        format!("{what}: the script resource {r:?} cannot be read: {why}"),
                    );
                    return;
                }
            },
            (None, None) => {
                self.error(
                    "E010",
                    pos,
                    id,
                    format!("{what} has no script text and no camunda:resource"),
                );
                return;
            }
        };
        if let Err(f) = self.checker.check(ScriptKind::Script, &text) {
            let at = s.loc.0;
            self.error(
                "E010",
                if at.line > 0 { at } else { pos },
                id,
                format!(
                    "{what} does not compile as Rhai (line {}, column {} of the script): {}",
                    f.line, f.column, f.message
                ),
            );
            self.in_script(&f);
        }
    }

    fn timer(&mut self, id: &str, pos: Pos, t: &Timer) {
        let parts = [
            ("timeDate", &t.time_date),
            ("timeDuration", &t.time_duration),
            ("timeCycle", &t.time_cycle),
        ];
        let given: Vec<_> = parts
            .iter()
            .filter_map(|(n, e)| e.as_ref().map(|e| (*n, e)))
            .collect();
        let [(which, e)] = given.as_slice() else {
            let msg = if given.is_empty() {
                "the timer has no definition: give one of timeDate, timeDuration or timeCycle"
                    .to_string()
            } else {
                "the timer has more than one of timeDate, timeDuration and timeCycle; give exactly one".to_string()
            };
            self.error("E011", pos, id, msg);
            return;
        };
        if let Some(problem) = self.language_problem(e.language.as_deref(), &e.text) {
            self.error("E014", e.loc.0, id, format!("{which}: {problem}"));
            return;
        }
        // With language="rhai" the timer is an expression, evaluated when the timer starts.
        if e.language.is_some() {
            self.expression(id, e, ScriptKind::Expression, which);
            return;
        }
        let parsed = match *which {
            "timeDate" => timer::parse_date(&e.text).map(|_| ()),
            "timeDuration" => timer::parse_duration(&e.text).map(|_| ()),
            _ => timer::parse_cycle(&e.text).map(|_| ()),
        };
        if let Err(why) = parsed {
            self.error("E012", e.loc.0, id, format!("{which}: {why}"));
        }
    }

    fn reachability(&mut self, p: &'a Process) {
        let graph = FlowGraph::of(p);
        let mut roots: Vec<&str> = Vec::new();
        fn collect_roots<'s>(scope: &'s Scope, top: bool, roots: &mut Vec<&'s str>) {
            let has_start = scope
                .nodes
                .iter()
                .any(|n| matches!(n.kind, FlowNodeKind::StartEvent { .. }));
            let targets: HashSet<&str> = scope.flows.iter().map(|f| f.target.as_str()).collect();
            for n in &scope.nodes {
                let event_sub = matches!(
                    n.kind,
                    FlowNodeKind::SubProcess {
                        triggered_by_event: true,
                        ..
                    }
                );
                let boundary = matches!(n.kind, FlowNodeKind::BoundaryEvent { .. });
                let start = matches!(n.kind, FlowNodeKind::StartEvent { .. });
                let link_catch = matches!(&n.kind, FlowNodeKind::IntermediateCatchEvent { definitions }
                    if definitions.iter().any(|d| matches!(d.kind, EventDefinitionKind::Link { .. })));
                let is_root = event_sub
                    || n.is_for_compensation
                    || (start && top)
                    || (!has_start && !boundary && !link_catch && !targets.contains(n.id.as_str()));
                if is_root {
                    roots.push(n.id.as_str());
                }
                if let Some(inner) = n.kind.scope() {
                    collect_roots(inner, false, roots);
                }
            }
        }
        collect_roots(&p.scope, true, &mut roots);
        let reached: HashSet<&str> = graph.reachable_from(roots).into_iter().collect();
        for n in p.scope.all_nodes() {
            if !reached.contains(n.id.as_str()) {
                self.warning(
                    "W005",
                    n.loc.0,
                    &n.id,
                    format!(
                        "the <{}> cannot be reached from any start event",
                        n.kind.element_name()
                    ),
                );
            }
        }
    }
}
