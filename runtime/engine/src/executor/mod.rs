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
        slas: Vec::new(),
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

pub use migrate::{check_mapping, migrate, ElementMapping, MigrationRefused};

#[derive(Debug, Clone, Copy)]
enum Work {
    Arrive(TokenId),
    Enter(TokenId),
    Execute(TokenId),
    Complete(TokenId),
    Leave(TokenId),
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

mod commands;
mod compensation;
mod migrate;
mod modify;
mod multi_instance;
mod phases;
mod scopes;
mod sla;
mod subscriptions;
mod throws;
mod variables;

impl<'a> Exec<'a> {
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
        let joining: Vec<(TokenId, NodeIx, ScopeId)> = self
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
            let others: Vec<TokenId> = self
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

    // ----- small helpers --------------------------------------------------------------

    fn new_token(&mut self, scope: ScopeId, node: NodeIx, via: Option<FlowIx>) -> TokenId {
        let id = self.inst.fresh_token();
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
        parent: Option<ScopeId>,
        owner: Option<TokenId>,
        kind: ScopeKind,
    ) -> ScopeId {
        let id = self.inst.fresh_scope();
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

    fn find_token(&self, which: impl Fn(&TokenState) -> bool) -> Option<TokenId> {
        self.inst
            .tokens
            .iter()
            .find(|(_, t)| which(&t.state))
            .map(|(id, _)| *id)
    }

    fn set_state(&mut self, t: TokenId, state: TokenState) {
        if let Some(tok) = self.inst.tokens.get_mut(&t) {
            tok.state = state;
        }
    }

    fn ready(&mut self, t: TokenId) {
        self.set_state(t, TokenState::Ready);
    }

    fn node_id(&self, t: TokenId) -> String {
        self.inst
            .tokens
            .get(&t)
            .map(|tok| self.def.node(tok.node).id.clone())
            .unwrap_or_default()
    }

    fn history(&mut self, event: HistoryEvent) {
        // SLA clocks start, are met and stop as elements start, complete and
        // are cancelled: every one of those passes here.
        let sla_event = (!self.def.slas.is_empty()
            && matches!(
                event,
                HistoryEvent::ActivityStarted { .. }
                    | HistoryEvent::ActivityCompleted { .. }
                    | HistoryEvent::ActivityCancelled { .. }
                    | HistoryEvent::InstanceEnded { .. }
            ))
        .then(|| event.clone());
        self.effects.push(Effect::History(event));
        if let Some(event) = sla_event {
            self.sla_event(&event);
        }
    }

    fn incident(&mut self, t: TokenId, retry: Phase, message: String) {
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
