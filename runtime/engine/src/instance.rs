//! The state of one running process instance: its scopes with their
//! variables, its tokens and where they wait, and what it is subscribed to.
//! Serialisable, so the store can keep it as one document per instance.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::definition::{FlowIx, NodeIx};
use crate::value::{Value, Variables};

/// Instance-local id of a subscription, task, job or incident: the part after
/// the colon of its global id (`instance:local`). Tokens and scope instances,
/// which never leave the engine, have their own id types.
pub type LocalId = u64;

/// Instance-local id of a token.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TokenId(pub LocalId);

/// Instance-local id of a scope instance.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct ScopeId(pub LocalId);

impl std::fmt::Display for TokenId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for ScopeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether an instance runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceState {
    /// Running or waiting.
    Active,
    /// Reached its end (a terminate end event included).
    Completed,
    /// Cancelled by a person.
    Terminated,
}

impl InstanceState {
    /// The state's name as the API and scenarios show it.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Active => "active",
            InstanceState::Completed => "completed",
            InstanceState::Terminated => "terminated",
        }
    }
}

/// The call activity that started this instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentLink {
    /// The calling instance.
    pub instance: String,
    /// The token waiting at the call activity.
    pub token: TokenId,
}

/// One process instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Instance {
    /// The instance id, given by the caller.
    pub id: String,
    /// The definition key.
    pub key: String,
    /// The definition version it runs on.
    pub version: i64,
    /// The business key.
    pub business_key: Option<String>,
    /// Active, completed or terminated.
    pub state: InstanceState,
    /// Scope instances; [`ROOT_SCOPE`] is the process.
    pub scopes: BTreeMap<ScopeId, ScopeInstance>,
    /// Tokens.
    pub tokens: BTreeMap<TokenId, Token>,
    /// Open subscriptions (messages, signals, timers, conditions).
    pub subscriptions: BTreeMap<LocalId, Subscription>,
    /// The next free local id.
    pub next_id: LocalId,
    /// The calling instance, for instances a call activity started.
    pub parent: Option<ParentLink>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub ended_at: Option<DateTime<Utc>>,
    /// Completed activities that can still be compensated, in order of
    /// completion (absent in documents written before compensation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compensations: Vec<Compensable>,
    /// Its SLA clocks, running and done, in the order they started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slas: Vec<crate::sla::SlaClock>,
}

/// A completed activity that can be compensated: it has a compensation
/// handler, or it is a sub-process with something inside to compensate (or
/// a compensation event sub-process).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compensable {
    /// The scope instance the activity completed in: a compensation throw in
    /// that scope compensates it.
    pub scope: ScopeId,
    /// The activity.
    pub node: NodeIx,
    /// Its place in the order of completion (an instance-local id; larger is later).
    pub order: LocalId,
    /// Its local variables as they were when it completed (input mappings,
    /// a multi-instance instance's, a sub-process's own): its handler sees them.
    pub variables: Variables,
    /// For a sub-process: the scope instance it ran in, where what it
    /// completed inside is recorded (made again, with `variables`, to compensate it).
    pub inner_scope: Option<ScopeId>,
}

/// The id of the process-level scope.
pub const ROOT_SCOPE: ScopeId = ScopeId(0);

/// What kind of scope an instance scope is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ScopeKind {
    /// The process.
    Process,
    /// An embedded sub-process.
    SubProcess,
    /// An event sub-process; interrupting or not.
    EventSubProcess {
        /// Whether it interrupted its parent.
        interrupting: bool,
    },
    /// The body of a multi-instance activity: counts its instances.
    MultiInstanceBody {
        /// How many instances in all.
        total: i64,
        /// How many completed.
        completed: i64,
        /// The next instance's index (sequential).
        next_index: i64,
        /// The collection's items, when iterating a collection.
        items: Option<Vec<Value>>,
    },
    /// One instance of a multi-instance activity.
    MultiInstanceInner,
    /// Variables local to one activity (input/output mappings).
    ActivityLocal,
    /// A compensation under way, for the throw event that owns it: the
    /// completed activities still to compensate, next first. One handler
    /// runs at a time, in a child scope.
    Compensation {
        /// What is still to compensate.
        pending: Vec<Compensable>,
    },
    /// Where one compensation handler (or a sub-process's compensation) runs,
    /// with the compensated activity's variables as they were.
    CompensationHandler,
}

/// A scope instance with its variables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScopeInstance {
    /// The enclosing scope instance.
    pub parent: Option<ScopeId>,
    /// The token (in the parent scope) this scope runs for.
    pub owner_token: Option<TokenId>,
    /// What kind.
    pub kind: ScopeKind,
    /// Its variables.
    pub variables: Variables,
}

/// Where a token is in its life at a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TokenState {
    /// Being moved on within the current step; never at rest after a step.
    Ready,
    /// Waiting for something outside.
    Waiting(Wait),
    /// At a parallel or inclusive join, waiting for the other branches.
    Joining,
    /// Its node runs in a child scope (sub-process, event sub-process, multi-instance body).
    InScope(ScopeId),
    /// Its call activity runs another instance.
    Called(String),
    /// Stopped by a runtime error at its node.
    Incident {
        /// The incident's id.
        id: LocalId,
        /// The error.
        message: String,
        /// Where to pick up on retry.
        retry: Phase,
    },
}

