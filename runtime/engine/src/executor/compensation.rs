//! Compensation (BPMN 2.0 §10.5.7, §13.5.5): what completed and can be compensated, and compensating it, one handler at a time, the latest first.

use super::*;

impl Exec<'_> {
    /// Records that the activity token `t` is at has completed and can be
    /// compensated; `inner`: the scope instance a sub-process ran in.
    pub(super) fn remember_compensable(&mut self, t: TokenId, inner: Option<ScopeId>) {
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
    pub(super) fn forget_compensable(&mut self, s: ScopeId) {
        if !self.inst.compensations.is_empty() {
            self.inst.compensations.retain(|r| r.scope != s);
        }
    }

    /// Whether the sub-process token `o` runs, whose scope instance `s` is
    /// completing, leaves something to compensate: something inside that
    /// completed with a handler, or a compensation event sub-process (and
    /// no handler of its own, which would replace both).
    pub(super) fn compensates_inside(&self, o: TokenId, s: ScopeId) -> bool {
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
    pub(super) fn standing_scope(&self, t: TokenId) -> ScopeId {
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
    pub(super) fn compensation_start(&self, ds: ScopeIx) -> Option<NodeIx> {
        self.def.scopes[ds as usize]
            .event_subprocesses
            .iter()
            .filter_map(|&esp| self.def.node(esp).inner_scope)
            .find_map(|inner| self.compensation_start_in(inner))
    }

    /// The compensation start event directly in definition scope `inner`
    /// (an event sub-process's inside), if it has one.
    fn compensation_start_in(&self, inner: ScopeIx) -> Option<NodeIx> {
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
    }

    /// Where a compensation thrown in scope instance `s` looks: `s`, or, in
    /// a compensation event sub-process, the sub-process it compensates.
    pub(super) fn compensation_target(&self, s: ScopeId) -> ScopeId {
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
            .and_then(|inner| self.compensation_start_in(inner))
            .is_some();
        match (compensating, sc.parent) {
            (true, Some(p)) => p,
            _ => s,
        }
    }

    /// Takes the records of what completed in scope instance `s` (only
    /// `node`'s, when given), the latest first.
    pub(super) fn take_compensable(
        &mut self,
        s: ScopeId,
        node: Option<NodeIx>,
    ) -> Vec<Compensable> {
        let (mut taken, kept): (Vec<Compensable>, Vec<Compensable>) =
            std::mem::take(&mut self.inst.compensations)
                .into_iter()
                .partition(|r| r.scope == s && node.is_none_or(|n| r.node == n));
        self.inst.compensations = kept;
        taken.sort_by_key(|r| std::cmp::Reverse(r.order));
        taken
    }

    /// Starts compensating for the throw event token `t` is at: the
    /// completed activities of its scope (or the one `activity` names), the
    /// latest first, one after another. True when there is something to
    /// compensate: `t` then waits until it is done. Each activity is
    /// compensated once.
    pub(super) fn compensate(&mut self, t: TokenId, activity: Option<&str>) -> bool {
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
    pub(super) fn runs_compensation(&self, s: ScopeId) -> bool {
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
    pub(super) fn next_compensation(&mut self, c: ScopeId) {
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
            let hs = self.inst.fresh_scope();
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
    pub(super) fn compensation_done(&mut self, t: TokenId) {
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
}
