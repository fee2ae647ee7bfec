//! What goes into a step (commands) and what comes out besides the new
//! instance state (effects): the store and the drivers apply effects after
//! the step, in the same transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::definition::VersionBinding;
use crate::instance::{InstanceState, LocalId, TokenId};
use crate::value::{Value, Variables};

/// A request to move an instance on.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Start the instance at a start event (`None`: the none start event).
    Start {
        /// Variables to start with.
        variables: Variables,
        /// The start event's BPMN id, for message, signal or timer starts.
        start_node: Option<String>,
    },
    /// Complete a user task.
    CompleteTask {
        /// The task.
        task: LocalId,
        /// Variables submitted with it.
        variables: Variables,
    },
    /// Deliver a message, signal, timer or condition to a subscription.
    Trigger {
        /// The subscription.
        subscription: LocalId,
        /// Variables delivered with it.
        variables: Variables,
    },
    /// Run an asynchronous continuation job.
    RunJob {
        /// The job.
        job: LocalId,
    },
    /// An external worker completed its task.
    CompleteExternalTask {
        /// The job.
        job: LocalId,
        /// Variables it sends back.
        variables: Variables,
    },
    /// An external worker failed for good (no retries left): raise an incident.
    FailExternalTask {
        /// The job.
        job: LocalId,
        /// Why.
        message: String,
    },
    /// A connector's call answered: its output parameters are evaluated with
    /// `response` in view and their values set from the task's scope.
    CompleteConnector {
        /// The job.
        job: LocalId,
        /// What the call answered (for `sql`: `rows`, `row`, `count`).
        response: Variables,
    },
    /// A connector's call failed: an incident with the connector's message;
    /// retrying it calls the connector again.
    FailConnector {
        /// The job.
        job: LocalId,
        /// Why.
        message: String,
    },
    /// A called instance ended; its output goes back through the out mappings.
    CalledInstanceCompleted {
        /// The token waiting at the call activity.
        token: TokenId,
        /// The called instance's variables.
        variables: Variables,
    },
    /// A called instance threw an error it did not catch.
    CalledInstanceError {
        /// The token waiting at the call activity.
        token: TokenId,
        /// The error code.
        code: Option<String>,
    },
    /// A called instance threw an escalation it did not catch: the call
    /// activity's escalation boundary events may catch it, and the called
    /// instance goes on either way (an escalation is not an error).
    CalledInstanceEscalation {
        /// The token waiting at the call activity.
        token: TokenId,
        /// The escalation code.
        code: Option<String>,
    },
    /// A call activity could not start its called instance: raise an incident there.
    CallFailed {
        /// The token at the call activity.
        token: TokenId,
        /// Why.
        message: String,
    },
    /// Set variables on the process scope (re-evaluates conditional events).
    SetVariables {
        /// The variables.
        variables: Variables,
    },
    /// Retry the work stopped by an incident.
    RetryIncident {
        /// The incident.
        incident: LocalId,
    },
    /// Cancel the instance (a person ends it).
    Cancel,
    /// Instance modification: a person moves the instance by hand, cancelling
    /// the tokens at some elements and starting tokens before or after others,
    /// in the order given and all in one step. All or nothing: a refused
    /// instruction refuses the whole modification and changes nothing.
    Modify {
        /// What to do, in order.
        instructions: Vec<Modification>,
    },
}

/// One instruction of [`Command::Modify`], naming an element by its BPMN id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Modification {
    /// Cancel every token at the element, and what runs inside it (a
    /// sub-process's tokens, a called instance, a multi-instance's instances).
    Cancel {
        /// The element.
        element: String,
    },
    /// Start a token that enters the element, as if a sequence flow reached it.
    StartBefore {
        /// The element.
        element: String,
    },
    /// Start a token that leaves the element: it takes the element's outgoing flows.
    StartAfter {
        /// The element.
        element: String,
    },
}

impl Modification {
    /// The element it names.
    pub fn element(&self) -> &str {
        match self {
            Modification::Cancel { element }
            | Modification::StartBefore { element }
            | Modification::StartAfter { element } => element,
        }
    }
}

