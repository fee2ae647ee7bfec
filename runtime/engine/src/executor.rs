//! The token machine: one command in, the instance moved on to its next wait
//! states, effects out. Pure: no I/O, no clock (`now` is an argument).
//!
//! Work is a queue of (token, phase) items, not recursion, so long loops
//! without wait states cannot overflow the stack; a step budget turns an
//! endless loop into an incident.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Utc};

use crate::definition::TimerSpec;
use crate::definition::{
    CallMapping, Code, FlowIx, MappingValue, NodeIx, NodeKind, ProcessDefinition, ScopeIx, Throw,
    Trigger,
};
use crate::effect::{Command, CommandError, Effect, HistoryEvent, JobKind, TaskInfo};
use crate::instance::*;
use crate::script::ScriptOutcome;
use crate::value::{Value, Variables};
use millrace_model::timer::TimerValue;

/// Most node phases one step may run before the instance is declared looping.
pub const STEP_BUDGET: u32 = 200_000;

/// Creates an instance and runs its start command.
pub fn start(
    def: &ProcessDefinition,
    id: String,
    business_key: Option<String>,
    parent: Option<ParentLink>,
    command: Command,
    now: DateTime<Utc>,
) -> Result<(Instance, Vec<Effect>), CommandError> {
    let mut inst = Instance {
        id,
        key: def.key.clone(),
        version: def.version,
        business_key,
        state: InstanceState::Active,
        scopes: [(
            ROOT_SCOPE,
            ScopeInstance {
                parent: None,
                owner_token: None,
                kind: ScopeKind::Process,
                variables: Variables::new(),
            },
        )]
        .into_iter()
        .collect(),
        tokens: Default::default(),
        subscriptions: Default::default(),
        next_id: 0,
        parent,
        started_at: now,
        ended_at: None,
        compensations: Vec::new(),
    };
    let effects = step(def, &mut inst, command, now)?;
    Ok((inst, effects))
}

/// Applies one command to an instance. On `Err` the instance is unchanged.
pub fn step(
    def: &ProcessDefinition,
    inst: &mut Instance,
    command: Command,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, CommandError> {
    if inst.state != InstanceState::Active {
        return Err(CommandError::Ended(inst.state.as_str()));
    }
    if let Some(vars) = command.variables().filter(|v| !v.is_empty()) {
        let incoming = crate::value::check_variables(vars)?;
        let held = inst.variable_weight();
        if held + incoming > crate::value::MAX_INSTANCE_BYTES {
            return Err(CommandError::InstanceFull(held + incoming));
        }
    }
    let mut x = Exec {
        def,
        inst,
        now,
        effects: Vec::new(),
        queue: VecDeque::new(),
        budget: STEP_BUDGET,
        vars_changed: false,
    };
    x.command(command)?;
    x.run();
    Ok(x.effects)
}

#[derive(Debug, Clone, Copy)]
enum Work {
    Arrive(LocalId),
    Enter(LocalId),
    Execute(LocalId),
    Complete(LocalId),
    Leave(LocalId),
}

struct Exec<'a> {
    def: &'a ProcessDefinition,
    inst: &'a mut Instance,
    now: DateTime<Utc>,
    effects: Vec<Effect>,
    queue: VecDeque<Work>,
    budget: u32,
    vars_changed: bool,
}

fn matches_code(caught: &Option<String>, thrown: &Option<String>) -> bool {
    caught.is_none() || caught == thrown
}

impl<'a> Exec<'a> {
    // ----- commands -------------------------------------------------------

    fn command(&mut self, command: Command) -> Result<(), CommandError> {
        match command {
            Command::Start {
                variables,
                start_node,
            } => {
                if !self.inst.tokens.is_empty() || self.inst.next_id > 0 {
                    return Err(CommandError::AlreadyStarted);
                }
                let starts = match &start_node {
                    Some(id) => vec![self
                        .def
                        .node_ix(id)
                        .filter(|&ix| {
                            let n = self.def.node(ix);
                            n.scope == 0 && matches!(n.kind, NodeKind::StartEvent { .. })
                        })
                        .ok_or_else(|| CommandError::NoStartEvent(id.clone()))?],
                    None => match self.def.scopes[0].none_start {
                        Some(start) => vec![start],
                        // No start event at all: everything without incoming flow starts.
                        None if !self.def.scopes[0].implicit_starts.is_empty() => {
                            self.def.scopes[0].implicit_starts.clone()
                        }
                        None => {
                            return Err(CommandError::NoStartEvent("(none start event)".into()))
                        }
                    },
                };
                self.history(HistoryEvent::InstanceStarted);
                for (name, value) in variables {
                    self.set_local(ROOT_SCOPE, &name, value);
                }
                self.open_event_subprocesses(ROOT_SCOPE, 0);
                let tokens: Vec<LocalId> = starts
                    .into_iter()
                    .map(|start| self.new_token(ROOT_SCOPE, start, None))
                    .collect();
                for code in &self.def.listeners.start {
                    if let Err(e) = self.run_script(tokens[0], code) {
                        self.incident(
                            tokens[0],
                            Phase::Enter,
                            format!("process start listener: {e}"),
                        );
                        return Ok(());
                    }
                }
                for t in tokens {
                    self.queue.push_back(Work::Enter(t));
                }
            }
            Command::CompleteTask { task, variables } => {
                let t = self
                    .find_token(|s| matches!(s, TokenState::Waiting(Wait::UserTask { task: id }) if *id == task))
                    .ok_or(CommandError::NotFound("task", task))?;
                self.effects.push(Effect::TaskEnded {
                    task,
                    completed: true,
                });
                let scope = self.inst.tokens[&t].scope;
                for (name, value) in variables {
                    self.set_var(scope, &name, value);
                }
                self.ready(t);
                self.queue.push_back(Work::Complete(t));
            }
            Command::Trigger {
                subscription,
                variables,
            } => {
                if !self.inst.subscriptions.contains_key(&subscription) {
                    return Err(CommandError::NotFound("subscription", subscription));
                }
                for (name, value) in variables {
                    self.set_var(ROOT_SCOPE, &name, value);
                }
                self.trigger(subscription);
            }
            Command::RunJob { job } => {
                let (t, after) = self
                    .inst
                    .tokens
                    .iter()
                    .find_map(|(id, tok)| match tok.state {
                        TokenState::Waiting(Wait::Async { job: j, after }) if j == job => {
                            Some((*id, after))
                        }
                        _ => None,
                    })
                    .ok_or(CommandError::NotFound("job", job))?;
                self.ready(t);
                if after {
                    self.queue.push_back(Work::Leave(t));
                } else {
                    if let Some(tok) = self.inst.tokens.get_mut(&t) {
                        tok.async_done = true;
                    }
                    self.queue.push_back(Work::Enter(t));
                }
            }
            Command::CompleteExternalTask { job, variables } => {
                let t = self
                    .find_token(|s| matches!(s, TokenState::Waiting(Wait::External { job: j }) if *j == job))
                    .ok_or(CommandError::NotFound("external task", job))?;
                let scope = self.inst.tokens[&t].scope;
                for (name, value) in variables {
                    self.set_var(scope, &name, value);
                }
                self.ready(t);
                self.queue.push_back(Work::Complete(t));
            }
            Command::FailExternalTask { job, message } => {
                let t = self
                    .find_token(|s| matches!(s, TokenState::Waiting(Wait::External { job: j }) if *j == job))
                    .ok_or(CommandError::NotFound("external task", job))?;
                // A retry executes the task again, which opens its boundaries again.
                self.close_boundaries(t);
                self.incident(t, Phase::Execute, message);
            }
            Command::CalledInstanceCompleted { token, variables } => {
                if !matches!(
                    self.inst.tokens.get(&token).map(|t| &t.state),
                    Some(TokenState::Called(_))
                ) {
                    return Err(CommandError::NotFound("call activity token", token));
                }
                self.call_output(token, variables);
            }
            Command::CalledInstanceError { token, code } => {
                if !matches!(
                    self.inst.tokens.get(&token).map(|t| &t.state),
                    Some(TokenState::Called(_))
                ) {
                    return Err(CommandError::NotFound("call activity token", token));
                }
                if !self.catch_error_at(token, &code) {
                    let scope = self.inst.tokens[&token].scope;
                    self.cancel_token(token, true);
                    let caught = self.throw_error(scope, &code);
                    // Uncaught at the top, the error ends this path like a none end event.
                    if caught || self.inst.parent.is_none() {
                        self.scope_maybe_complete(scope);
                    }
                }
            }
            Command::CalledInstanceEscalation { token, code } => {
                if !matches!(
                    self.inst.tokens.get(&token).map(|t| &t.state),
                    Some(TokenState::Called(_))
                ) {
                    return Err(CommandError::NotFound("call activity token", token));
                }
                if !self.catch_escalation_at(token, &code) {
                    // Not at the call activity: on up this instance's scopes
                    // (and to its own caller); uncaught, nothing stops.
                    let scope = self.inst.tokens[&token].scope;
                    self.throw_escalation(scope, &code);
                }
            }
            Command::CallFailed { token, message } => {
                if !matches!(
                    self.inst.tokens.get(&token).map(|t| &t.state),
                    Some(TokenState::Called(_))
                ) {
                    return Err(CommandError::NotFound("call activity token", token));
                }
                self.close_boundaries(token);
                self.incident(token, Phase::Execute, message);
            }
            Command::SetVariables { variables } => {
                for (name, value) in variables {
                    self.set_var(ROOT_SCOPE, &name, value);
                }
            }
            Command::RetryIncident { incident } => {
                let (t, phase) = self
                    .inst
                    .tokens
                    .iter()
                    .find_map(|(id, tok)| match tok.state {
                        TokenState::Incident { id: i, retry, .. } if i == incident => {
                            Some((*id, retry))
                        }
                        _ => None,
                    })
                    .ok_or(CommandError::NotFound("incident", incident))?;
                let node = self.node_id(t);
                self.effects.push(Effect::IncidentResolved { incident });
                self.history(HistoryEvent::IncidentResolved { node });
                self.ready(t);
                if phase == Phase::CallOutput {
                    let variables = self
                        .inst
                        .tokens
                        .get_mut(&t)
                        .and_then(|tok| tok.call_output.take())
                        .unwrap_or_default();
                    self.call_output(t, variables);
                    return Ok(());
                }
                self.queue.push_back(match phase {
                    Phase::Enter => Work::Enter(t),
                    Phase::Execute => Work::Execute(t),
                    Phase::Complete => Work::Complete(t),
                    Phase::Leave => Work::Leave(t),
                    Phase::Arrive | Phase::CallOutput => Work::Arrive(t),
                });
            }
            Command::Cancel => {
                self.cancel_tokens_in(ROOT_SCOPE);
                self.end_instance(InstanceState::Terminated);
            }
        }
        Ok(())
    }

