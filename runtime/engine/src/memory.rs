//! The whole engine in memory: deployed definitions, instances, and the
//! tasks, jobs, subscriptions, incidents and history their steps produce,
//! kept in maps instead of rows. It drives [`Cascade`] exactly as the store's
//! unit does, so a scenario run here and one run on SQLite or PostgreSQL go
//! through the same BPMN decisions; what differs is only where rows live.
//! No clock: every call takes its time.
//!
//! Used for the scenario catalogue under `cargo test` (milliseconds, no
//! database) and by the in-memory benchmark.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::cascade::{correlates, Cascade, Next, RunCommand};
use crate::definition::ProcessDefinition;
use crate::effect::{Command, CommandError, Effect, HistoryEvent, JobKind, TaskInfo};
use crate::instance::{Instance, LocalId};
use crate::value::Variables;

/// Why an in-memory call was refused. A refused call changes nothing the
/// caller can rely on (the in-memory engine has no transactions: it is for
/// tests and benchmarks, where a refusal ends the run).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MemoryError {
    /// No such instance, task, process or start event.
    #[error("no {0} {1:?}")]
    NotFound(&'static str, String),
    /// The engine refused a command.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The engine refused a migration.
    #[error(transparent)]
    Migration(#[from] crate::MigrationRefused),
}

/// A job waiting to run.
#[derive(Debug, Clone, PartialEq)]
struct Job {
    /// When it is due.
    due: DateTime<Utc>,
    /// What it does.
    what: JobWork,
}

/// What a job does when it runs.
#[derive(Debug, Clone, PartialEq)]
enum JobWork {
    /// A timer or asynchronous continuation of an instance.
    Instance {
        /// The instance.
        instance: String,
        /// The job's local id (a timer's is its subscription's).
        local: LocalId,
        /// Timer, async or external.
        kind: JobKind,
    },
    /// A timer start event of the latest version of `key`.
    Start {
        /// The process key.
        key: String,
        /// The timer start event's BPMN id.
        node: String,
        /// Firings left after this one (`None`: no end).
        remaining: Option<i64>,
    },
}

/// An open task.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenTask {
    /// `instance:local`, as the store names it.
    pub id: String,
    /// Its instance.
    pub instance: String,
    /// The task as created.
    pub info: TaskInfo,
}

/// An open incident.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenIncident {
    /// Its instance.
    pub instance: String,
    /// The node's BPMN id.
    pub node: String,
    /// Why.
    pub message: String,
}

/// The engine in memory. See the module documentation.
#[derive(Debug, Default)]
pub struct Engine {
    /// Versions of each key, oldest first.
    definitions: HashMap<String, Vec<Arc<ProcessDefinition>>>,
    instances: BTreeMap<String, Instance>,
    started: u64,
    /// Everything below is ordered by `seq`, the order it was written in.
    seq: u64,
    tasks: BTreeMap<u64, OpenTask>,
    task_seq: HashMap<String, u64>,
    jobs: BTreeMap<u64, Job>,
    job_seq: HashMap<(String, LocalId), u64>,
    subscriptions: BTreeMap<u64, (String, LocalId, &'static str, String)>,
    subscription_seq: HashMap<(String, LocalId), u64>,
    incidents: BTreeMap<u64, OpenIncident>,
    incident_seq: HashMap<(String, LocalId), u64>,
    history: Vec<(String, HistoryEvent)>,
}

impl Engine {
    /// An empty engine.
    pub fn new() -> Self {
        Self::default()
    }

    /// Deploys `def` as the next version of its key (its version number is
    /// set here) and schedules its timer start events, replacing those of
    /// the key's earlier versions.
    pub fn deploy(&mut self, mut def: ProcessDefinition, now: DateTime<Utc>) -> i64 {
        let versions = self.definitions.entry(def.key.clone()).or_default();
        def.version = versions.len() as i64 + 1;
        let version = def.version;
        let starts = def.timer_starts(now);
        let key = def.key.clone();
        versions.push(Arc::new(def));
        self.jobs
            .retain(|_, j| !matches!(&j.what, JobWork::Start { key: k, .. } if *k == key));
        for start in starts {
            self.add_job(Job {
                due: start.due,
                what: JobWork::Start {
                    key: key.clone(),
                    node: start.node,
                    remaining: start.remaining,
                },
            });
        }
        version
    }

