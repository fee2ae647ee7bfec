//! Version migration: a running instance moves from one version of its
//! process to another, each token mapped to an element of the new version,
//! in one step the engine checks. What it cannot carry over it refuses,
//! naming the element and why, and a refused migration changes nothing.
//!
//! What moves with the instance: its variables, tokens, open user tasks
//! (with their claims), jobs, called instances and incidents. Subscriptions
//! are reconciled with the new version: a catch or boundary event mapped to
//! one with the same trigger keeps its subscription (a timer keeps its due
//! time, as Camunda 7 does); one whose trigger changed or that the new
//! version dropped is closed; a boundary or event sub-process event the new
//! version adds is opened.

use std::collections::BTreeMap;

use super::*;

/// How the elements of the old version map to the new one: source BPMN id →
/// target BPMN id. An element not named maps to the element with the same id,
/// if the new version has one.
pub type ElementMapping = BTreeMap<String, String>;

/// Why an instance cannot migrate; the text names the element and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MigrationRefused(pub String);

/// What is wrong with a mapping whatever the instances: a source or target
/// that does not exist, or elements of different kinds. Empty when it is sound.
pub fn check_mapping(
    from: &ProcessDefinition,
    to: &ProcessDefinition,
    mapping: &ElementMapping,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (source, target) in mapping {
        let s = from.node_ix(source);
        let t = to.node_ix(target);
        if s.is_none() {
            problems.push(format!(
                "version {} has no element {source:?}",
                from.version
            ));
        }
        if t.is_none() {
            problems.push(format!("version {} has no element {target:?}", to.version));
        }
        if let (Some(s), Some(t)) = (s, t) {
            let (a, b) = (from.node(s), to.node(t));
            if a.kind.kind_name() != b.kind.kind_name() {
                problems.push(format!(
                    "{source} is a {} and {target} is a {}: an element maps only to one of its kind",
                    a.kind.kind_name(),
                    b.kind.kind_name()
                ));
            }
        }
    }
    problems
}

