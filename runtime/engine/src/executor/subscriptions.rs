//! Subscriptions: a trigger delivered (to a token, a boundary event, an event-gateway branch or an event sub-process), and opening and closing what an instance waits for.

use super::*;

impl Exec<'_> {
    pub(super) fn trigger(&mut self, sub: LocalId) {
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
    pub(super) fn open_boundaries(&mut self, t: TokenId) -> bool {
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

    pub(super) fn close_boundaries(&mut self, t: TokenId) {
        self.close_subscriptions(
            |target| matches!(target, SubscriptionTarget::Boundary { host } if *host == t),
        );
    }

    pub(super) fn open_event_subprocesses(&mut self, s: ScopeId, ds: ScopeIx) {
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
    pub(super) fn subscribe(
        &mut self,
        node: NodeIx,
        target: SubscriptionTarget,
    ) -> Result<(), String> {
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

    pub(super) fn open_subscription(
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

    pub(super) fn close_subscription(&mut self, id: LocalId) {
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

    pub(super) fn close_subscriptions(&mut self, which: impl Fn(&SubscriptionTarget) -> bool) {
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
}
