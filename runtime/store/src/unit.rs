//! A unit of work: one database transaction in which commands run against
//! instances, their cascades are followed (called instances, messages and
//! signals between instances: what [`Cascade`] decides, this module loads,
//! locks and finds for it), and every effect is written. Commit writes the
//! changed instances with a revision check; dropping the unit rolls back.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use millrace_engine::cascade::{correlates, RunCommand};
use millrace_engine::instance::LocalId;
use millrace_engine::{
    Cascade, Command, Effect, HistoryEvent, Instance, JobKind, Next, ProcessDefinition, Variables,
};
use sqlx::{Any, Row, Transaction};

use crate::{timestamp, Result, Store, StoreError};

#[derive(Clone)]
struct Loaded {
    instance: Instance,
    /// `None` for an instance created in this unit.
    rev: Option<i64>,
    dirty: bool,
    /// Its rows in the variable index as loaded, so a save writes only what changed.
    indexed: std::collections::BTreeMap<String, String>,
}

/// One transaction's worth of commands. See the module doc.
pub struct Unit<'s> {
    store: &'s Store,
    pub(crate) tx: Transaction<'static, Any>,
    now: DateTime<Utc>,
    actor: Option<String>,
    loaded: HashMap<String, Loaded>,
    /// History rows, written in multi-row inserts at commit (in order).
    history: Vec<HistoryRowOut>,
    /// In a batch: each instance as it was before the current request touched it.
    journal: Option<Vec<(String, Option<Loaded>)>>,
    /// In a batch: the history length when the current request began.
    history_mark: usize,
    /// The processes a message or signal sent into this unit may reach
    /// (`None`: all); see [`Unit::restrict_to`].
    reach: Option<crate::GrantedKeys>,
    /// Whether a message or signal passed over an instance or start event
    /// outside [`Unit::restrict_to`]'s processes.
    withheld: bool,
    /// Whether the actor is a person or account who may read what it starts
    /// (not a node's job worker, whose name is no user's).
    pub(crate) actor_is_person: bool,
    /// Whether this unit added or ended a task (listeners are told at commit).
    tasks_touched: bool,
    /// Rows for `instance_people` (instance, `user`/`group`, name), written
    /// in multi-row inserts at commit.
    people: Vec<(String, &'static str, String)>,
    /// In a batch: the people length when the current request began.
    people_mark: usize,
}

/// Rows per multi-row `instance_variables` insert (3 parameters each).
const VARIABLE_CHUNK: usize = 300;

/// Rows per multi-row `instance_people` insert (3 parameters each).
const PEOPLE_CHUNK: usize = 300;

/// The process-level variable that is a request's status in the inbox
/// (`Pending`, `Application Fee Generated`, …).
pub const REQUEST_STATUS: &str = "status";

/// The process-level variable that is a request's number in the inbox when
/// the instance has no business key (`DIS-2026-001234`).
pub const REQUEST_ID: &str = "requestId";

/// A history row waiting to be written.
struct HistoryRowOut {
    instance: String,
    actor: Option<String>,
    event: &'static str,
    node: Option<String>,
    detail: Option<String>,
}

/// Rows per multi-row history insert (6 parameters each, far below SQLite's limit).
const HISTORY_CHUNK: usize = 200;

/// `instance:local` — the global id of a task, job, subscription or incident.
pub fn global_id(instance: &str, local: LocalId) -> String {
    format!("{instance}:{local}")
}

/// Splits a global id into instance id and local id.
pub fn split_id(id: &str) -> Option<(&str, LocalId)> {
    let (instance, local) = id.rsplit_once(':')?;
    Some((instance, local.parse().ok()?))
}

