//! Multi-instance activities: the body, its instances (parallel or one after another), their counters and the completion condition.

use super::*;

impl Exec<'_> {
    pub(super) fn start_multi_instance(&mut self, t: TokenId) {
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

    pub(super) fn spawn_inner(&mut self, body: ScopeId) {
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

    pub(super) fn adjust_counter(&mut self, body: ScopeId, name: &str, by: i64) {
        let current = self.inst.scopes[&body]
            .variables
            .get(name)
            .and_then(Value::as_int)
            .unwrap_or(0);
        self.set_local(body, name, Value::Int(current + by));
    }

    pub(super) fn multi_instance_inner_done(&mut self, t: TokenId) {
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

    pub(super) fn finish_multi_instance(&mut self, body: ScopeId) {
        let Some(scope) = self.inst.scopes.remove(&body) else {
            return;
        };
        if let Some(owner) = scope.owner_token {
            self.ready(owner);
            self.queue.push_back(Work::Complete(owner));
        }
    }
}