/// The phases of a token at a node, where a retry resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    /// Start listeners, input mappings, multi-instance set-up.
    Enter,
    /// The node's own work (a script).
    Execute,
    /// Output mappings, end listeners, loops.
    Complete,
    /// Choosing and taking outgoing flows.
    Leave,
    /// Arriving at a node (joins count arrivals).
    Arrive,
    /// Applying a call activity's output mappings.
    CallOutput,
}

/// What a waiting token waits for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Wait {
    /// A person to complete a user task.
    UserTask {
        /// The task.
        task: LocalId,
    },
    /// An event (message, signal, timer, condition) through its subscription.
    Event,
    /// One of the events after an event-based gateway.
    EventGateway,
    /// An asynchronous continuation job.
    Async {
        /// The job.
        job: LocalId,
        /// Before or after the node's work.
        after: bool,
    },
    /// An external worker.
    External {
        /// The job.
        job: LocalId,
    },
    /// A connector's call (a job the worker runs).
    Connector {
        /// The job.
        job: LocalId,
    },
}

/// A token: one thread of control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// The scope instance it runs in.
    pub scope: ScopeId,
    /// The node it is at.
    pub node: NodeIx,
    /// What it is doing there.
    pub state: TokenState,
    /// The flow it arrived by (joins count these).
    pub via: Option<FlowIx>,
    /// Activity-local variables (input mappings, a multi-instance instance).
    pub local_scope: Option<ScopeId>,
    /// One instance of a multi-instance activity (not the body).
    pub inner: bool,
    /// The asynchronous-before job has run.
    pub async_done: bool,
    /// Standard-loop iterations done.
    pub loops: u64,
    /// A called instance's variables, kept while its output mappings wait for a retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_output: Option<Variables>,
}

/// What a subscription listens for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SubscriptionKind {
    /// A message by name.
    Message(String),
    /// A signal by name.
    Signal(String),
    /// A timer job due at this time; `remaining` firings for cycles (`None`: no end).
    Timer {
        /// When it is due.
        due: DateTime<Utc>,
        /// Firings left after this one, for cycles.
        remaining: Option<u32>,
        /// The time between firings, for cycles.
        interval: Option<millrace_model::timer::IsoDuration>,
    },
    /// A condition over the variables.
    Conditional,
}

/// Who a subscription delivers to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SubscriptionTarget {
    /// A token waiting at a catch event or receive task.
    Token(TokenId),
    /// A boundary event of the activity this token runs.
    Boundary {
        /// The token at the host activity.
        host: TokenId,
    },
    /// A catch event after an event-based gateway where this token waits.
    EventGateway {
        /// The token at the gateway.
        token: TokenId,
    },
    /// An event sub-process start in this scope instance.
    EventSubProcess {
        /// The scope instance whose event sub-process it starts.
        scope: ScopeId,
    },
}

/// An open subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// What it listens for.
    pub kind: SubscriptionKind,
    /// Who it delivers to.
    pub target: SubscriptionTarget,
    /// The catching node (catch event, receive task, boundary event, start event).
    pub node: NodeIx,
}

impl Instance {
    /// About how many bytes all the instance's variables weigh (see
    /// [`crate::value::Value::weight`]).
    pub fn variable_weight(&self) -> usize {
        self.scopes
            .values()
            .flat_map(|s| s.variables.iter())
            .map(|(k, v)| k.len() + v.weight(usize::MAX))
            .sum()
    }

    /// A fresh local id.
    pub fn fresh_id(&mut self) -> LocalId {
        self.next_id += 1;
        self.next_id
    }

    /// A new token id (from the same counter as every local id).
    pub fn fresh_token(&mut self) -> TokenId {
        TokenId(self.fresh_id())
    }

    /// A new scope instance id (from the same counter as every local id).
    pub fn fresh_scope(&mut self) -> ScopeId {
        ScopeId(self.fresh_id())
    }

    /// The variables of the process scope.
    pub fn root_variables(&self) -> Variables {
        self.scopes
            .get(&ROOT_SCOPE)
            .map(|s| s.variables.clone())
            .unwrap_or_default()
    }

    /// One variable of the process scope.
    pub fn root_variable(&self, name: &str) -> Option<&crate::Value> {
        self.scopes.get(&ROOT_SCOPE)?.variables.get(name)
    }

    /// A process-level text variable, as the inbox shows it of a request
    /// (`status`, `requestId`); `None` when it is absent or not text.
    pub fn root_text(&self, name: &str) -> Option<String> {
        match self.root_variable(name)? {
            crate::Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    /// Whether any token is stopped by an incident.
    pub fn has_incident(&self) -> bool {
        self.tokens
            .values()
            .any(|t| matches!(t.state, TokenState::Incident { .. }))
    }
}
