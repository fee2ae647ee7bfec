//! The phases of a token at a node: arrive (joins count), enter (async before, multi-instance, mappings, start listeners), execute (what the node does), complete (loops, output mappings, end listeners), leave (choosing outgoing flows).

use super::*;

impl Exec<'_> {
    pub(super) fn arrive(&mut self, t: TokenId) {
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

    pub(super) fn enter(&mut self, t: TokenId) {
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

    pub(super) fn execute(&mut self, t: TokenId) {
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
                let people = match self.assignment(t, spec) {
                    Ok(p) => p,
                    Err(e) => return self.incident(t, Phase::Execute, e),
                };
                if !self.open_boundaries(t) {
                    return;
                }
                let task = self.inst.fresh_id();
                if !self.def.slas.is_empty() {
                    self.sla_task_created(nix, &people.candidate_groups);
                }
                self.effects.push(Effect::TaskCreated(TaskInfo {
                    id: task,
                    node_id: node.id.clone(),
                    name: node.name.clone(),
                    assignee: people.assignee,
                    candidate_groups: people.candidate_groups,
                    candidate_users: people.candidate_users,
                    due: people.due,
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
                let found: Variables = ["to", "subject", "body", "attachments"]
                    .into_iter()
                    .filter_map(|k| Some((k.to_string(), self.lookup(&chain, k)?.clone())))
                    .collect();
                match self.queue_mail(&found) {
                    Ok(()) => self.queue.push_back(Work::Complete(t)),
                    Err(e) => self.incident(t, Phase::Execute, e),
                }
            }
            NodeKind::Connector {
                connector, inputs, ..
            } => {
                let (connector, inputs) = (connector.clone(), inputs.clone());
                let mut input = Variables::new();
                for (name, value) in &inputs {
                    match self.mapping(t, value) {
                        Ok(v) => {
                            input.insert(name.clone(), v);
                        }
                        Err(e) => {
                            return self.incident(
                                t,
                                Phase::Execute,
                                format!("the connector's input {name}: {e}"),
                            )
                        }
                    }
                }
                if connector == "mail" {
                    // The outbox is written in the step's own transaction:
                    // no job is needed for it to happen exactly once.
                    match self.queue_mail(&input) {
                        Ok(()) => self.queue.push_back(Work::Complete(t)),
                        Err(e) => self.incident(t, Phase::Execute, e),
                    }
                    return;
                }
                if connector == "document" {
                    // A document is filled like a form is shown: from every
                    // variable in view (inner scopes first). The call is made
                    // later, so it gets them now, beside its own inputs (a
                    // variable called `name` is not the document's name).
                    let mut in_view = Variables::new();
                    for scope in self.chain_of(self.token_scope(t)) {
                        if let Some(sc) = self.inst.scopes.get(&scope) {
                            for (name, value) in &sc.variables {
                                in_view.entry(name.clone()).or_insert_with(|| value.clone());
                            }
                        }
                    }
                    input.insert(
                        crate::effect::DOCUMENT_VARIABLES.into(),
                        Value::Map(in_view),
                    );
                }
                if !self.open_boundaries(t) {
                    return;
                }
                let job = self.inst.fresh_id();
                self.effects.push(Effect::JobScheduled {
                    job,
                    kind: JobKind::Connector { connector, input },
                    due: self.now,
                });
                self.set_state(t, TokenState::Waiting(Wait::Connector { job }));
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

    pub(super) fn complete(&mut self, t: TokenId) {
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

    pub(super) fn leave(&mut self, t: TokenId) {
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
            self.history(HistoryEvent::FlowTaken {
                flow: flow.id.clone(),
            });
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
}

impl Exec<'_> {
    /// Queues the mail that `fields` (`to`, `subject`, `body`, and
    /// `attachments`: a document id or a list of them) describe, or says
    /// what is wrong with it.
    pub(super) fn queue_mail(&mut self, fields: &Variables) -> Result<(), String> {
        let text = |name: &str| match fields.get(name) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Null) | None => Err(format!("the mail has no {name}")),
            Some(other) => Ok(other.to_json().to_string()),
        };
        let to = match fields.get("to") {
            Some(Value::String(s)) => s
                .split(',')
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>(),
            Some(Value::List(items)) => items
                .iter()
                .filter_map(|i| match i {
                    Value::String(s) => Some(s.clone()),
                    _ => None,
                })
                .collect(),
            _ => return Err("the mail has no recipient (to)".to_string()),
        };
        if to.is_empty() || to.iter().any(|a| !a.contains('@')) {
            return Err(format!("the recipients {to:?} are not mail addresses"));
        }
        let subject = text("subject")?;
        let body = text("body").unwrap_or_default();
        // The ids a `document` connector gave (`documentId`): the sender
        // reads each PDF when it delivers, so the step stays small.
        let attachments = match fields.get("attachments") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) if s.is_empty() => Vec::new(),
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::List(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) if !s.is_empty() => Ok(s.clone()),
                    other => Err(format!(
                        "the mail's attachments are document ids (a documentId), not {}",
                        other.to_json()
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(format!(
                    "the mail's attachments are document ids (a documentId), not {}",
                    other.to_json()
                ))
            }
        };
        let n = self.inst.fresh_id();
        self.effects.push(Effect::MailQueued {
            key: format!("{}:{n}", self.inst.id),
            to,
            subject,
            body,
            attachments,
        });
        Ok(())
    }
}

/// Who a user task goes to and when it is due, with its expressions evaluated.
struct Assignment {
    assignee: Option<String>,
    candidate_groups: Vec<String>,
    candidate_users: Vec<String>,
    due: Option<DateTime<Utc>>,
}

impl Exec<'_> {
    /// The task's assignee, candidates and due date for token `t`: each
    /// written as `${…}` is evaluated in the token's scope (text, a list of
    /// texts or comma-separated text for candidates; a date-time, an ISO date
    /// or a duration from now for the due date). An expression that fails or
    /// gives something else is an incident naming the attribute.
    fn assignment(
        &self,
        t: TokenId,
        spec: &crate::definition::UserTaskSpec,
    ) -> Result<Assignment, String> {
        let value = |attribute: &str, text: &str| -> Result<Option<Value>, String> {
            match spec.expressions.get(text) {
                Some(code) => self
                    .eval(t, code)
                    .map(Some)
                    .map_err(|e| format!("camunda:{attribute} {text}: {e}")),
                None => Ok(None),
            }
        };
        let names = |attribute: &str, written: &[String]| -> Result<Vec<String>, String> {
            let mut out = Vec::new();
            for text in written {
                match value(attribute, text)? {
                    None => out.push(text.clone()),
                    Some(Value::Null) => {}
                    Some(Value::String(s)) => out.extend(
                        s.split(',')
                            .map(str::trim)
                            .filter(|n| !n.is_empty())
                            .map(str::to_string),
                    ),
                    Some(Value::List(items)) => {
                        for item in items {
                            match item {
                                Value::String(s) if !s.trim().is_empty() => {
                                    out.push(s.trim().to_string())
                                }
                                other => {
                                    return Err(format!(
                                        "camunda:{attribute} {text}: {} is not a name",
                                        other.to_json()
                                    ))
                                }
                            }
                        }
                    }
                    Some(other) => {
                        return Err(format!(
                            "camunda:{attribute} {text} gave {}, not text or a list of names",
                            other.to_json()
                        ))
                    }
                }
            }
            Ok(out)
        };
        let assignee = match &spec.assignee {
            None => None,
            Some(text) => match value("assignee", text)? {
                None => Some(text.to_string()),
                Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) => Some(s.trim().to_string()),
                Some(other) => {
                    return Err(format!(
                        "camunda:assignee {text} gave {}, not a user name",
                        other.to_json()
                    ))
                }
            },
        };
        let due_text = |d: &str| {
            millrace_model::timer::parse_date(d).ok().or_else(|| {
                millrace_model::timer::parse_duration(d)
                    .ok()
                    .map(|p| p.after(self.now))
            })
        };
        let due = match &spec.due_date {
            None => None,
            Some(text) => match value("dueDate", text)? {
                None => due_text(text),
                Some(Value::Null) => None,
                Some(Value::DateTime(at)) => Some(at),
                Some(Value::String(s)) => Some(due_text(&s).ok_or_else(|| {
                    format!("camunda:dueDate {text} gave {s:?}, not an ISO 8601 date or duration")
                })?),
                Some(other) => {
                    return Err(format!(
                        "camunda:dueDate {text} gave {}, not a date",
                        other.to_json()
                    ))
                }
            },
        };
        Ok(Assignment {
            assignee,
            candidate_groups: names("candidateGroups", &spec.candidate_groups)?,
            candidate_users: names("candidateUsers", &spec.candidate_users)?,
            due,
        })
    }
}
