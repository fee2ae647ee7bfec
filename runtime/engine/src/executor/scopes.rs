//! Joins and scopes: parallel joins, a scope completing when nothing is left in it, the instance ending, terminating and cancelling tokens and scopes.

use super::*;

impl Exec<'_> {
    pub(super) fn try_parallel_join(&mut self, t: TokenId) {
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

    pub(super) fn consume(&mut self, t: TokenId) {
        if let Some(tok) = self.inst.tokens.remove(&t) {
            self.scope_maybe_complete(tok.scope);
        }
    }

    pub(super) fn scope_maybe_complete(&mut self, s: ScopeId) {
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

    pub(super) fn end_instance(&mut self, state: InstanceState) {
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
    pub(super) fn terminate_scope(&mut self, s: ScopeId) {
        self.cancel_tokens_in(s);
        self.scope_maybe_complete(s);
    }

    /// Cancels every token of scope instance `s` (and what each runs).
    pub(super) fn cancel_tokens_in(&mut self, s: ScopeId) {
        let tokens: Vec<TokenId> = self
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
    pub(super) fn cancel_token(&mut self, t: TokenId, record: bool) {
        let Some(tok) = self.inst.tokens.get(&t).cloned() else {
            return;
        };
        match &tok.state {
            TokenState::Waiting(Wait::UserTask { task }) => self.effects.push(Effect::TaskEnded {
                task: *task,
                completed: false,
            }),
            TokenState::Waiting(Wait::Async { job, .. })
            | TokenState::Waiting(Wait::External { job })
            | TokenState::Waiting(Wait::Connector { job }) => {
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

    pub(super) fn cancel_scope(&mut self, s: ScopeId) {
        // What completed in a cancelled scope is not compensated (BPMN 2.0 §10.5.7).
        self.forget_compensable(s);
        self.cancel_tokens_in(s);
        self.close_subscriptions(
            |target| matches!(target, SubscriptionTarget::EventSubProcess { scope } if *scope == s),
        );
        let children: Vec<ScopeId> = self
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
}