/// Why a command is refused. A refused command changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// The instance has ended.
    #[error("the instance has ended ({0})")]
    Ended(&'static str),
    /// No such task, job, subscription, token or incident in this instance.
    #[error("{0} {1} is not open in this instance")]
    NotFound(&'static str, LocalId),
    /// No such start event.
    #[error("the process has no start event {0:?}")]
    NoStartEvent(String),
    /// Already started.
    #[error("the instance is already started")]
    AlreadyStarted,
    /// The command's variables pass a limit (depth, size, NUL characters).
    #[error("variable {0}")]
    Limit(#[from] crate::value::LimitError),
    /// The instance's variables would weigh more than an instance may hold.
    #[error("the instance's variables would weigh {0} bytes; an instance holds at most {max} MiB", max = crate::value::MAX_INSTANCE_BYTES / (1024 * 1024))]
    InstanceFull(usize),
    /// An instance modification that cannot be carried out; says which
    /// instruction and why.
    #[error("the modification is refused: {0}")]
    Modification(String),
}

impl Command {
    /// The variables the command brings in from outside the engine, if any:
    /// what [`crate::value::check_variables`] bounds.
    pub fn variables(&self) -> Option<&Variables> {
        match self {
            Command::Start { variables, .. }
            | Command::CompleteTask { variables, .. }
            | Command::Trigger { variables, .. }
            | Command::CompleteExternalTask { variables, .. }
            | Command::SetVariables { variables } => Some(variables),
            // A called instance's variables were bounded as they were written
            // there, and only its output mappings come back.
            _ => None,
        }
    }
}

/// How a job runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum JobKind {
    /// A timer: delivers `Command::Trigger` for its subscription.
    Timer,
    /// An asynchronous continuation: `Command::RunJob`.
    Async,
    /// An external task for workers of this topic.
    External {
        /// The topic.
        topic: String,
    },
    /// A connector's call, made by the worker outside the step; answered by
    /// `Command::CompleteConnector` or `Command::FailConnector`.
    Connector {
        /// `camunda:connectorId` (`sql`).
        connector: String,
        /// The connector's input parameters, evaluated when the task was
        /// entered (for `document`, also [`DOCUMENT_VARIABLES`]).
        input: Variables,
    },
    /// An SLA clock's due time: `Command::RunJob` breaches it if it is
    /// still running then.
    SlaDue,
}

/// The key of a `document` connector call's input that holds every variable
/// in view when the task was entered (what its template is filled from).
pub const DOCUMENT_VARIABLES: &str = "variablesInView";

/// A user task as created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    /// Instance-local id.
    pub id: LocalId,
    /// The user task's BPMN id.
    pub node_id: String,
    /// Its name.
    pub name: Option<String>,
    /// Assignee.
    pub assignee: Option<String>,
    /// Candidate groups.
    pub candidate_groups: Vec<String>,
    /// Candidate users.
    pub candidate_users: Vec<String>,
    /// Due date.
    pub due: Option<DateTime<Utc>>,
    /// Priority (default 50).
    pub priority: i64,
    /// Form reference.
    pub form: Option<String>,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum HistoryEvent {
    /// The instance started.
    InstanceStarted,
    /// The instance ended.
    InstanceEnded {
        /// How.
        state: InstanceState,
    },
    /// A node was entered.
    ActivityStarted {
        /// BPMN id.
        node: String,
    },
    /// A node completed.
    ActivityCompleted {
        /// BPMN id.
        node: String,
    },
    /// A node was cancelled or interrupted.
    ActivityCancelled {
        /// BPMN id.
        node: String,
    },
    /// A token took a sequence flow (what a version's heatmap counts).
    FlowTaken {
        /// The sequence flow's BPMN id.
        flow: String,
    },
    /// A variable was set.
    VariableSet {
        /// Name.
        name: String,
        /// New value, as JSON.
        value: serde_json::Value,
    },
    /// An incident was raised.
    IncidentRaised {
        /// BPMN id of the node.
        node: String,
        /// Why.
        message: String,
    },
    /// An incident was resolved by a retry.
    IncidentResolved {
        /// BPMN id of the node.
        node: String,
    },
    /// The instance moved to another version of its process.
    InstanceMigrated {
        /// The version it ran on.
        from_version: i64,
        /// The version it runs on now.
        to_version: i64,
    },
    /// An SLA clock started.
    SlaStarted {
        /// The SLA's name.
        name: String,
        /// The activity that declares it (`None`: the process).
        element: Option<String>,
        /// When it falls due.
        due: DateTime<Utc>,
    },
    /// An SLA was met.
    SlaMet {
        /// The SLA's name.
        name: String,
        /// The activity that declares it.
        element: Option<String>,
        /// How long it took, in hours with two decimals.
        hours: String,
        /// Met after it fell due.
        late: bool,
    },
    /// An SLA fell due unmet.
    SlaBreached {
        /// The SLA's name.
        name: String,
        /// The activity that declares it.
        element: Option<String>,
    },
    /// An SLA clock could not start: its target expression failed or gave
    /// something that is not a length of time.
    SlaNotStarted {
        /// The SLA's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// What another instance sent (a message, a signal, its variables on
    /// completion) would pass a limit of this one: it was not delivered.
    DeliveryRefused {
        /// Why.
        reason: String,
    },
}

/// Something to carry out after a step.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A user task was created.
    TaskCreated(TaskInfo),
    /// A user task ended; `completed` false when it was cancelled.
    TaskEnded {
        /// The task.
        task: LocalId,
        /// Completed (true) or cancelled (false).
        completed: bool,
    },
    /// A job to run at `due`.
    JobScheduled {
        /// The job (for timers: the subscription id).
        job: LocalId,
        /// What it does.
        kind: JobKind,
        /// When.
        due: DateTime<Utc>,
    },
    /// A job no longer to run.
    JobCancelled {
        /// The job.
        job: LocalId,
    },
    /// A message or signal subscription opened (timers are jobs).
    SubscriptionOpened {
        /// The subscription.
        subscription: LocalId,
        /// `message` or `signal`.
        event: &'static str,
        /// The message or signal name.
        name: String,
    },
    /// A subscription closed.
    SubscriptionClosed {
        /// The subscription.
        subscription: LocalId,
    },
    /// A message was sent (throw event, end event, send task) and nothing in
    /// the sending instance waited for it (a process's message to itself is
    /// delivered within the step): for the oldest subscriber elsewhere.
    MessageSent {
        /// Name.
        name: String,
        /// The sender's process variables.
        variables: Variables,
        /// The sender's business key.
        business_key: Option<String>,
    },
    /// A mail to send, written to the outbox in the step's transaction.
    MailQueued {
        /// Unique per mail: the idempotency key the sender passes on.
        key: String,
        /// Recipients.
        to: Vec<String>,
        /// Subject.
        subject: String,
        /// Plain-text body.
        body: String,
        /// The ids of documents of the same instance, attached as files.
        attachments: Vec<String>,
    },
    /// A signal was broadcast. The sending instance's own subscribers caught
    /// it within the step; this is for every other instance's, and for
    /// processes with a signal start event.
    SignalSent {
        /// Name.
        name: String,
        /// The sender's process variables.
        variables: Variables,
    },
    /// A call activity calls another process.
    CallStarted {
        /// The token waiting at the call activity.
        token: TokenId,
        /// The id the called instance must have.
        instance: String,
        /// The called process key.
        key: String,
        /// Which version.
        binding: VersionBinding,
        /// Variables passed in.
        variables: Variables,
        /// The business key passed in.
        business_key: Option<String>,
    },
    /// A called instance is to be cancelled (its call activity was interrupted).
    CallCancelled {
        /// The called instance.
        instance: String,
    },
    /// The instance threw an error no one in it caught (goes to the caller, if any).
    ErrorEscaped {
        /// The error code.
        code: Option<String>,
    },
    /// The instance threw an escalation no one in it caught (goes to the caller, if any).
    EscalationEscaped {
        /// The escalation code.
        code: Option<String>,
    },
    /// An incident was raised.
    IncidentRaised {
        /// The incident.
        incident: LocalId,
        /// BPMN id of the node.
        node: String,
        /// Why.
        message: String,
    },
    /// An incident was resolved.
    IncidentResolved {
        /// The incident.
        incident: LocalId,
    },
    /// A migration moved a user task to another element of the new version:
    /// the task stays open (its claim, comments and form values with it) and
    /// now shows the new element's name and form.
    TaskMoved {
        /// The task.
        task: LocalId,
        /// The BPMN id of the element it now belongs to.
        node_id: String,
        /// Its name there.
        name: Option<String>,
        /// Its form there.
        form: Option<String>,
    },
    /// A migration moved an open incident to another element of the new version.
    IncidentMoved {
        /// The incident.
        incident: LocalId,
        /// The BPMN id of the element it now stands at.
        node: String,
    },
    /// An SLA clock started, was met, breached or stopped: its whole state now.
    SlaChanged(crate::sla::SlaClock),
    /// The instance ended.
    InstanceEnded {
        /// How.
        state: InstanceState,
        /// Its final process variables.
        variables: Variables,
    },
    /// An audit-trail entry.
    History(HistoryEvent),
}

impl Effect {
    /// A history entry for a variable.
    pub fn variable_set(name: &str, value: &Value) -> Effect {
        Effect::History(HistoryEvent::VariableSet {
            name: name.to_string(),
            value: value.to_json(),
        })
    }
}
