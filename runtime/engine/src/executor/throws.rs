//! Throwing: messages and signals (to the instance itself first), errors and escalations looking outwards for a boundary event or event sub-process, boundary events and event sub-processes starting.

use super::*;

impl Exec<'_> {
    /// The instance's own open subscriptions to a message or signal named
    /// `name`, oldest first.
    pub(super) fn own_subscriptions(&self, signal: bool, name: &str) -> Vec<LocalId> {
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

    pub(super) fn throw(&mut self, scope: ScopeId, throw: &Throw) {
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
    pub(super) fn def_scope_of(&self, s: ScopeId) -> Option<ScopeIx> {
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

    pub(super) fn trigger_of(&self, node: NodeIx) -> &Trigger {
        match &self.def.node(node).kind {
            NodeKind::StartEvent { trigger, .. }
            | NodeKind::CatchEvent(trigger)
            | NodeKind::BoundaryEvent { trigger, .. } => trigger,
            _ => &Trigger::None,
        }
    }

    /// The event sub-process start in `s`'s definition scope that catches `wanted`.
    pub(super) fn event_subprocess_start(
        &self,
        s: ScopeId,
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
    pub(super) fn throw_error(&mut self, mut s: ScopeId, code: &Option<String>) -> bool {
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
    pub(super) fn catch_error_at(&mut self, o: TokenId, code: &Option<String>) -> bool {
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

    pub(super) fn throw_escalation(&mut self, mut s: ScopeId, code: &Option<String>) {
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
    pub(super) fn catch_escalation_at(&mut self, o: TokenId, code: &Option<String>) -> bool {
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
    pub(super) fn fire_boundary(&mut self, scope: ScopeId, b: NodeIx) {
        let t = self.new_token(scope, b, None);
        self.history(HistoryEvent::ActivityStarted {
            node: self.def.node(b).id.clone(),
        });
        self.queue.push_back(Work::Complete(t));
    }

    pub(super) fn start_event_subprocess(&mut self, s: ScopeId, start: NodeIx, interrupting: bool) {
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
}