    /// A version of a key.
    pub fn definition(&self, key: &str, version: i64) -> Option<&Arc<ProcessDefinition>> {
        self.definitions
            .get(key)?
            .iter()
            .find(|d| d.version == version)
    }

    /// The latest version of a key.
    pub fn latest(&self, key: &str) -> Option<&Arc<ProcessDefinition>> {
        self.definitions.get(key)?.last()
    }

    /// An instance.
    pub fn instance(&self, id: &str) -> Option<&Instance> {
        self.instances.get(id)
    }

    /// `root` and every instance it called, directly or not, callers first.
    pub fn tree(&self, root: &str) -> Vec<String> {
        let mut out = vec![root.to_string()];
        let mut i = 0;
        while i < out.len() {
            let mut children: Vec<&Instance> = self
                .instances
                .values()
                .filter(|c| c.parent.as_ref().is_some_and(|p| p.instance == out[i]))
                .collect();
            children.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
            out.extend(children.into_iter().map(|c| c.id.clone()));
            i += 1;
        }
        out
    }

    /// The open tasks of an instance, oldest first.
    pub fn tasks_of<'a>(&'a self, instance: &'a str) -> impl Iterator<Item = &'a OpenTask> + 'a {
        self.tasks.values().filter(move |t| t.instance == instance)
    }