    /// Applies a call activity's `camunda:out` mappings from the called
    /// instance's variables, all or none; on a failing expression the token
    /// keeps those variables for the retry and gets an incident.
    fn call_output(&mut self, token: LocalId, variables: Variables) {
        let node = self.def.node(self.inst.tokens[&token].node);
        let scope = self.inst.tokens[&token].scope;
        let mut writes: Vec<(String, Value)> = Vec::new();
        for m in &node.call_out {
            match m {
                CallMapping::All => {
                    writes.extend(variables.iter().map(|(k, v)| (k.clone(), v.clone())))
                }
                CallMapping::Variable { source, target } => writes.push((
                    target.clone(),
                    variables.get(source).cloned().unwrap_or_default(),
                )),
                CallMapping::Expression { code, target } => {
                    match code.compiled.run(&[&variables], self.now) {
                        Ok(out) => writes.push((target.clone(), out.value)),
                        Err(e) => {
                            if let Some(tok) = self.inst.tokens.get_mut(&token) {
                                tok.call_output = Some(variables);
                            }
                            return self.incident(
                                token,
                                Phase::CallOutput,
                                format!("camunda:out {target:?}: {e}"),
                            );
                        }
                    }
                }
                CallMapping::BusinessKey(_) => {}
            }
        }
        for (name, value) in writes {
            self.set_var(scope, &name, value);
        }
        if let Some(tok) = self.inst.tokens.get_mut(&token) {
            tok.call_output = None;
        }
        self.ready(token);
        self.queue.push_back(Work::Complete(token));
    }

    // ----- the loop ---------------------------------------------------------

    fn run(&mut self) {
        loop {
            while let Some(work) = self.queue.pop_front() {
                if self.inst.state != InstanceState::Active {
                    self.queue.clear();
                    break;
                }
                let t = match work {
                    Work::Arrive(t)
                    | Work::Enter(t)
                    | Work::Execute(t)
                    | Work::Complete(t)
                    | Work::Leave(t) => t,
                };
                if !self.inst.tokens.contains_key(&t) {
                    continue; // cancelled by something earlier in this step
                }
                if self.budget == 0 {
                    // Stopped where it stood: the retry resumes that very phase.
                    let phase = match work {
                        Work::Arrive(_) => Phase::Arrive,
                        Work::Enter(_) => Phase::Enter,
                        Work::Execute(_) => Phase::Execute,
                        Work::Complete(_) => Phase::Complete,
                        Work::Leave(_) => Phase::Leave,
                    };
                    self.incident(
                        t,
                        phase,
                        format!("the instance ran {STEP_BUDGET} steps without reaching a wait state (an endless loop?)"),
                    );
                    continue;
                }
                self.budget -= 1;
                match work {
                    Work::Arrive(t) => self.arrive(t),
                    Work::Enter(t) => self.enter(t),
                    Work::Execute(t) => self.execute(t),
                    Work::Complete(t) => self.complete(t),
                    Work::Leave(t) => self.leave(t),
                }
            }
            if self.inst.state != InstanceState::Active || !self.settle() {
                break;
            }
        }
    }

    /// Fires inclusive joins that no longer wait for anything and
    /// conditional events whose condition now holds. True if it moved anything.
    fn settle(&mut self) -> bool {
        let mut moved = false;
        let joining: Vec<(LocalId, NodeIx, LocalId)> = self
            .inst
            .tokens
            .iter()
            .filter(|(_, t)| {
                t.state == TokenState::Joining
                    && matches!(self.def.node(t.node).kind, NodeKind::InclusiveGateway)
            })
            .map(|(id, t)| (*id, t.node, t.scope))
            .collect();
        for (t, g, scope) in joining {
            if !self.inst.tokens.contains_key(&t) {
                continue;
            }
            // BPMN 2.0 §13.3.5: the join waits while some token elsewhere in
            // its scope can still reach an incoming flow that has no token
            // but none that has one. A token that can also reach a flow that
            // already delivered (looping back through a branch that arrived)
            // does not hold it up.
            let upstream = &self.def.inclusive_upstream[&g];
            let filled: HashSet<FlowIx> = self
                .inst
                .tokens
                .values()
                .filter(|o| o.scope == scope && o.node == g && o.state == TokenState::Joining)
                .filter_map(|o| o.via)
                .collect();
            let blocked = self.inst.tokens.values().any(|o| {
                if o.scope != scope || (o.node == g && o.state == TokenState::Joining) {
                    return false;
                }
                let reaches = |want_filled: bool| {
                    upstream.iter().any(|(f, from)| {
                        filled.contains(f) == want_filled && from.contains(&o.node)
                    })
                };
                reaches(false) && !reaches(true)
            });
            if blocked {
                continue;
            }
            let others: Vec<LocalId> = self
                .inst
                .tokens
                .iter()
                .filter(|(id, o)| {
                    **id != t && o.scope == scope && o.node == g && o.state == TokenState::Joining
                })
                .map(|(id, _)| *id)
                .collect();
            for o in others {
                self.inst.tokens.remove(&o);
            }
            self.ready(t);
            self.queue.push_back(Work::Execute(t));
            moved = true;
        }
        if self.vars_changed {
            self.vars_changed = false;
            let conditionals: Vec<LocalId> = self
                .inst
                .subscriptions
                .iter()
                .filter(|(_, s)| s.kind == SubscriptionKind::Conditional)
                .map(|(id, _)| *id)
                .collect();
            for sub in conditionals {
                let Some(s) = self.inst.subscriptions.get(&sub) else {
                    continue;
                };
                let scope = match s.target {
                    SubscriptionTarget::Token(t)
                    | SubscriptionTarget::Boundary { host: t }
                    | SubscriptionTarget::EventGateway { token: t } => self.token_scope(t),
                    SubscriptionTarget::EventSubProcess { scope } => scope,
                };
                let Trigger::Conditional(code) = self.trigger_of(s.node) else {
                    continue;
                };
                let code = code.clone();
                if let Ok(Value::Bool(true)) = self.eval_in(scope, &code) {
                    self.trigger(sub);
                    moved = true;
                }
            }
        }
        moved
    }

    // ----- phases -------------------------------------------------------------

    fn arrive(&mut self, t: LocalId) {
        let node = self.def.node(self.inst.tokens[&t].node);
        let joins = node.incoming.len() > 1;
        match node.kind {
            NodeKind::ParallelGateway if joins => {
                self.set_state(t, TokenState::Joining);
                self.try_parallel_join(t);
            }
            NodeKind::InclusiveGateway if joins => self.set_state(t, TokenState::Joining),
            _ => self.queue.push_back(Work::Enter(t)),
        }
    }

    fn enter(&mut self, t: LocalId) {
        let tok = self.inst.tokens[&t].clone();
        let node = self.def.node(tok.node);
        if node.async_before && !tok.async_done && !tok.inner {
            let job = self.inst.fresh_id();
            self.set_state(t, TokenState::Waiting(Wait::Async { job, after: false }));
            self.effects.push(Effect::JobScheduled {
                job,
                kind: JobKind::Async,
                due: self.now,
            });
            return;
        }
        if node.multi_instance.is_some() && !tok.inner {
            self.start_multi_instance(t);
            return;
        }
        let node_id = node.id.clone();
        self.history(HistoryEvent::ActivityStarted { node: node_id });
        if let Some(l) = &node.standard_loop {
            if l.test_before {
                if let Some(code) = &l.condition {
                    match self.eval(t, code) {
                        Ok(Value::Bool(true)) => {}
                        Ok(_) => {
                            self.queue.push_back(Work::Complete(t));
                            return;
                        }
                        Err(e) => {
                            return self.incident(t, Phase::Enter, format!("loopCondition: {e}"))
                        }
                    }
                }
            }
        }
        for code in &node.listeners.start {
            if let Err(e) = self.run_script(t, code) {
                return self.incident(t, Phase::Enter, format!("start listener: {e}"));
            }
        }
        if !node.inputs.is_empty() || !node.outputs.is_empty() {
            let local = match tok.local_scope {
                Some(l) => l,
                None => {
                    let l = self.new_scope(Some(tok.scope), None, ScopeKind::ActivityLocal);
                    if let Some(tok) = self.inst.tokens.get_mut(&t) {
                        tok.local_scope = Some(l);
                    }
                    l
                }
            };
            for (name, value) in &node.inputs {
                match self.mapping(t, value) {
                    Ok(v) => self.set_local(local, name, v),
                    Err(e) => {
                        return self.incident(t, Phase::Enter, format!("input {name:?}: {e}"))
                    }
                }
            }
        }
        self.queue.push_back(Work::Execute(t));
    }

