//! Instance modification: a person cancels tokens at elements and starts
//! tokens before or after others, all in one step, all or nothing.

use super::*;
use crate::effect::Modification;

impl Exec<'_> {
    /// Carries out the instructions in order. On a refusal the instance and
    /// the effects are put back as they were, so a refused modification
    /// changes nothing, whichever instruction refused it.
    pub(super) fn modify(&mut self, instructions: &[Modification]) -> Result<(), CommandError> {
        if instructions.is_empty() {
            return Err(CommandError::Modification(
                "it has no instruction".to_string(),
            ));
        }
        let before = self.inst.clone();
        let effects = self.effects.len();
        match self.apply_modifications(instructions) {
            Ok(()) => Ok(()),
            Err(e) => {
                *self.inst = before;
                self.effects.truncate(effects);
                self.queue.clear();
                Err(e)
            }
        }
    }

    fn apply_modifications(&mut self, instructions: &[Modification]) -> Result<(), CommandError> {
        // Scopes a cancellation may have left empty: each is checked once all
        // instructions ran, so "cancel A, start before B" in one sub-process
        // keeps the sub-process.
        let mut emptied: Vec<ScopeId> = Vec::new();
        let mut started: Vec<Work> = Vec::new();
        for (i, m) in instructions.iter().enumerate() {
            let refuse = |why: String| {
                CommandError::Modification(format!(
                    "instruction {} ({}): {why}",
                    i + 1,
                    m.element()
                ))
            };
            let ix = self
                .def
                .node_ix(m.element())
                .ok_or_else(|| refuse("the process has no such element".to_string()))?;
            match m {
                Modification::Cancel { .. } => {
                    // Outer tokens only: a multi-instance's own instances go with it.
                    let at: Vec<(TokenId, ScopeId)> = self
                        .inst
                        .tokens
                        .iter()
                        .filter(|(_, t)| t.node == ix && !t.inner)
                        .map(|(id, t)| (*id, t.scope))
                        .collect();
                    if at.is_empty() {
                        return Err(refuse("no token is at this element".to_string()));
                    }
                    for &(t, s) in &at {
                        if self.in_multi_instance(s) {
                            return Err(refuse(
                                "it runs inside a multi-instance activity; cancel that activity instead"
                                    .to_string(),
                            ));
                        }
                        self.cancel_token(t, true);
                        emptied.push(s);
                    }
                }
                Modification::StartBefore { .. } | Modification::StartAfter { .. } => {
                    let after = matches!(m, Modification::StartAfter { .. });
                    let node = self.def.node(ix);
                    if !after && matches!(node.kind, NodeKind::BoundaryEvent { .. }) {
                        return Err(refuse(
                            "a boundary event starts only from its activity; start after it instead"
                                .to_string(),
                        ));
                    }
                    if self
                        .def
                        .nodes
                        .iter()
                        .any(|n| n.compensation_handler == Some(ix))
                    {
                        return Err(refuse(
                            "a compensation handler runs only when its activity is compensated"
                                .to_string(),
                        ));
                    }
                    let scope = self.scope_to_start_in(node.scope).map_err(refuse)?;
                    let t = self.new_token(scope, ix, None);
                    if after {
                        // Leaving records the element's completion: its start
                        // goes first, so the history pairs them (a stay of nothing).
                        let node = self.def.node(ix).id.clone();
                        self.history(HistoryEvent::ActivityStarted { node });
                    }
                    started.push(if after {
                        Work::Leave(t)
                    } else {
                        Work::Enter(t)
                    });
                }
            }
        }
        self.queue.extend(started);
        emptied.sort();
        emptied.dedup();
        for s in emptied {
            self.end_if_emptied(s);
        }
        Ok(())
    }

    fn in_multi_instance(&self, s: ScopeId) -> bool {
        self.chain_of(s).iter().any(|c| {
            matches!(
                self.inst.scopes.get(c).map(|sc| &sc.kind),
                Some(ScopeKind::MultiInstanceBody { .. })
            )
        })
    }

    /// The one running instance of definition scope `ds` a new token goes in.
    fn scope_to_start_in(&self, ds: ScopeIx) -> Result<ScopeId, String> {
        if ds == 0 {
            return Ok(ROOT_SCOPE);
        }
        let running: Vec<ScopeId> = self
            .inst
            .scopes
            .keys()
            .copied()
            .filter(|&s| self.def_scope_of(s) == Some(ds))
            .collect();
        let owner = self.def.scopes[ds as usize]
            .owner
            .map(|o| self.def.node(o).id.clone())
            .unwrap_or_default();
        match running.as_slice() {
            [one] if !self.in_multi_instance(*one) => Ok(*one),
            [] => Err(format!(
                "it stands in sub-process {owner}, which is not running; start before {owner} instead"
            )),
            _ => Err(format!(
                "it stands in sub-process {owner}, which runs more than once here; say which by starting before {owner}"
            )),
        }
    }

    /// A scope a cancellation left with no token is cancelled too, and so on
    /// outwards: a modification that cancels everything cancels the instance
    /// (it is `terminated`, not `completed`: nothing reached an end event).
    fn end_if_emptied(&mut self, s: ScopeId) {
        if self.inst.state != InstanceState::Active {
            return;
        }
        let Some(scope) = self.inst.scopes.get(&s) else {
            return;
        };
        if self.inst.tokens.values().any(|t| t.scope == s) {
            return;
        }
        match scope.kind {
            ScopeKind::Process => self.end_instance(InstanceState::Terminated),
            ScopeKind::SubProcess | ScopeKind::EventSubProcess { .. } => {
                match scope
                    .owner_token
                    .and_then(|o| self.inst.tokens.get(&o).map(|t| (o, t.scope)))
                {
                    Some((owner, parent)) => {
                        self.cancel_token(owner, true);
                        self.end_if_emptied(parent);
                    }
                    None => self.scope_maybe_complete(s),
                }
            }
            _ => self.scope_maybe_complete(s),
        }
    }
}