impl<'s> Unit<'s> {
    pub(crate) async fn begin(
        store: &'s Store,
        now: DateTime<Utc>,
        actor: Option<&str>,
    ) -> Result<Unit<'s>> {
        let tx = store.write_tx().await?;
        Ok(Unit {
            store,
            tx,
            now,
            actor: actor.map(str::to_string),
            loaded: HashMap::new(),
            history: Vec::new(),
            journal: None,
            history_mark: 0,
            reach: None,
            withheld: false,
            actor_is_person: true,
            tasks_touched: false,
            people: Vec::new(),
            people_mark: 0,
        })
    }

    /// The unit's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Lets the messages and signals sent with [`Unit::correlate`] and
    /// [`Unit::signal`] reach (and start) instances of these processes only:
    /// what the sender may act on. What the steps they trigger throw in turn
    /// is the processes' own doing and goes wherever BPMN sends it.
    pub fn restrict_to(&mut self, processes: crate::GrantedKeys) {
        self.reach = (!processes.every).then_some(processes);
    }

    /// Whether a message or signal sent into this unit passed over an
    /// instance or start event outside [`Unit::restrict_to`]'s processes.
    pub fn withheld(&self) -> bool {
        self.withheld
    }

    /// Whether a message or signal sent from outside may reach an instance or
    /// start event of `key`; notes it when not.
    fn reaches(&mut self, key: &str) -> bool {
        let ok = self.reach.as_ref().is_none_or(|r| r.covers(key));
        self.withheld |= !ok;
        ok
    }

    /// Whether the latest version of `key` is retired: then no message,
    /// signal or timer start event starts it (the API refuses a start too).
    pub(crate) async fn latest_is_retired(&mut self, key: &str) -> Result<bool> {
        let retired: Option<i64> = sqlx::query_scalar(
            "SELECT retired FROM definitions WHERE key = $1 ORDER BY version DESC LIMIT 1",
        )
        .bind(key)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(retired.unwrap_or(0) != 0)
    }

    /// An instance's process key, from memory or its row (not locked).
    async fn key_of(&mut self, id: &str) -> Result<String> {
        if let Some(l) = self.loaded.get(id) {
            return Ok(l.instance.key.clone());
        }
        sqlx::query_scalar("SELECT key FROM instances WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or_else(|| StoreError::NotFound("instance", id.to_string()))
    }

    /// Starts an instance of the latest version of `key`.
    pub async fn start(
        &mut self,
        key: &str,
        variables: Variables,
        business_key: Option<String>,
        start_node: Option<String>,
    ) -> Result<String> {
        let mut cascade = Cascade::new(self.now);
        let id = self
            .start_in(&mut cascade, key, variables, business_key, start_node)
            .await?;
        self.drive(cascade).await?;
        Ok(id)
    }

    /// Starts an instance of the latest version of `key` within `cascade`.
    async fn start_in(
        &mut self,
        cascade: &mut Cascade,
        key: &str,
        variables: Variables,
        business_key: Option<String>,
        start_node: Option<String>,
    ) -> Result<String> {
        let def = Self::latest(self.store, key).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let mut variables = variables;
        // camunda:initiator: the person who starts it at its none start event.
        if let (None, Some(name), Some(actor)) = (&start_node, &def.initiator, &self.actor) {
            if self.actor_is_person {
                variables.insert(name.clone(), millrace_engine::Value::String(actor.clone()));
            }
        }
        let (instance, effects) =
            cascade.start(&def, id.clone(), business_key, start_node, variables)?;
        self.adopt(instance);
        if let Some(actor) = self.actor.clone().filter(|_| self.actor_is_person) {
            self.concerns(&id, "user", &actor);
        }
        self.apply(&id, effects).await?;
        Ok(id)
    }

    /// The latest version of `key`, looking for versions other nodes deployed
    /// when this one has none.
    async fn latest(store: &Store, key: &str) -> Result<Arc<ProcessDefinition>> {
        if store.latest_definition(key).is_none() {
            store.sync_definitions().await?;
        }
        store
            .latest_definition(key)
            .ok_or_else(|| StoreError::NotFound("process definition", key.to_string()))
    }

    /// Starts an instance through its message start event named `message`.
    pub async fn start_by_message(
        &mut self,
        key: &str,
        message: &str,
        variables: Variables,
        business_key: Option<String>,
    ) -> Result<String> {
        let def = self
            .store
            .latest_definition(key)
            .ok_or_else(|| StoreError::NotFound("process definition", key.to_string()))?;
        let node = def
            .message_start(message)
            .map(str::to_string)
            .ok_or_else(|| StoreError::NoMatch("message start", message.to_string()))?;
        self.start(key, variables, business_key, Some(node)).await
    }

    /// Completes a user task by its global id.
    pub async fn complete_task(&mut self, task: &str, variables: Variables) -> Result<()> {
        let (instance, local) =
            split_id(task).ok_or_else(|| StoreError::NotFound("task", task.to_string()))?;
        let instance = instance.to_string();
        self.command(
            &instance,
            Command::CompleteTask {
                task: local,
                variables,
            },
        )
        .await
    }

    /// Runs one command against an instance, then everything it cascades into.
    pub async fn command(&mut self, instance: &str, command: Command) -> Result<()> {
        let mut cascade = Cascade::new(self.now);
        cascade.push(instance.to_string(), command);
        self.drive(cascade).await
    }

    /// Moves an instance to version `to_version` of its process, mapping
    /// its elements by `mapping` (see [`millrace_engine::migrate`]); a
    /// refusal changes nothing. Called instances keep their own versions.
    pub async fn migrate(
        &mut self,
        instance: &str,
        to_version: i64,
        mapping: &millrace_engine::ElementMapping,
    ) -> Result<()> {
        let (key, version) = {
            let loaded = self.load(instance).await?;
            (loaded.instance.key.clone(), loaded.instance.version)
        };
        let (from, to) = self.store.two_versions(&key, version, to_version).await?;
        self.note(instance);
        let now = self.now;
        let loaded = self
            .loaded
            .get_mut(instance)
            .ok_or_else(|| StoreError::NotFound("instance", instance.to_string()))?;
        let effects = millrace_engine::migrate(&from, &to, &mut loaded.instance, mapping, now)?;
        loaded.dirty = true;
        self.apply(instance, effects).await
    }

    /// Delivers a message to the oldest waiting subscription named `name`
    /// whose instance is one of `instances` (when given), has `business_key`
    /// (when given) and has process variables equal to `keys`. Failing that,
    /// and only when no instances were named, a message start event of that
    /// name starts a new instance. Returns the instance that received it.
    pub async fn correlate(
        &mut self,
        name: &str,
        instances: Option<&[String]>,
        business_key: Option<&str>,
        keys: &Variables,
        variables: Variables,
    ) -> Result<Option<String>> {
        for (instance, local) in self
            .subscriptions("message", name, business_key, None)
            .await?
        {
            if instances.is_some_and(|ids| !ids.contains(&instance)) {
                continue;
            }
            if self.reach.is_some() {
                let key = self.key_of(&instance).await?;
                if !self.reaches(&key) {
                    continue;
                }
            }
            if !correlates(&self.load(&instance).await?.instance, business_key, keys) {
                continue;
            }
            self.command(
                &instance,
                Command::Trigger {
                    subscription: local,
                    variables,
                },
            )
            .await?;
            return Ok(Some(instance));
        }
        if keys.is_empty() && instances.is_none() {
            let start = self
                .store
                .message_start(name)
                .filter(|(key, _)| self.reaches(key));
            let start = match start {
                Some((key, node)) if !self.latest_is_retired(&key).await? => Some((key, node)),
                _ => None,
            };
            if let Some((key, node)) = start {
                let id = self
                    .start(
                        &key,
                        variables,
                        business_key.map(str::to_string),
                        Some(node),
                    )
                    .await?;
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// Broadcasts a signal to the subscriptions named `name` (of the given
    /// instances, or of all). Returns how many caught it.
    pub async fn signal(
        &mut self,
        name: &str,
        instances: Option<&[String]>,
        variables: Variables,
    ) -> Result<usize> {
        let subs = self.subscriptions("signal", name, None, None).await?;
        let mut delivered = 0;
        for (instance, local) in subs {
            if instances.is_some_and(|ids| !ids.contains(&instance)) {
                continue;
            }
            if self.reach.is_some() {
                let key = self.key_of(&instance).await?;
                if !self.reaches(&key) {
                    continue;
                }
            }
            // An earlier delivery in this broadcast may have closed this one.
            let open = self
                .load(&instance)
                .await?
                .instance
                .subscriptions
                .contains_key(&local);
            if open {
                self.command(
                    &instance,
                    Command::Trigger {
                        subscription: local,
                        variables: variables.clone(),
                    },
                )
                .await?;
                delivered += 1;
            }
        }
        // A broadcast to everyone also starts the processes with a signal start event.
        if instances.is_none() {
            for (key, node) in self.store.signal_starts(name) {
                if !self.reaches(&key) || self.latest_is_retired(&key).await? {
                    continue;
                }
                self.start(&key, variables.clone(), None, Some(node))
                    .await?;
                delivered += 1;
            }
        }
        Ok(delivered)
    }

    /// Open subscriptions named `name`, oldest first; with `business_key`, only
    /// those of instances with that key (filtered in SQL, so correlation
    /// reads, and on PostgreSQL locks, only the instances that may match).
    async fn subscriptions(
        &mut self,
        event: &str,
        name: &str,
        business_key: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Vec<(String, LocalId)>> {
        let sql = format!(
            "SELECT s.instance_id, s.local_id FROM subscriptions s \
             WHERE s.event = $1 AND s.name = $2 \
             AND ($3 IS NULL OR s.instance_id IN (SELECT id FROM instances WHERE business_key = $3)) \
             ORDER BY s.{} LIMIT $4",
            self.store.dialect.insertion_order()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(event)
            .bind(name)
            .bind(business_key)
            .bind(limit.unwrap_or(i64::MAX))
            .fetch_all(&mut *self.tx)
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get::<String, _>(0), r.get::<i64, _>(1) as LocalId))
            .collect())
    }

    /// Takes the sender's message id `message_id` for this unit, before the
    /// message is correlated. `None`: the id is new, and is remembered with the
    /// unit. `Some(target)`: it was delivered before, to `target` (`None`:
    /// accepted with nothing waiting); nothing is to be done.
    ///
    /// The receipt row is written first, so a second delivery of the same id
    /// running at the same time waits on it (PostgreSQL's unique index; SQLite
    /// has one writer) and then finds it, rather than correlating too.
    pub async fn receive_message_id(
        &mut self,
        message_id: &str,
        name: &str,
    ) -> Result<Option<Option<String>>> {
        let inserted = sqlx::query(
            "INSERT INTO message_receipts (message_id, name, instance_id, received_at) VALUES ($1, $2, NULL, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(message_id)
        .bind(name)
        .bind(timestamp(self.now))
        .execute(&mut *self.tx)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(None);
        }
        let target =
            sqlx::query_scalar("SELECT instance_id FROM message_receipts WHERE message_id = $1")
                .bind(message_id)
                .fetch_one(&mut *self.tx)
                .await?;
        Ok(Some(target))
    }

    /// Records, with the unit, the instance the message `message_id` went to.
    pub async fn message_delivered(&mut self, message_id: &str, instance: &str) -> Result<()> {
        sqlx::query("UPDATE message_receipts SET instance_id = $1 WHERE message_id = $2")
            .bind(instance)
            .bind(message_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Records an action in the audit, committed with the unit (or not at all).
    pub async fn audit(&mut self, action: &str, target: Option<&str>) -> Result<()> {
        self.audit_with(action, target, None).await
    }

    /// [`Unit::audit`] with a detail (a cancelled instance's reason).
    pub async fn audit_with(
        &mut self,
        action: &str,
        target: Option<&str>,
        detail: Option<&str>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit (at, actor, action, target, outcome, detail) VALUES ($1, $2, $3, $4, 'ok', $5)",
        )
        .bind(timestamp(self.now))
        .bind(&self.actor)
        .bind(action)
        .bind(target)
        .bind(detail)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Adds a history row of the store's own (not an engine event), written
    /// with the unit's other rows at commit.
    pub(crate) fn record(
        &mut self,
        instance: &str,
        event: &'static str,
        node: Option<String>,
        detail: String,
    ) {
        self.history.push(HistoryRowOut {
            instance: instance.to_string(),
            actor: self.actor.clone(),
            event,
            node,
            detail: Some(detail),
        });
    }

    /// The unit's transaction, for the store's own statements.
    pub(crate) fn tx(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// Removes a job row if the lease `token` is still its own and live;
    /// false when the lease expired or was taken. On PostgreSQL the row stays
    /// locked until the unit ends, so no other node can claim it meanwhile.
    pub(crate) async fn take_job(&mut self, id: &str, token: &str) -> Result<bool> {
        let sql = format!(
            "DELETE FROM jobs WHERE id = $1 AND lease_token = $2 AND {}",
            self.store.lease_live("$3")
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(token)
            .bind(timestamp(self.now))
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Reads an instance into the unit without copying it out; on PostgreSQL
    /// this locks its row until the unit ends.
    pub(crate) async fn lock(&mut self, id: &str) -> Result<()> {
        self.load(id).await.map(|_| ())
    }

    /// An instance as this unit sees it (with the unit's changes).
    pub async fn instance(&mut self, id: &str) -> Result<Instance> {
        Ok(self.load(id).await?.instance.clone())
    }

    /// Does what `cascade` asks until it is over: runs its commands on the
    /// instances it names (loaded and locked here), starts called instances
    /// and signal-started ones, finds the subscriptions it delivers to.
    async fn drive(&mut self, mut cascade: Cascade) -> Result<()> {
        while let Some(next) = cascade.what_next() {
            match next {
                Next::Run(run) => self.run(&mut cascade, run).await?,
                Next::Call(call) => {
                    let store = self.store;
                    let find = |store: &Store| match call.version {
                        None => store.latest_definition(&call.key),
                        Some(v) => store.definition(&call.key, v),
                    };
                    if find(store).is_none() {
                        // Deployed by another node since this one last looked.
                        store.sync_definitions().await?;
                    }
                    let def = find(store);
                    let parent = call.parent.clone();
                    let Some((child, effects)) = cascade.call(call, def.as_deref()) else {
                        continue;
                    };
                    let child_id = child.id.clone();
                    self.adopt(child);
                    self.inherit_people(&child_id, &parent).await?;
                    Box::pin(self.apply(&child_id, effects)).await?;
                }
                Next::FindMessageSubscriber { name } => {
                    let first = self
                        .subscriptions("message", &name, None, Some(1))
                        .await?
                        .into_iter()
                        .next();
                    cascade.message_subscriber(first);
                }
                Next::FindSignalSubscribers { name } => {
                    let subscribers = self.subscriptions("signal", &name, None, None).await?;
                    cascade.signal_subscribers(subscribers, self.store.signal_starts(&name));
                }
                Next::StartBySignal(start) if self.latest_is_retired(&start.key).await? => {}
                Next::StartBySignal(start) => {
                    self.start_in(
                        &mut cascade,
                        &start.key,
                        start.variables,
                        None,
                        Some(start.node),
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// Runs one command of `cascade` on the instance it names.
    async fn run(&mut self, cascade: &mut Cascade, run: RunCommand) -> Result<()> {
        let instance = run.instance.clone();
        let (key, version) = {
            let loaded = self.load(&instance).await?;
            (loaded.instance.key.clone(), loaded.instance.version)
        };
        let store = self.store;
        if store.definition(&key, version).is_none() {
            // Deployed by another node since this one last looked.
            store.sync_definitions().await?;
        }
        let def = store.definition(&key, version).ok_or_else(|| {
            StoreError::NotFound("process definition", format!("{key} v{version}"))
        })?;
        self.note(&instance);
        let loaded = self
            .loaded
            .get_mut(&instance)
            .ok_or_else(|| StoreError::NotFound("instance", instance.clone()))?;
        let Some(effects) = cascade.run(&def, &mut loaded.instance, run)? else {
            return Ok(());
        };
        loaded.dirty = true;
        self.apply(&instance, effects).await
    }

    /// Who may read the calling instance may read what it called: its people
    /// so far in this unit, and those stored.
    async fn inherit_people(&mut self, child: &str, parent: &str) -> Result<()> {
        let inherited: Vec<(&'static str, String)> = self
            .people
            .iter()
            .filter(|(i, _, _)| i == parent)
            .map(|(_, kind, name)| (*kind, name.clone()))
            .collect();
        for (kind, name) in inherited {
            self.concerns(child, kind, &name);
        }
        sqlx::query(
            "INSERT INTO instance_people (instance_id, kind, name) \
             SELECT $1, kind, name FROM instance_people WHERE instance_id = $2 ON CONFLICT DO NOTHING",
        )
        .bind(child)
        .bind(parent)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    /// Keeps, once per request, how an instance was before the request touched it.
    fn note(&mut self, id: &str) {
        if let Some(journal) = &mut self.journal {
            if !journal.iter().any(|(j, _)| j == id) {
                journal.push((id.to_string(), self.loaded.get(id).cloned()));
            }
        }
    }

    /// Starts one request of a batch: its actor, a savepoint, a journal.
    pub(crate) async fn begin_request(&mut self, actor: &str) -> Result<()> {
        self.actor = Some(actor.to_string());
        // Each request of a batch reaches what its own sender may act on.
        self.reach = None;
        self.withheld = false;
        self.journal = Some(Vec::new());
        self.history_mark = self.history.len();
        self.people_mark = self.people.len();
        sqlx::query("SAVEPOINT request")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    /// Ends one request of a batch: kept, or undone in the database and in memory.
    /// An error here means the batch's transaction can no longer be trusted:
    /// the caller abandons the whole batch.
    pub(crate) async fn end_request(&mut self, keep: bool) -> Result<()> {
        let journal = self.journal.take().unwrap_or_default();
        if keep {
            sqlx::query("RELEASE SAVEPOINT request")
                .execute(&mut *self.tx)
                .await?;
            return Ok(());
        }
        // Memory first, so a failing rollback statement cannot leave the request's changes in place.
        for (id, before) in journal {
            match before {
                Some(l) => {
                    self.loaded.insert(id, l);
                }
                None => {
                    self.loaded.remove(&id);
                }
            }
        }
        self.history.truncate(self.history_mark);
        self.people.truncate(self.people_mark);
        sqlx::query("ROLLBACK TO SAVEPOINT request")
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("RELEASE SAVEPOINT request")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    fn adopt(&mut self, instance: Instance) {
        self.note(&instance.id);
        self.loaded.insert(
            instance.id.clone(),
            Loaded {
                instance,
                rev: None,
                dirty: true,
                indexed: Default::default(),
            },
        );
    }

    async fn load(&mut self, id: &str) -> Result<&Loaded> {
        if !self.loaded.contains_key(id) {
            // In a batch, an instance first read by this request is forgotten if
            // the request is undone: rolling back to the savepoint also gives up
            // the row lock, so a later request must read (and lock) it afresh.
            self.note(id);
            // On PostgreSQL the row stays locked until the unit ends: two nodes
            // changing one instance take turns instead of failing the revision check.
            let sql = format!(
                "SELECT body, rev FROM instances WHERE id = $1{}",
                self.store.dialect.for_update()
            );
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_optional(&mut *self.tx)
                .await?
                .ok_or_else(|| StoreError::NotFound("instance", id.to_string()))?;
            let body: String = row.get(0);
            let instance: Instance = serde_json::from_str(&body)
                .map_err(|e| StoreError::Corrupt(id.to_string(), e.to_string()))?;
            let indexed = crate::variables::indexed(&instance);
            self.loaded.insert(
                id.to_string(),
                Loaded {
                    instance,
                    rev: Some(row.get(1)),
                    dirty: false,
                    indexed,
                },
            );
        }
        self.loaded
            .get(id)
            .ok_or_else(|| StoreError::NotFound("instance", id.to_string()))
    }

    /// Records that `instance` concerns a user or group (its starter, a
    /// task's assignee or candidate): they may read it from now on. Written
    /// with the unit's other rows at commit.
    fn concerns(&mut self, instance: &str, kind: &'static str, name: &str) {
        self.people
            .push((instance.to_string(), kind, name.to_string()));
    }

    /// Writes the queued `instance_people` rows, once each.
    async fn flush_people(&mut self) -> Result<()> {
        self.people.sort();
        self.people.dedup();
        let dialect = self.store.dialect;
        for chunk in self.people.chunks(PEOPLE_CHUNK) {
            let mut sql =
                String::from("INSERT INTO instance_people (instance_id, kind, name) VALUES ");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                let p = |k: usize| dialect.placeholder(i * 3 + k);
                sql.push_str(&format!("({}, {}, {})", p(1), p(2), p(3)));
            }
            sql.push_str(" ON CONFLICT DO NOTHING");
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (instance, kind, name) in chunk {
                query = query.bind(instance).bind(*kind).bind(name);
            }
            query.execute(&mut *self.tx).await?;
        }
        self.people.clear();
        Ok(())
    }

    /// Queues an audit-trail row; all are written, in order, at commit.
    fn history(&mut self, instance: &str, event: &HistoryEvent) {
        let (name, node) = match event {
            HistoryEvent::InstanceStarted => ("instanceStarted", None),
            HistoryEvent::InstanceEnded { .. } => ("instanceEnded", None),
            HistoryEvent::ActivityStarted { node } => ("activityStarted", Some(node)),
            HistoryEvent::ActivityCompleted { node } => ("activityCompleted", Some(node)),
            HistoryEvent::ActivityCancelled { node } => ("activityCancelled", Some(node)),
            HistoryEvent::FlowTaken { flow } => ("flowTaken", Some(flow)),
            HistoryEvent::VariableSet { .. } => ("variableSet", None),
            HistoryEvent::IncidentRaised { node, .. } => ("incidentRaised", Some(node)),
            HistoryEvent::IncidentResolved { node } => ("incidentResolved", Some(node)),
            HistoryEvent::DeliveryRefused { .. } => ("deliveryRefused", None),
            HistoryEvent::InstanceMigrated { .. } => ("instanceMigrated", None),
            HistoryEvent::SlaStarted { element, .. } => ("slaStarted", element.as_ref()),
            HistoryEvent::SlaMet { element, .. } => ("slaMet", element.as_ref()),
            HistoryEvent::SlaBreached { element, .. } => ("slaBreached", element.as_ref()),
            HistoryEvent::SlaNotStarted { .. } => ("slaNotStarted", None),
        };
        let detail = match event {
            HistoryEvent::VariableSet { .. }
            | HistoryEvent::InstanceEnded { .. }
            | HistoryEvent::IncidentRaised { .. }
            | HistoryEvent::DeliveryRefused { .. }
            | HistoryEvent::InstanceMigrated { .. }
            | HistoryEvent::SlaStarted { .. }
            | HistoryEvent::SlaMet { .. }
            | HistoryEvent::SlaBreached { .. }
            | HistoryEvent::SlaNotStarted { .. } => serde_json::to_string(event).ok(),
            _ => None,
        };
        self.history.push(HistoryRowOut {
            instance: instance.to_string(),
            actor: self.actor.clone(),
            event: name,
            node: node.cloned(),
            detail,
        });
    }

    async fn flush_history(&mut self) -> Result<()> {
        let at = timestamp(self.now);
        for chunk in self.history.chunks(HISTORY_CHUNK) {
            // Built here, not by sqlx's QueryBuilder, which writes `?` for the
            // Any driver whatever the database (PostgreSQL refuses `?`).
            let dialect = self.store.dialect;
            let mut sql = String::from(
                "INSERT INTO history (instance_id, at, actor, event, node_id, detail) VALUES ",
            );
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                let p = |k: usize| dialect.placeholder(i * 6 + k);
                sql.push_str(&format!(
                    "({}, {}, {}, {}, {}, {})",
                    p(1),
                    p(2),
                    p(3),
                    p(4),
                    p(5),
                    p(6)
                ));
            }
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for h in chunk {
                query = query
                    .bind(&h.instance)
                    .bind(&at)
                    .bind(&h.actor)
                    .bind(h.event)
                    .bind(&h.node)
                    .bind(&h.detail);
            }
            query.execute(&mut *self.tx).await?;
        }
        self.history.clear();
        Ok(())
    }

    /// Writes one step's effects and queues what they cascade into.
    async fn apply(&mut self, instance: &str, effects: Vec<Effect>) -> Result<()> {
        let key = self
            .loaded
            .get(instance)
            .map(|l| l.instance.key.clone())
            .unwrap_or_default();
        for effect in effects {
            match effect {
                Effect::History(event) => self.history(instance, &event),
                Effect::TaskCreated(task) => {
                    self.tasks_touched = true;
                    let id = global_id(instance, task.id);
                    sqlx::query(
                        "INSERT INTO tasks (id, instance_id, local_id, key, node_id, name, assignee, due, priority, form, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(&id)
                    .bind(instance)
                    .bind(task.id as i64)
                    .bind(&key)
                    .bind(&task.node_id)
                    .bind(&task.name)
                    .bind(&task.assignee)
                    .bind(task.due.map(timestamp))
                    .bind(task.priority)
                    .bind(&task.form)
                    .bind(timestamp(self.now))
                    .execute(&mut *self.tx)
                    .await?;
                    for g in &task.candidate_groups {
                        self.concerns(instance, "group", g);
                    }
                    for u in task.candidate_users.iter().chain(&task.assignee) {
                        self.concerns(instance, "user", u);
                    }
                    let assignee: Vec<String> = task.assignee.iter().cloned().collect();
                    for (kind, names) in [
                        ("group", &task.candidate_groups),
                        ("user", &task.candidate_users),
                        ("assignee", &assignee),
                    ] {
                        for name in names {
                            sqlx::query("INSERT INTO task_candidates (task_id, kind, name, priority, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING")
                                .bind(&id)
                                .bind(kind)
                                .bind(name)
                                .bind(task.priority)
                                .bind(timestamp(self.now))
                                .execute(&mut *self.tx)
                                .await?;
                        }
                    }
                }
                Effect::TaskEnded { task, completed } => {
                    let id = global_id(instance, task);
                    self.history.push(HistoryRowOut {
                        instance: instance.to_string(),
                        actor: self.actor.clone(),
                        event: "taskEnded",
                        node: None,
                        detail: Some(
                            serde_json::json!({ "task": id, "completed": completed }).to_string(),
                        ),
                    });
                    sqlx::query("DELETE FROM task_candidates WHERE task_id = $1")
                        .bind(&id)
                        .execute(&mut *self.tx)
                        .await?;
                    sqlx::query("DELETE FROM tasks WHERE id = $1")
                        .bind(&id)
                        .execute(&mut *self.tx)
                        .await?;
                    self.tasks_touched = true;
                }
                Effect::JobScheduled { job, kind, due } => {
                    let (kind, topic, payload) = match kind {
                        JobKind::Timer => ("timer", None, None),
                        JobKind::Async => ("async", None, None),
                        JobKind::SlaDue => ("sla", None, None),
                        JobKind::External { topic } => ("external", Some(topic), None),
                        JobKind::Connector { connector, input } => (
                            "connector",
                            Some(connector),
                            // Value's own (tagged) serde form: decimals and instants read back exactly.
                            Some(serde_json::to_string(&input).map_err(|e| {
                                StoreError::Corrupt(instance.to_string(), e.to_string())
                            })?),
                        ),
                    };
                    sqlx::query("INSERT INTO jobs (id, instance_id, local_id, kind, topic, due, payload) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                        .bind(global_id(instance, job))
                        .bind(instance)
                        .bind(job as i64)
                        .bind(kind)
                        .bind(topic)
                        .bind(timestamp(due))
                        .bind(payload)
                        .execute(&mut *self.tx)
                        .await?;
                }
                Effect::JobCancelled { job } => {
                    sqlx::query("DELETE FROM jobs WHERE id = $1")
                        .bind(global_id(instance, job))
                        .execute(&mut *self.tx)
                        .await?;
                }
                Effect::SubscriptionOpened {
                    subscription,
                    event,
                    name,
                } => {
                    sqlx::query("INSERT INTO subscriptions (id, instance_id, local_id, event, name) VALUES ($1, $2, $3, $4, $5)")
                        .bind(global_id(instance, subscription))
                        .bind(instance)
                        .bind(subscription as i64)
                        .bind(event)
                        .bind(name)
                        .execute(&mut *self.tx)
                        .await?;
                }
                Effect::SubscriptionClosed { subscription } => {
                    sqlx::query("DELETE FROM subscriptions WHERE id = $1")
                        .bind(global_id(instance, subscription))
                        .execute(&mut *self.tx)
                        .await?;
                }
                Effect::IncidentRaised {
                    incident,
                    node,
                    message,
                } => {
                    sqlx::query("INSERT INTO incidents (id, instance_id, local_id, node_id, message, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(global_id(instance, incident))
                        .bind(instance)
                        .bind(incident as i64)
                        .bind(node)
                        .bind(message)
                        .bind(timestamp(self.now))
                        .execute(&mut *self.tx)
                        .await?;
                }
                Effect::IncidentResolved { incident } => {
                    sqlx::query("UPDATE incidents SET resolved_at = $1 WHERE id = $2")
                        .bind(timestamp(self.now))
                        .bind(global_id(instance, incident))
                        .execute(&mut *self.tx)
                        .await?;
                }
                Effect::SlaChanged(clock) => {
                    // The latest state of the clock; the instance body holds the same.
                    sqlx::query(
                        "INSERT INTO slas (id, instance_id, key, name, element_id, group_name, started_at, due_at, target_seconds, business_hours, met_at, achieved_seconds, breached, cancelled) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                         ON CONFLICT (id) DO UPDATE SET group_name = excluded.group_name, met_at = excluded.met_at, \
                         achieved_seconds = excluded.achieved_seconds, breached = excluded.breached, cancelled = excluded.cancelled",
                    )
                    .bind(global_id(instance, clock.id))
                    .bind(instance)
                    .bind(&key)
                    .bind(&clock.name)
                    .bind(&clock.element)
                    .bind(&clock.group)
                    .bind(timestamp(clock.started_at))
                    .bind(timestamp(clock.due_at))
                    .bind(clock.target_seconds)
                    .bind(clock.business_hours as i64)
                    .bind(clock.met_at.map(timestamp))
                    .bind(clock.achieved_seconds)
                    .bind(clock.breached as i64)
                    .bind(clock.cancelled as i64)
                    .execute(&mut *self.tx)
                    .await?;
                }
                Effect::TaskMoved {
                    task,
                    node_id,
                    name,
                    form,
                } => {
                    self.tasks_touched = true;
                    sqlx::query(
                        "UPDATE tasks SET node_id = $1, name = $2, form = $3 WHERE id = $4",
                    )
                    .bind(&node_id)
                    .bind(&name)
                    .bind(&form)
                    .bind(global_id(instance, task))
                    .execute(&mut *self.tx)
                    .await?;
                }
                Effect::IncidentMoved { incident, node } => {
                    sqlx::query("UPDATE incidents SET node_id = $1 WHERE id = $2")
                        .bind(&node)
                        .bind(global_id(instance, incident))
                        .execute(&mut *self.tx)
                        .await?;
                }
                Effect::MailQueued {
                    key,
                    to,
                    subject,
                    body,
                    attachments,
                } => {
                    sqlx::query(
                        "INSERT INTO outbox (id, instance_id, recipients, subject, body, attachments, created_at, next_attempt) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                    )
                    .bind(&key)
                    .bind(instance)
                    .bind(serde_json::to_string(&to).unwrap_or_else(|_| "[]".into()))
                    .bind(subject)
                    .bind(body)
                    .bind(serde_json::to_string(&attachments).unwrap_or_else(|_| "[]".into()))
                    .bind(timestamp(self.now))
                    .execute(&mut *self.tx)
                    .await?;
                }
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
        Ok(())
    }

    /// Writes every changed instance (checking revisions) and commits.
    pub async fn commit(mut self) -> Result<()> {
        self.flush_history().await?;
        self.flush_people().await?;
        for (id, loaded) in &self.loaded {
            if !loaded.dirty {
                continue;
            }
            let i = &loaded.instance;
            let body = serde_json::to_string(i)
                .map_err(|e| StoreError::Corrupt(id.clone(), e.to_string()))?;
            let incident = i.has_incident();
            // What the inbox shows of the request, kept in columns so task
            // lists need not read instance bodies.
            let status = i.root_text(REQUEST_STATUS);
            let request_id = i.root_text(REQUEST_ID);
            match loaded.rev {
                None => {
                    sqlx::query(
                        "INSERT INTO instances (id, key, version, business_key, state, has_incident, parent_id, started_at, ended_at, rev, body, status, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $12)",
                    )
                    .bind(id)
                    .bind(&i.key)
                    .bind(i.version)
                    .bind(&i.business_key)
                    .bind(i.state.as_str())
                    .bind(i64::from(incident))
                    .bind(i.parent.as_ref().map(|p| p.instance.clone()))
                    .bind(timestamp(i.started_at))
                    .bind(i.ended_at.map(timestamp))
                    .bind(&body)
                    .bind(&status)
                    .bind(&request_id)
                    .execute(&mut *self.tx)
                    .await?;
                }
                Some(rev) => {
                    let done = sqlx::query(
                        "UPDATE instances SET state = $1, has_incident = $2, ended_at = $3, rev = rev + 1, body = $4, status = $7, request_id = $8, version = $9 WHERE id = $5 AND rev = $6",
                    )
                    .bind(i.state.as_str())
                    .bind(i64::from(incident))
                    .bind(i.ended_at.map(timestamp))
                    .bind(&body)
                    .bind(id)
                    .bind(rev)
                    .bind(&status)
                    .bind(&request_id)
                    .bind(i.version)
                    .execute(&mut *self.tx)
                    .await?;
                    if done.rows_affected() != 1 {
                        return Err(StoreError::Conflict(id.clone()));
                    }
                }
            }
            let now_indexed = crate::variables::indexed(i);
            let (removed, added) = crate::variables::index_changes(&loaded.indexed, &now_indexed);
            let dialect = self.store.dialect;
            let gone: Vec<&str> = removed
                .into_iter()
                .filter(|n| !now_indexed.contains_key(*n))
                .collect();
            if !gone.is_empty() {
                let list: Vec<String> = (0..gone.len())
                    .map(|k| dialect.placeholder(k + 2))
                    .collect();
                let sql = format!(
                    "DELETE FROM instance_variables WHERE instance_id = {} AND name IN ({})",
                    dialect.placeholder(1),
                    list.join(", ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id);
                for n in gone {
                    q = q.bind(n);
                }
                q.execute(&mut *self.tx).await?;
            }
            for chunk in added.chunks(VARIABLE_CHUNK) {
                let mut sql = String::from(
                    "INSERT INTO instance_variables (instance_id, name, value) VALUES ",
                );
                for k in 0..chunk.len() {
                    if k > 0 {
                        sql.push_str(", ");
                    }
                    let p = |j: usize| dialect.placeholder(k * 3 + j);
                    sql.push_str(&format!("({}, {}, {})", p(1), p(2), p(3)));
                }
                sql.push_str(
                    " ON CONFLICT (instance_id, name) DO UPDATE SET value = excluded.value",
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (name, value) in chunk {
                    q = q.bind(id).bind(*name).bind(*value);
                }
                q.execute(&mut *self.tx).await?;
            }
        }
        if self.tasks_touched {
            self.store.notify_tasks_in(&mut self.tx).await?;
        }
        self.tx.commit().await?;
        if self.tasks_touched {
            self.store.tasks_changed();
        }
        Ok(())
    }
}