    fn execute(&mut self, t: LocalId) {
        let tok = self.inst.tokens[&t].clone();
        let nix = tok.node;
        let node = self.def.node(nix);
        match &node.kind {
            NodeKind::EndEvent(throw) => {
                let throw = throw.clone();
                for code in &node.listeners.end {
                    if let Err(e) = self.run_script(t, code) {
                        return self.incident(t, Phase::Execute, format!("end listener: {e}"));
                    }
                }
                if let Throw::Compensate(activity) = &throw {
                    // The end event completes once the compensation has.
                    if self.compensate(t, activity.as_deref()) {
                        return;
                    }
                }
                self.history(HistoryEvent::ActivityCompleted {
                    node: node.id.clone(),
                });
                let scope = tok.scope;
                match throw {
                    Throw::Terminate => {
                        self.inst.tokens.remove(&t);
                        self.terminate_scope(scope);
                    }
                    Throw::Error(code) => {
                        self.inst.tokens.remove(&t);
                        let caught = self.throw_error(scope, &code);
                        // An error that escapes a called instance is the caller's to
                        // handle (it cancels this instance); otherwise it ends like a none end.
                        if caught || self.inst.parent.is_none() {
                            self.scope_maybe_complete(scope);
                        }
                    }
                    other => {
                        self.throw(scope, &other);
                        self.consume(t);
                    }
                }
            }
            NodeKind::ThrowEvent(throw) => {
                let throw = throw.clone();
                let scope = tok.scope;
                if let Throw::Link(name) = &throw {
                    let target = self.def.scopes[node.scope as usize]
                        .nodes
                        .iter()
                        .copied()
                        .find(|&n| matches!(&self.def.node(n).kind, NodeKind::CatchEvent(Trigger::Link(l)) if l == name));
                    self.history(HistoryEvent::ActivityCompleted {
                        node: node.id.clone(),
                    });
                    match target {
                        Some(c) => {
                            if let Some(tok) = self.inst.tokens.get_mut(&t) {
                                tok.node = c;
                                tok.via = None;
                            }
                            self.queue.push_back(Work::Enter(t));
                        }
                        None => self.consume(t),
                    }
                    return;
                }
                if let Throw::Compensate(activity) = &throw {
                    if !self.compensate(t, activity.as_deref()) {
                        self.queue.push_back(Work::Complete(t));
                    }
                    return;
                }
                self.throw(scope, &throw);
                if self.inst.tokens.contains_key(&t) {
                    self.queue.push_back(Work::Complete(t));
                }
            }
            NodeKind::CatchEvent(trigger) => match trigger {
                Trigger::None | Trigger::Link(_) | Trigger::Error(_) | Trigger::Escalation(_) => {
                    self.queue.push_back(Work::Complete(t))
                }
                Trigger::Conditional(code) => {
                    let code = code.clone();
                    match self.eval(t, &code) {
                        Ok(Value::Bool(true)) => self.queue.push_back(Work::Complete(t)),
                        Ok(_) => {
                            if let Err(e) = self.subscribe(nix, SubscriptionTarget::Token(t)) {
                                return self.incident(t, Phase::Execute, e);
                            }
                            self.set_state(t, TokenState::Waiting(Wait::Event));
                        }
                        Err(e) => self.incident(t, Phase::Execute, format!("condition: {e}")),
                    }
                }
                _ => {
                    if let Err(e) = self.subscribe(nix, SubscriptionTarget::Token(t)) {
                        return self.incident(t, Phase::Execute, e);
                    }
                    self.set_state(t, TokenState::Waiting(Wait::Event));
                }
            },
            NodeKind::StartEvent { .. }
            | NodeKind::BoundaryEvent { .. }
            | NodeKind::PassThrough => self.queue.push_back(Work::Complete(t)),
            NodeKind::ExclusiveGateway | NodeKind::ParallelGateway | NodeKind::InclusiveGateway => {
                self.queue.push_back(Work::Complete(t))
            }
            NodeKind::UserTask(spec) => {
                if !self.open_boundaries(t) {
                    return;
                }
                let task = self.inst.fresh_id();
                let due = spec.due_date.as_deref().and_then(|d| {
                    millrace_model::timer::parse_date(d).ok().or_else(|| {
                        millrace_model::timer::parse_duration(d)
                            .ok()
                            .map(|p| p.after(self.now))
                    })
                });
                self.effects.push(Effect::TaskCreated(TaskInfo {
                    id: task,
                    node_id: node.id.clone(),
                    name: node.name.clone(),
                    assignee: spec.assignee.clone(),
                    candidate_groups: spec.candidate_groups.clone(),
                    candidate_users: spec.candidate_users.clone(),
                    due,
                    priority: spec.priority.unwrap_or(50),
                    form: spec.form.clone(),
                }));
                self.set_state(t, TokenState::Waiting(Wait::UserTask { task }));
            }
            NodeKind::Script {
                code,
                result_variable,
            } => {
                let (code, result_variable) = (code.clone(), result_variable.clone());
                match self.run_script(t, &code) {
                    Ok(value) => {
                        if let Some(name) = result_variable {
                            let scope = self.token_scope(t);
                            self.set_var(scope, &name, value);
                        }
                        self.queue.push_back(Work::Complete(t));
                    }
                    Err(e) => self.incident(t, Phase::Execute, e),
                }
            }
            NodeKind::ExternalTask { topic } => {
                let topic = topic.clone();
                if !self.open_boundaries(t) {
                    return;
                }
                let job = self.inst.fresh_id();
                self.effects.push(Effect::JobScheduled {
                    job,
                    kind: JobKind::External { topic },
                    due: self.now,
                });
                self.set_state(t, TokenState::Waiting(Wait::External { job }));
            }
            NodeKind::Mail => {
                let chain = self.chain_of(self.token_scope(t));
                let text = |name: &str| match self.lookup(&chain, name) {
                    Some(Value::String(s)) => Ok(s.clone()),
                    Some(Value::Null) | None => Err(format!("the mail has no {name}")),
                    Some(other) => Ok(other.to_json().to_string()),
                };
                let to = match self.lookup(&chain, "to") {
                    Some(Value::String(s)) => Ok(s
                        .split(',')
                        .map(|a| a.trim().to_string())
                        .filter(|a| !a.is_empty())
                        .collect::<Vec<_>>()),
                    Some(Value::List(items)) => Ok(items
                        .iter()
                        .filter_map(|i| match i {
                            Value::String(s) => Some(s.clone()),
                            _ => None,
                        })
                        .collect()),
                    _ => Err("the mail has no recipient (to)".to_string()),
                };
                let mail = to.and_then(|to| {
                    if to.is_empty() || to.iter().any(|a| !a.contains('@')) {
                        return Err(format!("the recipients {to:?} are not mail addresses"));
                    }
                    Ok((to, text("subject")?, text("body").unwrap_or_default()))
                });
                match mail {
                    Ok((to, subject, body)) => {
                        let n = self.inst.fresh_id();
                        self.effects.push(Effect::MailQueued {
                            key: format!("{}:{n}", self.inst.id),
                            to,
                            subject,
                            body,
                        });
                        self.queue.push_back(Work::Complete(t));
                    }
                    Err(e) => self.incident(t, Phase::Execute, e),
                }
            }
            NodeKind::SendTask { message } => {
                if let Some(name) = message {
                    let name = name.clone();
                    self.throw(tok.scope, &Throw::Message(name));
                }
                self.queue.push_back(Work::Complete(t));
            }
            NodeKind::ReceiveTask { .. } => {
                if !self.open_boundaries(t) {
                    return;
                }
                if let Err(e) = self.subscribe(nix, SubscriptionTarget::Token(t)) {
                    return self.incident(t, Phase::Execute, e);
                }
                self.set_state(t, TokenState::Waiting(Wait::Event));
            }
            NodeKind::EventBasedGateway => {
                let targets: Vec<NodeIx> = node
                    .outgoing
                    .iter()
                    .map(|&f| self.def.flow(f).target)
                    .collect();
                for target in targets {
                    if let Err(e) =
                        self.subscribe(target, SubscriptionTarget::EventGateway { token: t })
                    {
                        self.close_subscriptions(|x| matches!(x, SubscriptionTarget::EventGateway { token } if *token == t));
                        return self.incident(t, Phase::Execute, e);
                    }
                }
                self.set_state(t, TokenState::Waiting(Wait::EventGateway));
            }
            NodeKind::SubProcess => {
                if !self.open_boundaries(t) {
                    return;
                }
                let parent = tok.local_scope.unwrap_or(tok.scope);
                let inner = node.inner_scope.unwrap_or_default();
                let s = self.new_scope(Some(parent), Some(t), ScopeKind::SubProcess);
                self.set_state(t, TokenState::InScope(s));
                self.open_event_subprocesses(s, inner);
                let starts = match self.def.scopes[inner as usize].none_start {
                    Some(start) => vec![start],
                    None => self.def.scopes[inner as usize].implicit_starts.clone(),
                };
                if starts.is_empty() {
                    self.scope_maybe_complete(s);
                }
                for start in starts {
                    let st = self.new_token(s, start, None);
                    self.queue.push_back(Work::Enter(st));
                }
            }
            NodeKind::EventSubProcess => self.queue.push_back(Work::Complete(t)),
            NodeKind::CallActivity { called, binding } => {
                let (called, binding) = (called.clone(), binding.clone());
                let mut vars = Variables::new();
                let mut business_key = None;
                let chain = self.chain_of(self.token_scope(t));
                for m in &node.call_in {
                    match m {
                        CallMapping::All => {
                            for s in chain.iter().rev() {
                                for (k, v) in &self.inst.scopes[s].variables {
                                    vars.insert(k.clone(), v.clone());
                                }
                            }
                        }
                        CallMapping::Variable { source, target } => {
                            let v = self.lookup(&chain, source).cloned().unwrap_or_default();
                            vars.insert(target.clone(), v);
                        }
                        CallMapping::Expression { code, target } => match self.eval(t, code) {
                            Ok(v) => {
                                vars.insert(target.clone(), v);
                            }
                            Err(e) => {
                                return self.incident(
                                    t,
                                    Phase::Execute,
                                    format!("camunda:in {target:?}: {e}"),
                                )
                            }
                        },
                        CallMapping::BusinessKey(code) => match self.eval(t, code) {
                            Ok(Value::String(s)) => business_key = Some(s),
                            Ok(Value::Null) => {}
                            Ok(other) => business_key = Some(other.to_json().to_string()),
                            Err(e) => {
                                return self.incident(
                                    t,
                                    Phase::Execute,
                                    format!("businessKey: {e}"),
                                )
                            }
                        },
                    }
                }
                if !self.open_boundaries(t) {
                    return;
                }
                let n = self.inst.fresh_id();
                let child = format!("{}.{}", self.inst.id, n);
                self.set_state(t, TokenState::Called(child.clone()));
                self.effects.push(Effect::CallStarted {
                    token: t,
                    instance: child,
                    key: called,
                    binding,
                    variables: vars,
                    business_key,
                });
            }
        }
    }