/// Moves `inst` from version `from` to version `to` of its process, mapping
/// its elements by `mapping`. On `Err` the instance is unchanged.
pub fn migrate(
    from: &ProcessDefinition,
    to: &ProcessDefinition,
    inst: &mut Instance,
    mapping: &ElementMapping,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, MigrationRefused> {
    let refuse = |why: String| Err(MigrationRefused(why));
    if inst.state != InstanceState::Active {
        return refuse(format!("it has ended ({})", inst.state.as_str()));
    }
    if inst.key != from.key || inst.version != from.version {
        return refuse(format!(
            "it runs version {} of {}, not version {} of {}",
            inst.version, inst.key, from.version, from.key
        ));
    }
    if to.key != from.key {
        return refuse(format!(
            "a migration stays within one process; {} is not {}",
            to.key, from.key
        ));
    }
    if to.version == from.version {
        return refuse(format!("it already runs version {}", to.version));
    }
    let map = |ix: NodeIx| -> Option<NodeIx> {
        let id = &from.node(ix).id;
        to.node_ix(mapping.get(id).map(String::as_str).unwrap_or(id))
    };
    let label = |n: &crate::definition::Node| match &n.name {
        Some(name) => format!("{} ({name})", n.id),
        None => n.id.clone(),
    };

    let mut out = inst.clone();
    let mut effects = Vec::new();
    for (tid, tok) in &inst.tokens {
        let src = from.node(tok.node);
        let Some(n) = map(tok.node) else {
            return refuse(format!(
                "a token is at {}, which version {} does not have: map it to one of that version's elements",
                label(src),
                to.version
            ));
        };
        let dst = to.node(n);
        if src.kind.kind_name() != dst.kind.kind_name() {
            return refuse(format!(
                "a token is at {}, a {}, mapped to {}, a {}: an element maps only to one of its kind",
                label(src),
                src.kind.kind_name(),
                label(dst),
                dst.kind.kind_name()
            ));
        }
        let want_scope = match from.scopes[src.scope as usize].owner {
            None => Some(0),
            Some(owner) => map(owner).and_then(|o| to.node(o).inner_scope),
        };
        if want_scope != Some(dst.scope) {
            let inside = |def: &ProcessDefinition, n: &crate::definition::Node| match def.scopes
                [n.scope as usize]
                .owner
            {
                Some(o) => format!("inside {}", def.node(o).id),
                None => "at the process level".to_string(),
            };
            return refuse(format!(
                "a token is at {}, {}, and {} in version {} stands {}: a token keeps its sub-process",
                label(src),
                inside(from, src),
                dst.id,
                to.version,
                inside(to, dst)
            ));
        }
        if src.multi_instance.is_some() != dst.multi_instance.is_some() {
            return refuse(format!(
                "a token is at {}, and {} is multi-instance in one version and not in the other",
                label(src),
                dst.id
            ));
        }
        let via = match tok.via {
            None => None,
            Some(f) => {
                let flow_id = &from.flow(f).id;
                let found = to
                    .flows
                    .iter()
                    .position(|g| &g.id == flow_id && g.target == n)
                    .map(|i| i as FlowIx);
                if found.is_none() && tok.state == TokenState::Joining {
                    return refuse(format!(
                        "a token waits at join {} for the branch that came by flow {flow_id}, which does not lead into {} in version {}",
                        label(src),
                        dst.id,
                        to.version
                    ));
                }
                found
            }
        };
        if let Some(t) = out.tokens.get_mut(tid) {
            t.node = n;
            t.via = via;
        }
        if src.id != dst.id && !tok.inner {
            effects.push(Effect::History(HistoryEvent::ActivityCancelled {
                node: src.id.clone(),
            }));
            effects.push(Effect::History(HistoryEvent::ActivityStarted {
                node: dst.id.clone(),
            }));
        }
        match &tok.state {
            TokenState::Waiting(Wait::UserTask { task }) => {
                let form = |k: &NodeKind| match k {
                    NodeKind::UserTask(spec) => spec.form.clone(),
                    _ => None,
                };
                if src.id != dst.id || src.name != dst.name || form(&src.kind) != form(&dst.kind) {
                    effects.push(Effect::TaskMoved {
                        task: *task,
                        node_id: dst.id.clone(),
                        name: dst.name.clone(),
                        form: form(&dst.kind),
                    });
                }
            }
            TokenState::Incident { id, .. } if src.id != dst.id => {
                effects.push(Effect::IncidentMoved {
                    incident: *id,
                    node: dst.id.clone(),
                });
            }
            _ => {}
        }
    }
    for c in &mut out.compensations {
        let src = from.node(c.node);
        match map(c.node) {
            Some(n) => c.node = n,
            None => {
                return refuse(format!(
                    "{} has completed and can still be compensated, and version {} has no element for it",
                    label(src),
                    to.version
                ))
            }
        }
    }
    // The subscriptions as they were, by the source node: what the
    // reconciliation below keeps, closes or opens.
    let before: Vec<(LocalId, Subscription)> = inst
        .subscriptions
        .iter()
        .map(|(id, s)| (*id, s.clone()))
        .collect();
    out.version = to.version;

    let mut x = Exec {
        def: to,
        inst: &mut out,
        now,
        effects,
        queue: VecDeque::new(),
        budget: STEP_BUDGET,
        vars_changed: false,
    };
    let mut wanted = x.wanted_subscriptions();
    let mut closed: Vec<(NodeIx, SubscriptionTarget)> = Vec::new();
    for (id, sub) in &before {
        let kept = map(sub.node).filter(|&n| {
            trigger_key(from, sub.node).is_some()
                && trigger_key(from, sub.node) == trigger_key(to, n)
                && wanted.iter().any(|(w, t)| *w == n && *t == sub.target)
        });
        match kept {
            Some(n) => {
                wanted.retain(|(w, t)| !(*w == n && *t == sub.target));
                if let Some(s) = x.inst.subscriptions.get_mut(id) {
                    s.node = n;
                }
            }
            None => {
                if let Some(n) = map(sub.node) {
                    closed.push((n, sub.target.clone()));
                }
                x.close_subscription(*id);
            }
        }
    }
    for (n, target) in wanted {
        // A subscription the old version had at the same element and that is
        // gone by now (a boundary timer that fired, a cycle that ran out) is
        // not opened again; one closed above because its trigger changed is.
        let had_counterpart = from.nodes.iter().enumerate().any(|(i, _)| {
            let i = i as NodeIx;
            map(i) == Some(n) && trigger_key(from, i) == trigger_key(to, n)
        });
        let reopened = closed.iter().any(|(c, t)| *c == n && *t == target);
        if had_counterpart && !reopened && !matches!(target, SubscriptionTarget::Token(_)) {
            continue;
        }
        if let Err(e) = x.subscribe(n, target) {
            return refuse(format!("{}: {e}", label(to.node(n))));
        }
    }
    x.history(HistoryEvent::InstanceMigrated {
        from_version: from.version,
        to_version: to.version,
    });
    let effects = std::mem::take(&mut x.effects);
    *inst = out;
    Ok(effects)
}

/// What a catching node listens for, to compare two versions' nodes: the
/// kind of trigger and, for messages and signals, the name. `None` for a
/// node that opens no subscription.
fn trigger_key(def: &ProcessDefinition, n: NodeIx) -> Option<(&'static str, String)> {
    let trigger = match &def.node(n).kind {
        NodeKind::StartEvent { trigger, .. }
        | NodeKind::CatchEvent(trigger)
        | NodeKind::BoundaryEvent { trigger, .. } => trigger,
        NodeKind::ReceiveTask { message } => return Some(("message", message.clone())),
        _ => return None,
    };
    match trigger {
        Trigger::Message(m) => Some(("message", m.clone())),
        Trigger::Signal(s) => Some(("signal", s.clone())),
        Trigger::Timer(_) => Some(("timer", String::new())),
        Trigger::Conditional(_) => Some(("condition", String::new())),
        _ => None,
    }
}

impl Exec<'_> {
    /// Every subscription the instance should hold on the version it now
    /// runs (`self.def`), from where its tokens stand: catch events and
    /// receive tasks their tokens wait at, the branches of event-based
    /// gateways, the boundary events of the activities that run, and the
    /// event sub-process starts of the scopes that run.
    fn wanted_subscriptions(&self) -> Vec<(NodeIx, SubscriptionTarget)> {
        let mut wanted = Vec::new();
        for (&t, tok) in &self.inst.tokens {
            let node = self.def.node(tok.node);
            match &tok.state {
                TokenState::Waiting(Wait::Event) if trigger_key(self.def, tok.node).is_some() => {
                    wanted.push((tok.node, SubscriptionTarget::Token(t)));
                }
                TokenState::Waiting(Wait::EventGateway) => {
                    for &f in &node.outgoing {
                        let target = self.def.flow(f).target;
                        if trigger_key(self.def, target).is_some() {
                            wanted.push((target, SubscriptionTarget::EventGateway { token: t }));
                        }
                    }
                }
                _ => {}
            }
            // Where the executor opens boundary subscriptions: an activity
            // that waits, runs its inside or calls (never one instance of a
            // multi-instance: its boundaries are the body's).
            let hosts = !tok.inner
                && matches!(
                    tok.state,
                    TokenState::Waiting(
                        Wait::UserTask { .. }
                            | Wait::External { .. }
                            | Wait::Connector { .. }
                            | Wait::Event
                    ) | TokenState::InScope(_)
                        | TokenState::Called(_)
                );
            if hosts {
                for &b in &node.boundaries {
                    if trigger_key(self.def, b).is_some() {
                        wanted.push((b, SubscriptionTarget::Boundary { host: t }));
                    }
                }
            }
        }
        for (&s, scope) in &self.inst.scopes {
            if !matches!(
                scope.kind,
                ScopeKind::Process | ScopeKind::SubProcess | ScopeKind::EventSubProcess { .. }
            ) {
                continue;
            }
            // An interrupting event sub-process that runs has closed its
            // scope's other event sub-processes.
            let interrupted = self.inst.scopes.values().any(|c| {
                c.parent == Some(s)
                    && matches!(c.kind, ScopeKind::EventSubProcess { interrupting: true })
            });
            let Some(ds) = self.def_scope_of(s) else {
                continue;
            };
            if interrupted {
                continue;
            }
            for &esp in &self.def.scopes[ds as usize].event_subprocesses {
                let Some(inner) = self.def.node(esp).inner_scope else {
                    continue;
                };
                for &n in &self.def.scopes[inner as usize].nodes {
                    if matches!(self.def.node(n).kind, NodeKind::StartEvent { .. })
                        && trigger_key(self.def, n).is_some()
                    {
                        wanted.push((n, SubscriptionTarget::EventSubProcess { scope: s }));
                    }
                }
            }
        }
        wanted
    }
}
