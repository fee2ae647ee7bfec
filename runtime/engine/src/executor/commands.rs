//! Commands: what each kind of command does to the instance before the token machine runs.

use super::*;

impl Exec<'_> {
    pub(super) fn command(&mut self, command: Command) -> Result<(), CommandError> {
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
                if !self.def.slas.is_empty() {
                    self.sla_instance_started();
                }
                self.open_event_subprocesses(ROOT_SCOPE, 0);
                let tokens: Vec<TokenId> = starts
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
                // An SLA clock's job breaches it; every other job is a token's.
                if self.sla_due(job).is_some() {
                    return Ok(());
                }
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
            Command::CompleteConnector { job, response } => {
                let t = self
                    .find_token(|s| matches!(s, TokenState::Waiting(Wait::Connector { job: j }) if *j == job))
                    .ok_or(CommandError::NotFound("connector call", job))?;
                let NodeKind::Connector { outputs, .. } =
                    &self.def.node(self.inst.tokens[&t].node).kind
                else {
                    return Err(CommandError::NotFound("connector call", job));
                };
                let outputs = outputs.clone();
                let scope = self.token_scope(t);
                // Every output is evaluated before any is set: a failing one
                // sets none, and the token waits in an incident to be retried.
                let mut values = Vec::with_capacity(outputs.len());
                for (name, value) in &outputs {
                    match self.mapping_with(scope, &response, value) {
                        Ok(v) => values.push((name.clone(), v)),
                        Err(e) => {
                            self.close_boundaries(t);
                            self.incident(
                                t,
                                Phase::Execute,
                                format!("the connector's output {name}: {e}"),
                            );
                            return Ok(());
                        }
                    }
                }
                for (name, value) in values {
                    self.set_var(scope, &name, value);
                }
                self.ready(t);
                self.queue.push_back(Work::Complete(t));
            }
            Command::FailConnector { job, message } => {
                let t = self
                    .find_token(|s| matches!(s, TokenState::Waiting(Wait::Connector { job: j }) if *j == job))
                    .ok_or(CommandError::NotFound("connector call", job))?;
                // A retry executes the task again: its boundaries open again and the connector is called anew.
                self.close_boundaries(t);
                self.incident(t, Phase::Execute, message);
            }
            Command::CalledInstanceCompleted { token, variables } => {
                if !matches!(
                    self.inst.tokens.get(&token).map(|t| &t.state),
                    Some(TokenState::Called(_))
                ) {
                    return Err(CommandError::NotFound("call activity token", token.0));
                }
                self.call_output(token, variables);
            }
            Command::CalledInstanceError { token, code } => {
                if !matches!(
                    self.inst.tokens.get(&token).map(|t| &t.state),
                    Some(TokenState::Called(_))
                ) {
                    return Err(CommandError::NotFound("call activity token", token.0));
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
                    return Err(CommandError::NotFound("call activity token", token.0));
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
                    return Err(CommandError::NotFound("call activity token", token.0));
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
            Command::Modify { instructions } => self.modify(&instructions)?,
        }
        Ok(())
    }

    /// Applies a call activity's `camunda:out` mappings from the called
    /// instance's variables, all or none; on a failing expression the token
    /// keeps those variables for the retry and gets an incident.
    pub(super) fn call_output(&mut self, token: TokenId, variables: Variables) {
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
}