    fn complete(&mut self, t: LocalId) {
        let tok = &self.inst.tokens[&t];
        let node = self.def.node(tok.node);
        let is_body = node.multi_instance.is_some() && !tok.inner;
        if !is_body {
            if let Some(l) = &node.standard_loop {
                if let Some(code) = &l.condition {
                    let loops = tok.loops + 1;
                    let under_max = l.maximum.is_none_or(|m| loops < m);
                    match self.eval(t, code) {
                        Ok(Value::Bool(true)) if under_max => {
                            if let Some(tok) = self.inst.tokens.get_mut(&t) {
                                tok.loops = loops;
                            }
                            // The next iteration opens them again.
                            self.close_boundaries(t);
                            self.queue.push_back(Work::Execute(t));
                            return;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            return self.incident(t, Phase::Complete, format!("loopCondition: {e}"))
                        }
                    }
                }
            }
            let parent_scope = tok.scope;
            for (name, value) in &node.outputs {
                match self.mapping(t, value) {
                    Ok(v) => self.set_var(parent_scope, name, v),
                    Err(e) => {
                        return self.incident(t, Phase::Complete, format!("output {name:?}: {e}"))
                    }
                }
            }
            for code in &node.listeners.end {
                if let Err(e) = self.run_script(t, code) {
                    return self.incident(t, Phase::Complete, format!("end listener: {e}"));
                }
            }
            if node.compensation_handler.is_some() {
                self.remember_compensable(t, None);
            }
        }
        self.close_boundaries(t);
        let tok = &self.inst.tokens[&t];
        if let (Some(local), false) = (tok.local_scope, tok.inner) {
            self.inst.scopes.remove(&local);
            if let Some(tok) = self.inst.tokens.get_mut(&t) {
                tok.local_scope = None;
            }
        }
        // A node completes when its token leaves it (so a gateway stopped by an
        // incident has not completed); inner multi-instance tokens never leave,
        // and an async-after node completes before its job runs.
        if !is_body && !self.inst.tokens[&t].inner && node.async_after {
            self.history(HistoryEvent::ActivityCompleted {
                node: node.id.clone(),
            });
        }
        if self.inst.tokens[&t].inner {
            self.multi_instance_inner_done(t);
            return;
        }
        if node.async_after {
            let job = self.inst.fresh_id();
            self.set_state(t, TokenState::Waiting(Wait::Async { job, after: true }));
            self.effects.push(Effect::JobScheduled {
                job,
                kind: JobKind::Async,
                due: self.now,
            });
            return;
        }
        self.queue.push_back(Work::Leave(t));
    }

    fn leave(&mut self, t: LocalId) {
        let node = self.def.node(self.inst.tokens[&t].node);
        let mut taken: Vec<FlowIx> = Vec::new();
        let all_flows = matches!(node.kind, NodeKind::ParallelGateway);
        let first_only = matches!(node.kind, NodeKind::ExclusiveGateway);
        for &f in &node.outgoing {
            if Some(f) == node.default_flow {
                continue;
            }
            let flow = self.def.flow(f);
            let take = match (&flow.condition, all_flows) {
                (None, _) | (_, true) => true,
                (Some(code), false) => match self.eval(t, code) {
                    Ok(Value::Bool(b)) => b,
                    Ok(other) => {
                        return self.incident(
                            t,
                            Phase::Leave,
                            format!(
                                "the condition of {:?} gave a {}, not a boolean",
                                flow.id,
                                other.type_name()
                            ),
                        )
                    }
                    Err(e) => {
                        return self.incident(
                            t,
                            Phase::Leave,
                            format!("the condition of {:?}: {e}", flow.id),
                        )
                    }
                },
            };
            if take {
                taken.push(f);
                if first_only {
                    break;
                }
            }
        }
        if taken.is_empty() {
            if let Some(d) = node.default_flow {
                taken.push(d);
            } else if !node.outgoing.is_empty() {
                // Only conditional flows (or a gateway's) can all be closed.
                return self.incident(
                    t,
                    Phase::Leave,
                    format!("no outgoing flow of {:?} can be taken: no condition holds and there is no default flow", node.id),
                );
            }
        }
        // Every take listener runs before any token moves, so a failing one
        // leaves the token at this node, whole, for the retry.
        for &f in &taken {
            let flow = self.def.flow(f);
            for code in &flow.take_listeners {
                if let Err(e) = self.run_script(t, code) {
                    return self.incident(
                        t,
                        Phase::Leave,
                        format!("take listener of {:?}: {e}", flow.id),
                    );
                }
            }
        }
        let is_body = node.multi_instance.is_some() && !self.inst.tokens[&t].inner;
        if !node.async_after && !is_body {
            self.history(HistoryEvent::ActivityCompleted {
                node: node.id.clone(),
            });
        }
        if taken.is_empty() {
            self.consume(t);
            return;
        }
        for (i, f) in taken.into_iter().enumerate() {
            let flow = self.def.flow(f);
            let target = if i == 0 {
                let tok = self
                    .inst
                    .tokens
                    .get_mut(&t)
                    .expect("token exists while it leaves");
                tok.node = flow.target;
                tok.via = Some(f);
                tok.state = TokenState::Ready;
                tok.async_done = false;
                tok.loops = 0;
                t
            } else {
                let scope = self.inst.tokens[&t].scope;
                self.new_token(scope, flow.target, Some(f))
            };
            self.queue.push_back(Work::Arrive(target));
        }
    }

    // ----- joins, scopes, multi-instance ----------------------------------------

    fn try_parallel_join(&mut self, t: LocalId) {
        let (g, scope) = {
            let tok = &self.inst.tokens[&t];
            (tok.node, tok.scope)
        };
        let node = self.def.node(g);
        let mut picked = Vec::new();
        for &f in &node.incoming {
            let found = self
                .inst
                .tokens
                .iter()
                .find(|(_, o)| {
                    o.scope == scope
                        && o.node == g
                        && o.state == TokenState::Joining
                        && o.via == Some(f)
                })
                .map(|(id, _)| *id);
            match found {
                Some(id) => picked.push(id),
                None => return,
            }
        }
        let keep = picked[0];
        for other in &picked[1..] {
            self.inst.tokens.remove(other);
        }
        self.ready(keep);
        self.queue.push_back(Work::Execute(keep));
    }

    fn consume(&mut self, t: LocalId) {
        if let Some(tok) = self.inst.tokens.remove(&t) {
            self.scope_maybe_complete(tok.scope);
        }
    }

    fn scope_maybe_complete(&mut self, s: LocalId) {
        if self.inst.tokens.values().any(|t| t.scope == s) {
            return;
        }
        let Some(scope) = self.inst.scopes.get(&s) else {
            return;
        };
        match &scope.kind {
            ScopeKind::Process => self.end_instance(InstanceState::Completed),
            ScopeKind::Compensation { pending } => {
                if self.runs_compensation(s) {
                    return;
                }
                if !pending.is_empty() {
                    return self.next_compensation(s);
                }
                let (owner, parent) = (scope.owner_token, scope.parent);
                self.inst.scopes.remove(&s);
                match owner.filter(|o| self.inst.tokens.contains_key(o)) {
                    Some(thrower) => self.compensation_done(thrower),
                    // A sub-process's own compensation: it is done too.
                    None => {
                        if let Some(p) = parent {
                            self.scope_maybe_complete(p);
                        }
                    }
                }
            }
            ScopeKind::CompensationHandler => {
                if self.runs_compensation(s) {
                    return;
                }
                let parent = scope.parent;
                self.forget_compensable(s);
                self.inst.scopes.remove(&s);
                if let Some(p) = parent {
                    self.scope_maybe_complete(p);
                }
            }
            ScopeKind::SubProcess | ScopeKind::EventSubProcess { .. } => {
                let sub_process = matches!(scope.kind, ScopeKind::SubProcess);
                let owner = scope.owner_token;
                match owner.filter(|&o| sub_process && self.compensates_inside(o, s)) {
                    // What completed inside stays recorded under `s`.
                    Some(o) => self.remember_compensable(o, Some(s)),
                    None => self.forget_compensable(s),
                }
                self.close_subscriptions(|target| matches!(target, SubscriptionTarget::EventSubProcess { scope } if *scope == s));
                self.inst.scopes.remove(&s);
                if let Some(o) = owner {
                    if self.inst.tokens.contains_key(&o) {
                        self.ready(o);
                        self.queue.push_back(Work::Complete(o));
                    }
                }
            }
            _ => {}
        }
    }

    fn end_instance(&mut self, state: InstanceState) {
        if state == InstanceState::Completed {
            for code in &self.def.listeners.end {
                match self.run_in(ROOT_SCOPE, code) {
                    Ok(out) => {
                        for (name, value) in out.writes {
                            self.set_var(ROOT_SCOPE, &name, value);
                        }
                    }
                    // No token is left to hold an incident: the failure goes to the audit trail.
                    Err(e) => self.history(HistoryEvent::IncidentRaised {
                        node: self.def.key.clone(),
                        message: format!("process end listener: {e}"),
                    }),
                }
            }
        }
        let subs: Vec<LocalId> = self.inst.subscriptions.keys().copied().collect();
        for s in subs {
            self.close_subscription(s);
        }
        self.inst.state = state;
        self.inst.ended_at = Some(self.now);
        self.history(HistoryEvent::InstanceEnded { state });
        let variables = self.inst.root_variables();
        self.effects
            .push(Effect::InstanceEnded { state, variables });
    }

    /// Ends every token of a scope (terminate end event); the scope then completes.
    fn terminate_scope(&mut self, s: LocalId) {
        self.cancel_tokens_in(s);
        self.scope_maybe_complete(s);
    }