    /// The open incidents of an instance, oldest first.
    pub fn incidents_of<'a>(
        &'a self,
        instance: &'a str,
    ) -> impl Iterator<Item = &'a OpenIncident> + 'a {
        self.incidents
            .values()
            .filter(move |i| i.instance == instance)
    }

    /// Every history event of every instance, in the order written.
    pub fn history(&self) -> &[(String, HistoryEvent)] {
        &self.history
    }

    /// Starts an instance of the latest version of `key` (at `start_node`,
    /// or its none start event); returns its id.
    pub fn start(
        &mut self,
        key: &str,
        variables: Variables,
        business_key: Option<String>,
        start_node: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<String, MemoryError> {
        let mut cascade = Cascade::new(now);
        let id = self.start_in(&mut cascade, key, variables, business_key, start_node)?;
        self.drive(cascade)?;
        Ok(id)
    }

    /// Starts an instance of `key` through its message start event for `message`.
    pub fn start_by_message(
        &mut self,
        key: &str,
        message: &str,
        variables: Variables,
        business_key: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<String, MemoryError> {
        let node = self
            .latest(key)
            .ok_or_else(|| MemoryError::NotFound("process", key.to_string()))?
            .message_start(message)
            .ok_or_else(|| MemoryError::NotFound("message start event", message.to_string()))?
            .to_string();
        self.start(key, variables, business_key, Some(node), now)
    }

    /// Runs a command on an instance, and everything it cascades into.
    pub fn command(
        &mut self,
        instance: &str,
        command: Command,
        now: DateTime<Utc>,
    ) -> Result<(), MemoryError> {
        let mut cascade = Cascade::new(now);
        cascade.push(instance.to_string(), command);
        self.drive(cascade)
    }

    /// Moves an instance to version `to_version` of its process (see
    /// [`crate::migrate`]); on `Err` nothing changed.
    pub fn migrate(
        &mut self,
        instance: &str,
        to_version: i64,
        mapping: &crate::ElementMapping,
        now: DateTime<Utc>,
    ) -> Result<(), MemoryError> {
        let inst = self
            .instances
            .get(instance)
            .ok_or_else(|| MemoryError::NotFound("instance", instance.to_string()))?;
        let version = |v: i64| {
            self.definition(&inst.key, v).cloned().ok_or_else(|| {
                MemoryError::NotFound("process definition", format!("{} v{v}", inst.key))
            })
        };
        let (from, to) = (version(inst.version)?, version(to_version)?);
        let mut moved = inst.clone();
        let effects = crate::migrate(&from, &to, &mut moved, mapping, now)?;
        self.instances.insert(instance.to_string(), moved);
        self.write(instance, effects);
        Ok(())
    }

    /// Completes the open task `id` (`instance:local`).
    pub fn complete_task(
        &mut self,
        id: &str,
        variables: Variables,
        now: DateTime<Utc>,
    ) -> Result<(), MemoryError> {
        let task = self
            .task_seq
            .get(id)
            .and_then(|s| self.tasks.get(s))
            .ok_or_else(|| MemoryError::NotFound("task", id.to_string()))?;
        let (instance, local) = (task.instance.clone(), task.info.id);
        self.command(
            &instance,
            Command::CompleteTask {
                task: local,
                variables,
            },
            now,
        )
    }

    /// Delivers a message to the oldest open subscription named `name` whose
    /// instance is one of `instances` (when given) and correlates (business
    /// key, `keys`); failing that, when no instances were named and no keys
    /// given, a message start event of that name starts an instance. Returns
    /// the instance that received it.
    pub fn correlate(
        &mut self,
        name: &str,
        instances: Option<&[String]>,
        business_key: Option<&str>,
        keys: &Variables,
        variables: Variables,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, MemoryError> {
        let found = self
            .subscribers("message", name)
            .into_iter()
            .find(|(instance, _)| {
                instances.is_none_or(|ids| ids.contains(instance))
                    && self
                        .instances
                        .get(instance)
                        .is_some_and(|i| correlates(i, business_key, keys))
            });
        if let Some((instance, subscription)) = found {
            self.command(
                &instance,
                Command::Trigger {
                    subscription,
                    variables,
                },
                now,
            )?;
            return Ok(Some(instance));
        }
        if keys.is_empty() && instances.is_none() {
            if let Some((key, node)) = self.message_start(name) {
                let id = self.start(
                    &key,
                    variables,
                    business_key.map(str::to_string),
                    Some(node),
                    now,
                )?;
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Broadcasts a signal to the open subscriptions named `name` (of
    /// `instances`, or of all); a broadcast to all also starts the latest
    /// versions with a signal start event of that name. Returns how many
    /// caught it.
    pub fn signal(
        &mut self,
        name: &str,
        instances: Option<&[String]>,
        variables: Variables,
        now: DateTime<Utc>,
    ) -> Result<usize, MemoryError> {
        let mut delivered = 0;
        for (instance, subscription) in self.subscribers("signal", name) {
            if instances.is_some_and(|ids| !ids.contains(&instance)) {
                continue;
            }
            // An earlier delivery in this broadcast may have closed this one.
            if !self
                .subscription_seq
                .contains_key(&(instance.clone(), subscription))
            {
                continue;
            }
            self.command(
                &instance,
                Command::Trigger {
                    subscription,
                    variables: variables.clone(),
                },
                now,
            )?;
            delivered += 1;
        }
        if instances.is_none() {
            for (key, node) in self.signal_starts(name) {
                self.start(&key, variables.clone(), None, Some(node), now)?;
                delivered += 1;
            }
        }
        Ok(delivered)
    }

    /// When the earliest timer or asynchronous job is due (external tasks
    /// wait for a worker, not a time).
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.runnable().map(|(_, j)| j.due).min()
    }

    /// Runs the earliest job due by `now`, at `now`; returns whether there was one.
    pub fn run_due_job(&mut self, now: DateTime<Utc>) -> Result<bool, MemoryError> {
        let Some(seq) = self
            .runnable()
            .filter(|(_, j)| j.due <= now)
            .min_by_key(|(seq, j)| (j.due, **seq))
            .map(|(seq, _)| *seq)
        else {
            return Ok(false);
        };
        let Some(job) = self.jobs.remove(&seq) else {
            return Ok(false);
        };
        match job.what {
            JobWork::Instance {
                instance,
                local,
                kind,
            } => {
                self.job_seq.remove(&(instance.clone(), local));
                let command = match kind {
                    JobKind::Timer => Command::Trigger {
                        subscription: local,
                        variables: Variables::new(),
                    },
                    // Connectors reach a database and the outside world,
                    // which the in-memory engine does not have.
                    JobKind::Connector { connector, .. } => Command::FailConnector {
                        job: local,
                        message: format!(
                            "the {connector} connector needs a store: run this scenario on SQLite or PostgreSQL"
                        ),
                    },
                    _ => Command::RunJob { job: local },
                };
                self.command(&instance, command, now)?;
            }
            JobWork::Start {
                key,
                node,
                remaining,
            } => {
                self.start(&key, Variables::new(), None, Some(node.clone()), now)?;
                let next = match remaining {
                    Some(0) => None,
                    _ => self
                        .latest(&key)
                        .and_then(|d| d.next_timer_start(&node, job.due)),
                };
                if let Some(due) = next {
                    self.add_job(Job {
                        due,
                        what: JobWork::Start {
                            key,
                            node,
                            remaining: remaining.map(|r| r - 1),
                        },
                    });
                }
            }
        }
        Ok(true)
    }

    fn runnable(&self) -> impl Iterator<Item = (&u64, &Job)> {
        self.jobs.iter().filter(|(_, j)| {
            !matches!(
                j.what,
                JobWork::Instance {
                    kind: JobKind::External { .. },
                    ..
                }
            )
        })
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    fn add_job(&mut self, job: Job) {
        let seq = self.next_seq();
        if let JobWork::Instance {
            instance, local, ..
        } = &job.what
        {
            self.job_seq.insert((instance.clone(), *local), seq);
        }
        self.jobs.insert(seq, job);
    }

    /// Open subscriptions of one event and name, oldest first.
    fn subscribers(&self, event: &str, name: &str) -> Vec<(String, LocalId)> {
        self.subscriptions
            .values()
            .filter(|(_, _, e, n)| *e == event && n == name)
            .map(|(i, l, _, _)| (i.clone(), *l))
            .collect()
    }

    fn latest_all(&self) -> Vec<&Arc<ProcessDefinition>> {
        let mut keys: Vec<&String> = self.definitions.keys().collect();
        keys.sort();
        keys.into_iter().filter_map(|k| self.latest(k)).collect()
    }

    fn message_start(&self, name: &str) -> Option<(String, String)> {
        crate::cascade::message_start_among(self.latest_all().into_iter().map(|d| &**d), name)
    }

    fn signal_starts(&self, name: &str) -> Vec<(String, String)> {
        crate::cascade::signal_starts_among(self.latest_all().into_iter().map(|d| &**d), name)
    }

    fn start_in(
        &mut self,
        cascade: &mut Cascade,
        key: &str,
        variables: Variables,
        business_key: Option<String>,
        start_node: Option<String>,
    ) -> Result<String, MemoryError> {
        let def = self
            .latest(key)
            .cloned()
            .ok_or_else(|| MemoryError::NotFound("process", key.to_string()))?;
        self.started += 1;
        // Zero-padded, so id order is start order, as the store's UUIDv7 are.
        let id = format!("{:012}", self.started);
        let (instance, effects) =
            cascade.start(&def, id.clone(), business_key, start_node, variables)?;
        self.instances.insert(id.clone(), instance);
        self.write(&id, effects);
        Ok(id)
    }

    /// Does what `cascade` asks until it is over (see the store's unit, which
    /// does the same over rows).
    fn drive(&mut self, mut cascade: Cascade) -> Result<(), MemoryError> {
        while let Some(next) = cascade.what_next() {
            match next {
                Next::Run(run) => self.run(&mut cascade, run)?,
                Next::Call(call) => {
                    let def = match call.version {
                        None => self.latest(&call.key),
                        Some(v) => self.definition(&call.key, v),
                    }
                    .cloned();
                    if let Some((child, effects)) = cascade.call(call, def.as_deref()) {
                        let id = child.id.clone();
                        self.instances.insert(id.clone(), child);
                        self.write(&id, effects);
                    }
                }
                Next::FindMessageSubscriber { name } => {
                    let first = self.subscribers("message", &name).into_iter().next();
                    cascade.message_subscriber(first);
                }
                Next::FindSignalSubscribers { name } => {
                    let subscribers = self.subscribers("signal", &name);
                    let starts = self.signal_starts(&name);
                    cascade.signal_subscribers(subscribers, starts);
                }
                Next::StartBySignal(start) => {
                    self.start_in(
                        &mut cascade,
                        &start.key,
                        start.variables,
                        None,
                        Some(start.node),
                    )?;
                }
            }
        }
        Ok(())
    }

    fn run(&mut self, cascade: &mut Cascade, run: RunCommand) -> Result<(), MemoryError> {
        let id = run.instance.clone();
        let instance = self
            .instances
            .get_mut(&id)
            .ok_or_else(|| MemoryError::NotFound("instance", id.clone()))?;
        let def = self
            .definitions
            .get(&instance.key)
            .and_then(|vs| vs.iter().find(|d| d.version == instance.version))
            .cloned()
            .ok_or_else(|| {
                MemoryError::NotFound(
                    "process definition",
                    format!("{} v{}", instance.key, instance.version),
                )
            })?;
        if let Some(effects) = cascade.run(&def, instance, run)? {
            self.write(&id, effects);
        }
        Ok(())
    }

    /// What the store writes as rows, kept in maps.
    fn write(&mut self, instance: &str, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::History(event) => self.history.push((instance.to_string(), event)),
                Effect::TaskCreated(info) => {
                    let id = format!("{instance}:{}", info.id);
                    let seq = self.next_seq();
                    self.task_seq.insert(id.clone(), seq);
                    self.tasks.insert(
                        seq,
                        OpenTask {
                            id,
                            instance: instance.to_string(),
                            info,
                        },
                    );
                }
                Effect::TaskEnded { task, .. } => {
                    if let Some(seq) = self.task_seq.remove(&format!("{instance}:{task}")) {
                        self.tasks.remove(&seq);
                    }
                }
                Effect::JobScheduled { job, kind, due } => self.add_job(Job {
                    due,
                    what: JobWork::Instance {
                        instance: instance.to_string(),
                        local: job,
                        kind,
                    },
                }),
                Effect::JobCancelled { job } => {
                    if let Some(seq) = self.job_seq.remove(&(instance.to_string(), job)) {
                        self.jobs.remove(&seq);
                    }
                }
                Effect::SubscriptionOpened {
                    subscription,
                    event,
                    name,
                } => {
                    let seq = self.next_seq();
                    self.subscription_seq
                        .insert((instance.to_string(), subscription), seq);
                    self.subscriptions
                        .insert(seq, (instance.to_string(), subscription, event, name));
                }
                Effect::SubscriptionClosed { subscription } => {
                    if let Some(seq) = self
                        .subscription_seq
                        .remove(&(instance.to_string(), subscription))
                    {
                        self.subscriptions.remove(&seq);
                    }
                }
                Effect::IncidentRaised {
                    incident,
                    node,
                    message,
                } => {
                    let seq = self.next_seq();
                    self.incident_seq
                        .insert((instance.to_string(), incident), seq);
                    self.incidents.insert(
                        seq,
                        OpenIncident {
                            instance: instance.to_string(),
                            node,
                            message,
                        },
                    );
                }
                Effect::IncidentResolved { incident } => {
                    if let Some(seq) = self.incident_seq.remove(&(instance.to_string(), incident)) {
                        self.incidents.remove(&seq);
                    }
                }
                Effect::TaskMoved {
                    task,
                    node_id,
                    name,
                    form,
                } => {
                    if let Some(seq) = self.task_seq.get(&format!("{instance}:{task}")) {
                        if let Some(open) = self.tasks.get_mut(seq) {
                            open.info.node_id = node_id;
                            open.info.name = name;
                            open.info.form = form;
                        }
                    }
                }
                Effect::IncidentMoved { incident, node } => {
                    if let Some(seq) = self.incident_seq.get(&(instance.to_string(), incident)) {
                        if let Some(open) = self.incidents.get_mut(seq) {
                            open.node = node;
                        }
                    }
                }
                // Mail is the store's outbox; scenarios check no mail.
                Effect::MailQueued { .. } => {}
                // The instance holds its clocks; the store copies them for queries.
                Effect::SlaChanged(_) => {}
                // What reaches other instances was followed by the cascade.
                Effect::MessageSent { .. }
                | Effect::SignalSent { .. }
                | Effect::CallStarted { .. }
                | Effect::CallCancelled { .. }
                | Effect::ErrorEscaped { .. }
                | Effect::EscalationEscaped { .. }
                | Effect::InstanceEnded { .. } => {}
            }
        }
    }
}