    /// Cancels every token of scope instance `s` (and what each runs).
    fn cancel_tokens_in(&mut self, s: LocalId) {
        let tokens: Vec<LocalId> = self
            .inst
            .tokens
            .iter()
            .filter(|(_, t)| t.scope == s)
            .map(|(id, _)| *id)
            .collect();
        for t in tokens {
            self.cancel_token(t, true);
        }
    }

    /// Removes a token and everything it runs, recording the cancellation.
    fn cancel_token(&mut self, t: LocalId, record: bool) {
        let Some(tok) = self.inst.tokens.get(&t).cloned() else {
            return;
        };
        match &tok.state {
            TokenState::Waiting(Wait::UserTask { task }) => self.effects.push(Effect::TaskEnded {
                task: *task,
                completed: false,
            }),
            TokenState::Waiting(Wait::Async { job, .. })
            | TokenState::Waiting(Wait::External { job }) => {
                self.effects.push(Effect::JobCancelled { job: *job })
            }
            TokenState::InScope(s) => self.cancel_scope(*s),
            TokenState::Called(child) => self.effects.push(Effect::CallCancelled {
                instance: child.clone(),
            }),
            TokenState::Incident { id, .. } => self
                .effects
                .push(Effect::IncidentResolved { incident: *id }),
            _ => {}
        }
        self.close_subscriptions(|target| match target {
            SubscriptionTarget::Token(x) | SubscriptionTarget::EventGateway { token: x } => *x == t,
            SubscriptionTarget::Boundary { host } => *host == t,
            _ => false,
        });
        if let Some(local) = tok.local_scope {
            self.inst.scopes.remove(&local);
        }
        if record && !(tok.state == TokenState::Joining) {
            let node = self.def.node(tok.node).id.clone();
            self.history(HistoryEvent::ActivityCancelled { node });
        }
        self.inst.tokens.remove(&t);
    }

    fn cancel_scope(&mut self, s: LocalId) {
        // What completed in a cancelled scope is not compensated (BPMN 2.0 §10.5.7).
        self.forget_compensable(s);
        self.cancel_tokens_in(s);
        self.close_subscriptions(
            |target| matches!(target, SubscriptionTarget::EventSubProcess { scope } if *scope == s),
        );
        let children: Vec<LocalId> = self
            .inst
            .scopes
            .iter()
            .filter(|(_, sc)| sc.parent == Some(s))
            .map(|(id, _)| *id)
            .collect();
        for c in children {
            self.cancel_scope(c);
        }
        self.inst.scopes.remove(&s);
    }

    fn start_multi_instance(&mut self, t: LocalId) {
        let tok = &self.inst.tokens[&t];
        let node = self.def.node(tok.node);
        let Some(mi) = &node.multi_instance else {
            return;
        };
        let (total, items) = if let Some(code) = &mi.collection {
            match self.eval(t, code) {
                Ok(Value::List(items)) => (items.len() as i64, Some(items)),
                Ok(other) => {
                    return self.incident(
                        t,
                        Phase::Enter,
                        format!(
                            "camunda:collection gave a {}, not a list",
                            other.type_name()
                        ),
                    )
                }
                Err(e) => {
                    return self.incident(t, Phase::Enter, format!("camunda:collection: {e}"))
                }
            }
        } else if let Some(code) = &mi.cardinality {
            match self.eval(t, code).map(|v| v.as_int()) {
                Ok(Some(n)) if n >= 0 => (n, None),
                Ok(_) => {
                    return self.incident(
                        t,
                        Phase::Enter,
                        "loopCardinality must give a whole number of 0 or more".into(),
                    )
                }
                Err(e) => return self.incident(t, Phase::Enter, format!("loopCardinality: {e}")),
            }
        } else {
            (0, None)
        };
        let parent = tok.local_scope.unwrap_or(tok.scope);
        // Boundaries first: if one does not open, the incident stays on a token
        // that has no body yet, and a retry starts the multi-instance afresh.
        if !self.open_boundaries(t) {
            return;
        }
        let body = self.new_scope(
            Some(parent),
            Some(t),
            ScopeKind::MultiInstanceBody {
                total,
                completed: 0,
                next_index: 0,
                items,
            },
        );
        self.set_local(body, "nrOfInstances", Value::Int(total));
        self.set_local(body, "nrOfActiveInstances", Value::Int(0));
        self.set_local(body, "nrOfCompletedInstances", Value::Int(0));
        self.set_state(t, TokenState::InScope(body));
        if total == 0 {
            self.finish_multi_instance(body);
            return;
        }
        let count = if mi.sequential { 1 } else { total };
        for _ in 0..count {
            self.spawn_inner(body);
        }
    }

    fn spawn_inner(&mut self, body: LocalId) {
        let (index, item, node) = {
            let scope = self
                .inst
                .scopes
                .get_mut(&body)
                .expect("body scope exists while it spawns");
            let ScopeKind::MultiInstanceBody {
                next_index, items, ..
            } = &mut scope.kind
            else {
                return;
            };
            let index = *next_index;
            *next_index += 1;
            let item = items.as_ref().and_then(|i| i.get(index as usize).cloned());
            let owner = scope.owner_token.unwrap_or_default();
            (index, item, self.inst.tokens[&owner].node)
        };
        let inner = self.new_scope(Some(body), None, ScopeKind::MultiInstanceInner);
        self.set_local(inner, "loopCounter", Value::Int(index));
        if let (Some(name), Some(item)) = (
            self.def
                .node(node)
                .multi_instance
                .as_ref()
                .and_then(|m| m.element_variable.clone()),
            item,
        ) {
            self.set_local(inner, &name, item);
        }
        let t = self.new_token(body, node, None);
        if let Some(tok) = self.inst.tokens.get_mut(&t) {
            tok.inner = true;
            tok.local_scope = Some(inner);
        }
        self.adjust_counter(body, "nrOfActiveInstances", 1);
        self.queue.push_back(Work::Enter(t));
    }

    fn adjust_counter(&mut self, body: LocalId, name: &str, by: i64) {
        let current = self.inst.scopes[&body]
            .variables
            .get(name)
            .and_then(Value::as_int)
            .unwrap_or(0);
        self.set_local(body, name, Value::Int(current + by));
    }

    fn multi_instance_inner_done(&mut self, t: LocalId) {
        let Some(body) = self.inst.tokens.get(&t).map(|tok| tok.scope) else {
            return;
        };
        let Some((total, completed)) = self.inst.scopes.get(&body).and_then(|s| match &s.kind {
            ScopeKind::MultiInstanceBody {
                total, completed, ..
            } => Some((*total, *completed + 1)),
            _ => None,
        }) else {
            return;
        };
        let Some(owner_node) = self
            .inst
            .scopes
            .get(&body)
            .and_then(|s| s.owner_token)
            .and_then(|o| self.inst.tokens.get(&o))
            .map(|o| o.node)
        else {
            return;
        };
        let node = self.def.node(owner_node);
        let Some(mi) = &node.multi_instance else {
            return;
        };
        // The completion condition sees the counters as they are with this instance done.
        self.adjust_counter(body, "nrOfActiveInstances", -1);
        self.adjust_counter(body, "nrOfCompletedInstances", 1);
        let mut done = completed >= total;
        if !done {
            if let Some(code) = &mi.completion_condition {
                match self.eval_in(body, code) {
                    Ok(Value::Bool(b)) => done = b,
                    Ok(_) => {}
                    Err(e) => {
                        // The instance has not completed: its token holds the incident,
                        // and a retry evaluates the condition again.
                        self.adjust_counter(body, "nrOfActiveInstances", 1);
                        self.adjust_counter(body, "nrOfCompletedInstances", -1);
                        return self.incident(
                            t,
                            Phase::Complete,
                            format!("completionCondition: {e}"),
                        );
                    }
                }
            }
        }
        self.history(HistoryEvent::ActivityCompleted {
            node: node.id.clone(),
        });
        if let Some(ScopeKind::MultiInstanceBody { completed: c, .. }) =
            self.inst.scopes.get_mut(&body).map(|s| &mut s.kind)
        {
            *c = completed;
        }
        if let Some(tok) = self.inst.tokens.remove(&t) {
            if let Some(local) = tok.local_scope {
                self.inst.scopes.remove(&local);
            }
        }
        if done {
            self.cancel_tokens_in(body);
            self.finish_multi_instance(body);
        } else if mi.sequential {
            self.spawn_inner(body);
        }
    }

    fn finish_multi_instance(&mut self, body: LocalId) {
        let Some(scope) = self.inst.scopes.remove(&body) else {
            return;
        };
        if let Some(owner) = scope.owner_token {
            self.ready(owner);
            self.queue.push_back(Work::Complete(owner));
        }
    }

    // ----- events ------------------------------------------------------------------

    /// The instance's own open subscriptions to a message or signal named
    /// `name`, oldest first.
    fn own_subscriptions(&self, signal: bool, name: &str) -> Vec<LocalId> {
        self.inst
            .subscriptions
            .iter()
            .filter(|(_, s)| match &s.kind {
                SubscriptionKind::Signal(n) => signal && n == name,
                SubscriptionKind::Message(n) => !signal && n == name,
                _ => false,
            })
            .map(|(id, _)| *id)
            .collect()
    }

    fn throw(&mut self, scope: LocalId, throw: &Throw) {
        match throw {
            Throw::Message(name) => {
                // To itself first: its own event sub-processes, boundary
                // events and catch events hear it as part of the throw, even
                // when the throwing path ends the scope at once.
                if let Some(&own) = self.own_subscriptions(false, name).first() {
                    self.trigger(own);
                } else {
                    self.effects.push(Effect::MessageSent {
                        name: name.clone(),
                        variables: self.inst.root_variables(),
                        business_key: self.inst.business_key.clone(),
                    });
                }
            }
            Throw::Signal(name) => {
                // Every own subscriber as part of the throw (those the
                // delivery opens anew, non-interrupting ones again, do not
                // hear this same signal); then everyone else.
                for own in self.own_subscriptions(true, name) {
                    if self.inst.subscriptions.contains_key(&own) {
                        self.trigger(own);
                    }
                }
                self.effects.push(Effect::SignalSent {
                    name: name.clone(),
                    variables: self.inst.root_variables(),
                });
            }
            Throw::Escalation(code) => self.throw_escalation(scope, code),
            // A compensation needs the throwing token (it waits): see `compensate`.
            Throw::None
            | Throw::Terminate
            | Throw::Error(_)
            | Throw::Link(_)
            | Throw::Compensate(_) => {}
        }
    }

    /// The definition scope a scope instance runs, if it runs one.
    fn def_scope_of(&self, s: LocalId) -> Option<ScopeIx> {
        let scope = self.inst.scopes.get(&s)?;
        match scope.kind {
            ScopeKind::Process => Some(0),
            ScopeKind::SubProcess | ScopeKind::EventSubProcess { .. } => {
                let owner = self.inst.tokens.get(&scope.owner_token?)?;
                self.def.node(owner.node).inner_scope
            }
            _ => None,
        }
    }

    fn trigger_of(&self, node: NodeIx) -> &Trigger {
        match &self.def.node(node).kind {
            NodeKind::StartEvent { trigger, .. }
            | NodeKind::CatchEvent(trigger)
            | NodeKind::BoundaryEvent { trigger, .. } => trigger,
            _ => &Trigger::None,
        }
    }

    /// The event sub-process start in `s`'s definition scope that catches `wanted`.
    fn event_subprocess_start(
        &self,
        s: LocalId,
        wanted: impl Fn(&Trigger) -> bool,
    ) -> Option<NodeIx> {
        let ds = self.def_scope_of(s)?;
        self.def.scopes[ds as usize]
            .event_subprocesses
            .iter()
            .find_map(|&esp| {
                let inner = self.def.node(esp).inner_scope?;
                self.def.scopes[inner as usize]
                    .nodes
                    .iter()
                    .copied()
                    .find(|&n| {
                        matches!(self.def.node(n).kind, NodeKind::StartEvent { .. })
                            && wanted(self.trigger_of(n))
                    })
            })
    }

    /// Looks for an error handler from scope `s` outwards; true if one caught it.
    fn throw_error(&mut self, mut s: LocalId, code: &Option<String>) -> bool {
        loop {
            let specific =
                |t: &Trigger| matches!(t, Trigger::Error(Some(c)) if Some(c) == code.as_ref());
            let any = |t: &Trigger| matches!(t, Trigger::Error(None));
            if let Some(start) = self
                .event_subprocess_start(s, specific)
                .or_else(|| self.event_subprocess_start(s, any))
            {
                self.start_event_subprocess(s, start, true);
                return true;
            }
            let Some(scope) = self.inst.scopes.get(&s) else {
                return false;
            };
            let (owner, parent) = (scope.owner_token, scope.parent);
            if let Some(o) = owner {
                if self.catch_error_at(o, code) {
                    return true;
                }
            }
            match parent {
                Some(p) => s = p,
                None => {
                    if self.inst.parent.is_some() {
                        self.effects
                            .push(Effect::ErrorEscaped { code: code.clone() });
                    }
                    return false;
                }
            }
        }
    }

    /// An error boundary event on the activity token `o` runs, if one matches.
    fn catch_error_at(&mut self, o: LocalId, code: &Option<String>) -> bool {
        let Some(tok) = self.inst.tokens.get(&o) else {
            return false;
        };
        if tok.inner {
            return false;
        }
        let node = self.def.node(tok.node);
        let find = |specific: bool| {
            node.boundaries
                .iter()
                .copied()
                .find(|&b| match &self.def.node(b).kind {
                    NodeKind::BoundaryEvent {
                        trigger: Trigger::Error(c),
                        ..
                    } => {
                        if specific {
                            c.is_some() && c == code
                        } else {
                            c.is_none()
                        }
                    }
                    _ => false,
                })
        };
        let Some(b) = find(true).or_else(|| find(false)) else {
            return false;
        };
        let scope = tok.scope;
        self.cancel_token(o, true);
        self.fire_boundary(scope, b);
        true
    }

    fn throw_escalation(&mut self, mut s: LocalId, code: &Option<String>) {
        loop {
            let matching =
                |t: &Trigger| matches!(t, Trigger::Escalation(c) if matches_code(c, code));
            if let Some(start) = self.event_subprocess_start(s, matching) {
                let interrupting = matches!(
                    self.def.node(start).kind,
                    NodeKind::StartEvent {
                        interrupting: true,
                        ..
                    }
                );
                self.start_event_subprocess(s, start, interrupting);
                return;
            }
            let Some(scope) = self.inst.scopes.get(&s) else {
                return;
            };
            let (owner, parent) = (scope.owner_token, scope.parent);
            if let Some(o) = owner {
                if self.catch_escalation_at(o, code) {
                    return;
                }
            }
            match parent {
                Some(p) => s = p,
                None => {
                    if self.inst.parent.is_some() {
                        self.effects
                            .push(Effect::EscalationEscaped { code: code.clone() });
                    }
                    return;
                }
            }
        }
    }

    /// An escalation boundary event on the activity token `o` runs, if one
    /// matches: one for the code first, then a catch-all; an interrupting
    /// one cancels the activity.
    fn catch_escalation_at(&mut self, o: LocalId, code: &Option<String>) -> bool {
        let Some(tok) = self.inst.tokens.get(&o).filter(|t| !t.inner) else {
            return false;
        };
        let node = self.def.node(tok.node);
        let find = |specific: bool| {
            node.boundaries.iter().copied().find(|&b| {
                matches!(&self.def.node(b).kind, NodeKind::BoundaryEvent { trigger: Trigger::Escalation(c), .. }
                    if if specific { c.is_some() && c == code } else { c.is_none() })
            })
        };
        let Some(b) = find(true).or_else(|| find(false)) else {
            return false;
        };
        let interrupting = matches!(
            self.def.node(b).kind,
            NodeKind::BoundaryEvent {
                interrupting: true,
                ..
            }
        );
        let scope = tok.scope;
        if interrupting {
            self.cancel_token(o, true);
        }
        self.fire_boundary(scope, b);
        true
    }

    /// A new token at boundary event `b` in `scope`, on its way out.
    fn fire_boundary(&mut self, scope: LocalId, b: NodeIx) {
        let t = self.new_token(scope, b, None);
        self.history(HistoryEvent::ActivityStarted {
            node: self.def.node(b).id.clone(),
        });
        self.queue.push_back(Work::Complete(t));
    }

    fn start_event_subprocess(&mut self, s: LocalId, start: NodeIx, interrupting: bool) {
        let esp = self.def.scopes[self.def.node(start).scope as usize]
            .owner
            .unwrap_or_default();
        if interrupting {
            self.cancel_tokens_in(s);
            self.close_subscriptions(|target| matches!(target, SubscriptionTarget::EventSubProcess { scope } if *scope == s));
        }
        let owner = self.new_token(s, esp, None);
        self.history(HistoryEvent::ActivityStarted {
            node: self.def.node(esp).id.clone(),
        });
        let inner = self.new_scope(
            Some(s),
            Some(owner),
            ScopeKind::EventSubProcess { interrupting },
        );
        self.set_state(owner, TokenState::InScope(inner));
        let st = self.new_token(inner, start, None);
        self.history(HistoryEvent::ActivityStarted {
            node: self.def.node(start).id.clone(),
        });
        self.queue.push_back(Work::Complete(st));
    }

    fn trigger(&mut self, sub: LocalId) {
        let Some(s) = self.inst.subscriptions.get(&sub).cloned() else {
            return;
        };
        let repeat = match &s.kind {
            SubscriptionKind::Timer {
                remaining,
                interval,
                ..
            } => interval.is_some() && remaining.is_none_or(|r| r > 0),
            _ => true,
        };
        let node = self.def.node(s.node);
        let non_interrupting = match &node.kind {
            NodeKind::BoundaryEvent { interrupting, .. } => !interrupting,
            NodeKind::StartEvent { interrupting, .. } => !interrupting,
            _ => false,
        };
        self.close_subscription(sub);
        if non_interrupting && repeat {
            match &s.kind {
                SubscriptionKind::Timer {
                    due,
                    remaining,
                    interval: Some(interval),
                } => {
                    let next = SubscriptionKind::Timer {
                        due: interval.after(*due),
                        remaining: remaining.map(|r| r.saturating_sub(1)),
                        interval: Some(*interval),
                    };
                    self.open_subscription(s.node, s.target.clone(), next);
                }
                // Message, signal and condition subscriptions never fail to open.
                _ => {
                    let _ = self.subscribe(s.node, s.target.clone());
                }
            }
        }
        match s.target {
            SubscriptionTarget::Token(t) => {
                self.ready(t);
                self.queue.push_back(Work::Complete(t));
            }
            SubscriptionTarget::EventGateway { token } => {
                self.close_subscriptions(|target| matches!(target, SubscriptionTarget::EventGateway { token: x } if *x == token));
                let gateway = self.def.node(self.inst.tokens[&token].node).id.clone();
                self.history(HistoryEvent::ActivityCompleted { node: gateway });
                self.history(HistoryEvent::ActivityStarted {
                    node: node.id.clone(),
                });
                if let Some(tok) = self.inst.tokens.get_mut(&token) {
                    tok.node = s.node;
                    tok.via = None;
                }
                self.ready(token);
                self.queue.push_back(Work::Complete(token));
            }
            SubscriptionTarget::Boundary { host } => {
                let Some(scope) = self.inst.tokens.get(&host).map(|t| t.scope) else {
                    return;
                };
                if !non_interrupting {
                    self.cancel_token(host, true);
                }
                self.fire_boundary(scope, s.node);
            }
            SubscriptionTarget::EventSubProcess { scope } => {
                self.start_event_subprocess(scope, s.node, !non_interrupting);
            }
        }
    }

    /// Opens the boundary subscriptions of the activity token `t` runs; on a
    /// timer that does not evaluate, raises an incident at `t` and says false.
    fn open_boundaries(&mut self, t: LocalId) -> bool {
        // One instance of a multi-instance activity has no boundary events of its
        // own: they belong to the whole activity and are opened on its body.
        if self.inst.tokens.get(&t).is_none_or(|tok| tok.inner) {
            return true;
        }
        let node = self.def.node(self.inst.tokens[&t].node);
        for &b in &node.boundaries {
            if matches!(
                self.trigger_of(b),
                Trigger::Timer(_)
                    | Trigger::Message(_)
                    | Trigger::Signal(_)
                    | Trigger::Conditional(_)
            ) {
                if let Err(e) = self.subscribe(b, SubscriptionTarget::Boundary { host: t }) {
                    self.close_boundaries(t);
                    self.incident(t, Phase::Execute, e);
                    return false;
                }
            }
        }
        true
    }

    fn close_boundaries(&mut self, t: LocalId) {
        self.close_subscriptions(
            |target| matches!(target, SubscriptionTarget::Boundary { host } if *host == t),
        );
    }

    fn open_event_subprocesses(&mut self, s: LocalId, ds: ScopeIx) {
        for esp in self.def.scopes[ds as usize].event_subprocesses.clone() {
            let Some(inner) = self.def.node(esp).inner_scope else {
                continue;
            };
            for n in self.def.scopes[inner as usize].nodes.clone() {
                if matches!(self.def.node(n).kind, NodeKind::StartEvent { .. })
                    && matches!(
                        self.trigger_of(n),
                        Trigger::Timer(_)
                            | Trigger::Message(_)
                            | Trigger::Signal(_)
                            | Trigger::Conditional(_)
                    )
                {
                    if let Err(e) =
                        self.subscribe(n, SubscriptionTarget::EventSubProcess { scope: s })
                    {
                        let node = self.def.node(n).id.clone();
                        self.history(HistoryEvent::IncidentRaised { node, message: e });
                    }
                }
            }
        }
    }

    /// Opens the subscription for the catching node `node`'s trigger. Fails
    /// only when a computed timer does not evaluate.
    fn subscribe(&mut self, node: NodeIx, target: SubscriptionTarget) -> Result<(), String> {
        let kind = match self.trigger_of(node) {
            Trigger::Message(name) => SubscriptionKind::Message(name.clone()),
            Trigger::Signal(name) => SubscriptionKind::Signal(name.clone()),
            Trigger::Conditional(_) => SubscriptionKind::Conditional,
            Trigger::Timer(spec) => {
                let value = match spec {
                    TimerSpec::Fixed(v) => v.clone(),
                    TimerSpec::Computed { kind, code } => {
                        let scope = match &target {
                            SubscriptionTarget::Token(t)
                            | SubscriptionTarget::Boundary { host: t }
                            | SubscriptionTarget::EventGateway { token: t } => self.token_scope(*t),
                            SubscriptionTarget::EventSubProcess { scope } => *scope,
                        };
                        let v = self
                            .eval_in(scope, code)
                            .map_err(|e| format!("timer: {e}"))?;
                        TimerSpec::read(*kind, &v).map_err(|e| format!("timer: {e}"))?
                    }
                };
                let (remaining, interval) = match &value {
                    TimerValue::Cycle {
                        repetitions,
                        interval,
                        ..
                    } => (repetitions.map(|r| r.saturating_sub(1)), Some(*interval)),
                    _ => (None, None),
                };
                SubscriptionKind::Timer {
                    due: value.first_due(self.now),
                    remaining,
                    interval,
                }
            }
            _ => match &self.def.node(node).kind {
                NodeKind::ReceiveTask { message } => SubscriptionKind::Message(message.clone()),
                _ => return Ok(()),
            },
        };
        self.open_subscription(node, target, kind);
        Ok(())
    }

    fn open_subscription(
        &mut self,
        node: NodeIx,
        target: SubscriptionTarget,
        kind: SubscriptionKind,
    ) {
        let id = self.inst.fresh_id();
        match &kind {
            SubscriptionKind::Message(name) => self.effects.push(Effect::SubscriptionOpened {
                subscription: id,
                event: "message",
                name: name.clone(),
            }),
            SubscriptionKind::Signal(name) => self.effects.push(Effect::SubscriptionOpened {
                subscription: id,
                event: "signal",
                name: name.clone(),
            }),
            SubscriptionKind::Timer { due, .. } => self.effects.push(Effect::JobScheduled {
                job: id,
                kind: JobKind::Timer,
                due: *due,
            }),
            SubscriptionKind::Conditional => {}
        }
        self.inst
            .subscriptions
            .insert(id, Subscription { kind, target, node });
    }

    fn close_subscription(&mut self, id: LocalId) {
        if let Some(s) = self.inst.subscriptions.remove(&id) {
            match s.kind {
                SubscriptionKind::Timer { .. } => {
                    self.effects.push(Effect::JobCancelled { job: id })
                }
                SubscriptionKind::Message(_) | SubscriptionKind::Signal(_) => self
                    .effects
                    .push(Effect::SubscriptionClosed { subscription: id }),
                SubscriptionKind::Conditional => {}
            }
        }
    }

    fn close_subscriptions(&mut self, which: impl Fn(&SubscriptionTarget) -> bool) {
        let ids: Vec<LocalId> = self
            .inst
            .subscriptions
            .iter()
            .filter(|(_, s)| which(&s.target))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.close_subscription(id);
        }
    }

    // ----- compensation ------------------------------------------------------------

    /// Records that the activity token `t` is at has completed and can be
    /// compensated; `inner`: the scope instance a sub-process ran in.
    fn remember_compensable(&mut self, t: LocalId, inner: Option<LocalId>) {
        let Some(tok) = self.inst.tokens.get(&t) else {
            return;
        };
        let node = tok.node;
        // Its mappings' (or multi-instance instance's) variables, then a
        // sub-process's own, which hide those of the same name.
        let mut variables = Variables::new();
        for own in [tok.local_scope, inner].into_iter().flatten() {
            if let Some(sc) = self.inst.scopes.get(&own) {
                variables.extend(sc.variables.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
        let scope = self.standing_scope(t);
        let order = self.inst.fresh_id();
        self.inst.compensations.push(Compensable {
            scope,
            node,
            order,
            variables,
            inner_scope: inner,
        });
    }

    /// Forgets what completed in scope instance `s` and can no longer be
    /// compensated (the scope ended without being recorded, or was cancelled).
    fn forget_compensable(&mut self, s: LocalId) {
        if !self.inst.compensations.is_empty() {
            self.inst.compensations.retain(|r| r.scope != s);
        }
    }

    /// Whether the sub-process token `o` runs, whose scope instance `s` is
    /// completing, leaves something to compensate: something inside that
    /// completed with a handler, or a compensation event sub-process (and
    /// no handler of its own, which would replace both).
    fn compensates_inside(&self, o: LocalId, s: LocalId) -> bool {
        let Some(tok) = self.inst.tokens.get(&o) else {
            return false;
        };
        let node = self.def.node(tok.node);
        node.compensation_handler.is_none()
            && (self.inst.compensations.iter().any(|r| r.scope == s)
                || node
                    .inner_scope
                    .and_then(|ds| self.compensation_start(ds))
                    .is_some())
    }

    /// The scope instance an activity token stands in (a multi-instance
    /// instance stands where its activity does).
    fn standing_scope(&self, t: LocalId) -> LocalId {
        let mut s = self
            .inst
            .tokens
            .get(&t)
            .map(|t| t.scope)
            .unwrap_or(ROOT_SCOPE);
        while let Some(sc) = self.inst.scopes.get(&s) {
            match (&sc.kind, sc.parent) {
                (ScopeKind::MultiInstanceBody { .. } | ScopeKind::MultiInstanceInner, Some(p)) => {
                    s = p
                }
                _ => break,
            }
        }
        s
    }

    /// The start event of definition scope `ds`'s compensation event sub-process, if it has one.
    fn compensation_start(&self, ds: ScopeIx) -> Option<NodeIx> {
        self.def.scopes[ds as usize]
            .event_subprocesses
            .iter()
            .filter_map(|&esp| self.def.node(esp).inner_scope)
            .find_map(|inner| {
                self.def.scopes[inner as usize]
                    .nodes
                    .iter()
                    .copied()
                    .find(|&n| {
                        matches!(
                            self.def.node(n).kind,
                            NodeKind::StartEvent {
                                trigger: Trigger::Compensation,
                                ..
                            }
                        )
                    })
            })
    }

    /// Where a compensation thrown in scope instance `s` looks: `s`, or, in
    /// a compensation event sub-process, the sub-process it compensates.
    fn compensation_target(&self, s: LocalId) -> LocalId {
        let Some(sc) = self.inst.scopes.get(&s) else {
            return s;
        };
        let ScopeKind::EventSubProcess { .. } = sc.kind else {
            return s;
        };
        let compensating = sc
            .owner_token
            .and_then(|o| self.inst.tokens.get(&o))
            .and_then(|o| self.def.node(o.node).inner_scope)
            .is_some_and(|inner| {
                self.def.scopes[inner as usize].nodes.iter().any(|&n| {
                    matches!(
                        self.def.node(n).kind,
                        NodeKind::StartEvent {
                            trigger: Trigger::Compensation,
                            ..
                        }
                    )
                })
            });
        match (compensating, sc.parent) {
            (true, Some(p)) => p,
            _ => s,
        }
    }

    /// Takes the records of what completed in scope instance `s` (only
    /// `node`'s, when given), the latest first.
    fn take_compensable(&mut self, s: LocalId, node: Option<NodeIx>) -> Vec<Compensable> {
        let (mut taken, kept): (Vec<Compensable>, Vec<Compensable>) =
            std::mem::take(&mut self.inst.compensations)
                .into_iter()
                .partition(|r| r.scope == s && node.is_none_or(|n| r.node == n));
        self.inst.compensations = kept;
        taken.sort_by(|a, b| b.order.cmp(&a.order));
        taken
    }

    /// Starts compensating for the throw event token `t` is at: the
    /// completed activities of its scope (or the one `activity` names), the
    /// latest first, one after another. True when there is something to
    /// compensate: `t` then waits until it is done. Each activity is
    /// compensated once.
    fn compensate(&mut self, t: LocalId, activity: Option<&str>) -> bool {
        let Some(scope) = self.inst.tokens.get(&t).map(|t| t.scope) else {
            return false;
        };
        let node = match activity {
            Some(id) => match self.def.node_ix(id) {
                Some(n) => Some(n),
                None => return false,
            },
            None => None,
        };
        let target = self.compensation_target(scope);
        let pending = self.take_compensable(target, node);
        if pending.is_empty() {
            return false;
        }
        let c = self.new_scope(Some(scope), Some(t), ScopeKind::Compensation { pending });
        self.set_state(t, TokenState::InScope(c));
        self.next_compensation(c);
        true
    }

    /// Whether a handler (or a sub-process's compensation) runs in a child of scope instance `s`.
    fn runs_compensation(&self, s: LocalId) -> bool {
        self.inst.scopes.values().any(|sc| {
            sc.parent == Some(s)
                && matches!(
                    sc.kind,
                    ScopeKind::Compensation { .. } | ScopeKind::CompensationHandler
                )
        })
    }

    /// Compensates the next activity of the compensation scope instance `c`:
    /// its handler, with its variables as they were; for a sub-process, its
    /// compensation event sub-process, or else what completed inside it, the
    /// latest first, in its scope made again.
    fn next_compensation(&mut self, c: LocalId) {
        let next = match self.inst.scopes.get_mut(&c).map(|sc| &mut sc.kind) {
            Some(ScopeKind::Compensation { pending }) if !pending.is_empty() => pending.remove(0),
            _ => return,
        };
        let node = self.def.node(next.node);
        let handler = node.compensation_handler;
        let inner_def = node.inner_scope;
        let at = ScopeInstance {
            parent: Some(c),
            owner_token: None,
            kind: ScopeKind::CompensationHandler,
            variables: next.variables,
        };
        if let Some(h) = handler {
            let hs = self.inst.fresh_id();
            self.inst.scopes.insert(hs, at);
            let tok = self.new_token(hs, h, None);
            self.queue.push_back(Work::Enter(tok));
        } else if let Some(inner) = next.inner_scope {
            // The sub-process's scope again, under its old id: what completed
            // inside it is recorded there.
            self.inst.scopes.insert(inner, at);
            if let Some(start) = inner_def.and_then(|ds| self.compensation_start(ds)) {
                self.start_event_subprocess(inner, start, false);
                return;
            }
            let pending = self.take_compensable(inner, None);
            if pending.is_empty() {
                return self.scope_maybe_complete(inner);
            }
            let nested = self.new_scope(Some(inner), None, ScopeKind::Compensation { pending });
            self.next_compensation(nested);
        } else {
            self.scope_maybe_complete(c);
        }
    }

    /// The compensation thrown at token `t` is done: its throw event completes.
    fn compensation_done(&mut self, t: LocalId) {
        let Some(node) = self.inst.tokens.get(&t).map(|tok| tok.node) else {
            return;
        };
        if matches!(self.def.node(node).kind, NodeKind::EndEvent(_)) {
            // Its end listeners ran before it threw.
            self.history(HistoryEvent::ActivityCompleted {
                node: self.def.node(node).id.clone(),
            });
            self.consume(t);
        } else {
            self.ready(t);
            self.queue.push_back(Work::Complete(t));
        }
    }

    // ----- variables and scripts -------------------------------------------------------

    /// The scope chain from `s` outwards.
    fn chain_of(&self, mut s: LocalId) -> Vec<LocalId> {
        let mut chain = vec![s];
        while let Some(p) = self.inst.scopes.get(&s).and_then(|sc| sc.parent) {
            chain.push(p);
            s = p;
        }
        chain
    }

    /// The innermost scope a token's scripts see.
    fn token_scope(&self, t: LocalId) -> LocalId {
        self.inst
            .tokens
            .get(&t)
            .map(|tok| tok.local_scope.unwrap_or(tok.scope))
            .unwrap_or(ROOT_SCOPE)
    }

    fn lookup<'s>(&'s self, chain: &[LocalId], name: &str) -> Option<&'s Value> {
        chain
            .iter()
            .find_map(|s| self.inst.scopes.get(s)?.variables.get(name))
    }

    fn run_in(&self, s: LocalId, code: &Code) -> Result<ScriptOutcome, String> {
        let chain = self.chain_of(s);
        let scopes: Vec<&Variables> = chain
            .iter()
            .rev()
            .filter_map(|s| self.inst.scopes.get(s).map(|sc| &sc.variables))
            .collect();
        let out = code
            .compiled
            .run(&scopes, self.now)
            .map_err(|e| e.to_string())?;
        // The value it returns may be stored too (a result variable, an
        // output mapping): it is bounded like a variable.
        if matches!(out.value, Value::List(_) | Value::Map(_) | Value::String(_)) {
            crate::value::check_variables([(&"(its result)".to_string(), &out.value)])
                .map_err(|e| format!("the script's {e}"))?;
        }
        if out.writes.is_empty() {
            return Ok(out);
        }
        // What a script may write is bounded like what a request may bring:
        // past a limit, an incident naming it, and nothing written.
        let written = crate::value::check_variables(out.writes.iter().map(|(k, v)| (k, v)))
            .map_err(|e| format!("the script's write to variable {e}"))?;
        let held = self.inst.variable_weight();
        if held + written > crate::value::MAX_INSTANCE_BYTES {
            return Err(format!(
                "the script's writes would make the instance's variables weigh {} bytes; an instance holds at most {} MiB",
                held + written,
                crate::value::MAX_INSTANCE_BYTES / (1024 * 1024)
            ));
        }
        Ok(out)
    }

    fn eval_in(&self, s: LocalId, code: &Code) -> Result<Value, String> {
        self.run_in(s, code).map(|o| o.value)
    }

    fn eval(&self, t: LocalId, code: &Code) -> Result<Value, String> {
        self.eval_in(self.token_scope(t), code)
    }

    /// Runs a script for token `t`; on success its writes are applied.
    fn run_script(&mut self, t: LocalId, code: &Code) -> Result<Value, String> {
        let s = self.token_scope(t);
        let out = self.run_in(s, code)?;
        for (name, value) in out.writes {
            self.set_var(s, &name, value);
        }
        Ok(out.value)
    }

    fn mapping(&mut self, t: LocalId, value: &MappingValue) -> Result<Value, String> {
        Ok(match value {
            MappingValue::Constant(v) => v.clone(),
            MappingValue::Script(code) => self.eval(t, code)?,
            MappingValue::List(items) => Value::List(
                items
                    .iter()
                    .map(|i| self.mapping(t, i))
                    .collect::<Result<_, _>>()?,
            ),
            MappingValue::Map(entries) => Value::Map(
                entries
                    .iter()
                    .map(|(k, i)| Ok((k.clone(), self.mapping(t, i)?)))
                    .collect::<Result<_, String>>()?,
            ),
        })
    }

    /// Sets a variable where it lives in `from`'s chain; a new one goes to the
    /// process instance (local variables are made only by input mappings and
    /// multi-instance, through `set_local`), as in Camunda.
    fn set_var(&mut self, from: LocalId, name: &str, value: Value) {
        let chain = self.chain_of(from);
        let target = chain
            .iter()
            .copied()
            .find(|s| {
                self.inst
                    .scopes
                    .get(s)
                    .is_some_and(|sc| sc.variables.contains_key(name))
            })
            .unwrap_or(ROOT_SCOPE);
        self.set_local(target, name, value);
    }

    fn set_local(&mut self, s: LocalId, name: &str, value: Value) {
        if let Some(scope) = self.inst.scopes.get_mut(&s) {
            if scope.variables.get(name) == Some(&value) {
                return;
            }
            self.effects.push(Effect::variable_set(name, &value));
            scope.variables.insert(name.to_string(), value);
            self.vars_changed = true;
        }
    }

    // ----- small helpers --------------------------------------------------------------

    fn new_token(&mut self, scope: LocalId, node: NodeIx, via: Option<FlowIx>) -> LocalId {
        let id = self.inst.fresh_id();
        self.inst.tokens.insert(
            id,
            Token {
                scope,
                node,
                state: TokenState::Ready,
                via,
                local_scope: None,
                inner: false,
                async_done: false,
                loops: 0,
                call_output: None,
            },
        );
        id
    }

    fn new_scope(
        &mut self,
        parent: Option<LocalId>,
        owner: Option<LocalId>,
        kind: ScopeKind,
    ) -> LocalId {
        let id = self.inst.fresh_id();
        self.inst.scopes.insert(
            id,
            ScopeInstance {
                parent,
                owner_token: owner,
                kind,
                variables: Variables::new(),
            },
        );
        id
    }

    fn find_token(&self, which: impl Fn(&TokenState) -> bool) -> Option<LocalId> {
        self.inst
            .tokens
            .iter()
            .find(|(_, t)| which(&t.state))
            .map(|(id, _)| *id)
    }

    fn set_state(&mut self, t: LocalId, state: TokenState) {
        if let Some(tok) = self.inst.tokens.get_mut(&t) {
            tok.state = state;
        }
    }

    fn ready(&mut self, t: LocalId) {
        self.set_state(t, TokenState::Ready);
    }

    fn node_id(&self, t: LocalId) -> String {
        self.inst
            .tokens
            .get(&t)
            .map(|tok| self.def.node(tok.node).id.clone())
            .unwrap_or_default()
    }

    fn history(&mut self, event: HistoryEvent) {
        self.effects.push(Effect::History(event));
    }

    fn incident(&mut self, t: LocalId, retry: Phase, message: String) {
        let id = self.inst.fresh_id();
        let node = self.node_id(t);
        self.set_state(
            t,
            TokenState::Incident {
                id,
                message: message.clone(),
                retry,
            },
        );
        self.history(HistoryEvent::IncidentRaised {
            node: node.clone(),
            message: message.clone(),
        });
        self.effects.push(Effect::IncidentRaised {
            incident: id,
            node,
            message,
        });
    }
}
