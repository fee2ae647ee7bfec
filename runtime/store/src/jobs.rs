//! Jobs (timers, asynchronous continuations) run under a lease: a worker
//! claims due jobs for a while, runs each in its own unit, and the unit
//! only applies the job if the lease is still the worker's (fencing). A job
//! whose unit fails is retried with back-off; one that keeps failing stops
//! at zero retries and waits for an administrator.

use std::time::Duration;

use chrono::{DateTime, Utc};
use millrace_engine::instance::LocalId;
use millrace_engine::{Command, Variables};
use sqlx::Row;

use crate::{timestamp, Dialect, Result, Store, StoreError};

/// A job claimed by a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// Global id.
    pub id: String,
    /// Its instance.
    pub instance_id: String,
    /// Instance-local id (the subscription for timers, the job for async continuations).
    pub local_id: LocalId,
    /// `timer`, `async` or `start` (a timer start event).
    pub kind: String,
    /// The start event's id, for `start` jobs.
    pub topic: Option<String>,
    /// When it was due.
    pub due: String,
    /// Firings left after this one, for `start` jobs (`None`: no end).
    pub remaining: Option<i64>,
    /// Retries left.
    pub retries: i64,
    /// The claim's lease token: the job applies only while it is still the job's.
    pub lease_token: String,
    /// Who claimed it (the node's worker): the actor of the job's history rows.
    pub owner: String,
    /// A connector call's input parameters (JSON), for `connector` jobs.
    pub payload: Option<String>,
}

/// How a lease's end is written in a statement, with the value bound for it.
pub(crate) enum LeaseEnd {
    /// A timestamp computed by the caller: (placeholder, timestamp).
    Text(String, String),
    /// Computed by the database from a length: (SQL expression, milliseconds).
    Millis(String, i64),
}

impl LeaseEnd {
    pub(crate) fn sql(&self) -> &str {
        match self {
            LeaseEnd::Text(sql, _) | LeaseEnd::Millis(sql, _) => sql,
        }
    }

    pub(crate) fn bind<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
        match self {
            LeaseEnd::Text(_, at) => query.bind(at.clone()),
            LeaseEnd::Millis(_, ms) => query.bind(*ms),
        }
    }
}

/// What running a claimed job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// The job's command was applied and committed.
    Done,
    /// The lease was lost (expired and taken by another worker): nothing applied.
    LeaseLost,
    /// The unit failed; the job will be retried after `Duration` (or not, at zero retries).
    Failed(String),
}

/// The jobs a claim's `RETURNING id, instance_id, local_id, kind, retries,
/// topic, due, remaining, payload` gave, in due order (RETURNING gives none).
fn claimed_jobs(rows: Vec<sqlx::any::AnyRow>, token: &str, owner: &str) -> Vec<ClaimedJob> {
    let mut claimed: Vec<ClaimedJob> = rows
        .into_iter()
        .map(|r| ClaimedJob {
            id: r.get(0),
            instance_id: r.get(1),
            local_id: r.get::<i64, _>(2) as LocalId,
            kind: r.get(3),
            retries: r.get(4),
            topic: r.get(5),
            due: r.get(6),
            remaining: r.get(7),
            payload: r.get(8),
            lease_token: token.to_string(),
            owner: owner.to_string(),
        })
        .collect();
    claimed.sort_by(|a, b| (&a.due, &a.id).cmp(&(&b.due, &b.id)));
    claimed
}

/// How soon a job whose unit failed for a reason not its own (a write
/// conflict, a lost connection) is due again, its retries intact.
pub const TRANSIENT_RETRY: chrono::Duration = chrono::Duration::seconds(1);

/// How long to wait before retry `n` (1-based): 2, 4, 8 … seconds, at most 5 minutes.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempt.min(8)).min(300))
}

impl Store {
    /// Claims up to `limit` timer and async jobs due at `now` for `owner`,
    /// each under a fresh lease token, for `lease`. On PostgreSQL the lease
    /// is granted and later checked by the database's clock, and rows another
    /// node is claiming are skipped, not waited for.
    pub async fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>> {
        let token = uuid::Uuid::now_v7().to_string();
        let (clock, until) = self.lease_clock(now, lease, "$1", "$5");
        let sql = format!(
            "UPDATE jobs SET lease_owner = $3, lease_token = $4, lease_expires = {} \
             WHERE id IN (SELECT id FROM jobs WHERE kind <> 'external' AND retries > 0 AND due <= $1 \
                 AND (lease_owner IS NULL OR lease_expires < {clock}) ORDER BY due, id LIMIT $2{}) \
             RETURNING id, instance_id, local_id, kind, retries, topic, due, remaining, payload",
            until.sql(),
            self.dialect.skip_locked()
        );
        // Built from constants only: every input is bound.
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(timestamp(now))
            .bind(limit)
            .bind(owner)
            .bind(&token);
        let rows = until.bind(query).fetch_all(&self.pool).await?;
        Ok(claimed_jobs(rows, &token, owner))
    }

    /// The SQL for "the lease clock now" and "a lease ending after `lease`":
    /// on SQLite (one process, one machine) the caller's clock, bound as
    /// `now_param` and `until_param`; on PostgreSQL the database's clock, with
    /// the lease length in milliseconds bound as `until_param`.
    pub(crate) fn lease_clock(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        now_param: &str,
        until_param: &str,
    ) -> (String, LeaseEnd) {
        match self.dialect {
            Dialect::Sqlite => {
                let until = now
                    + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
                (
                    now_param.to_string(),
                    LeaseEnd::Text(until_param.to_string(), timestamp(until)),
                )
            }
            Dialect::Postgres => (
                "millrace_now()".to_string(),
                LeaseEnd::Millis(
                    format!("millrace_after({until_param})"),
                    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX),
                ),
            ),
        }
    }

    /// Runs a claimed job in its own unit at `now`, if its lease is still live and its own.
    pub async fn run_job(&self, job: &ClaimedJob, now: DateTime<Utc>) -> Result<JobOutcome> {
        let result = self.try_run_job(job, now).await;
        match result {
            Ok(true) => Ok(JobOutcome::Done),
            Ok(false) => Ok(JobOutcome::LeaseLost),
            Err(e) if e.is_transient() => {
                // Not the job's fault (another writer, a lost connection): give the
                // lease back with its retries intact, due again in a second so a
                // conflict that repeats does not spin. If even that fails, the
                // lease simply expires.
                let again = now + TRANSIENT_RETRY;
                let _ = sqlx::query(
                    "UPDATE jobs SET lease_owner = NULL, lease_expires = NULL, lease_token = NULL, \
                     due = CASE WHEN due < $3 THEN $3 ELSE due END, last_error = $4 \
                     WHERE id = $1 AND lease_token = $2",
                )
                .bind(&job.id)
                .bind(&job.lease_token)
                .bind(timestamp(again))
                .bind(e.to_string())
                .execute(&self.pool)
                .await;
                Ok(JobOutcome::Failed(e.to_string()))
            }
            Err(e) => {
                if let StoreError::Corrupt(instance, reason) = &e {
                    // Retrying cannot help: the instance gets an incident
                    // saying why (and its own jobs stop); this job fails as
                    // any other.
                    self.mark_unreadable(instance, reason, now).await?;
                }
                let attempt = (4 - job.retries).max(1) as u32;
                let retry_at =
                    now + chrono::Duration::from_std(backoff(attempt)).unwrap_or_default();
                sqlx::query(
                    "UPDATE jobs SET retries = retries - 1, due = $1, last_error = $2, \
                     lease_owner = NULL, lease_expires = NULL, lease_token = NULL \
                     WHERE id = $3 AND lease_token = $4",
                )
                .bind(timestamp(retry_at))
                .bind(e.to_string())
                .bind(&job.id)
                .bind(&job.lease_token)
                .execute(&self.pool)
                .await?;
                Ok(JobOutcome::Failed(e.to_string()))
            }
        }
    }

    async fn try_run_job(&self, job: &ClaimedJob, now: DateTime<Utc>) -> Result<bool> {
        // An http call waits on another host: made before the unit holds the
        // database (at least once: the job's id goes as its idempotency key).
        let http_answer = if job.kind == "connector" && job.topic.as_deref() == Some("http") {
            Some(self.call_http(job).await)
        } else {
            None
        };
        let mut unit = self.begin(now, Some(&job.owner)).await?;
        unit.actor_is_person = false;
        // Lock order, the same in every unit: the instance row first, then its
        // job rows (a unit completing a task also deletes the task's timer
        // jobs while holding the instance). The other order deadlocks.
        if job.kind == "start" {
            if self.dialect == Dialect::Postgres {
                // A deployment replacing this key's timer start jobs holds this lock
                // exclusively, so it never misses the next firing this unit inserts.
                sqlx::query("SELECT pg_advisory_xact_lock_shared(7140001)")
                    .execute(unit.tx())
                    .await?;
            }
        } else {
            unit.lock(&job.instance_id).await?;
        }
        // Fencing: the job is applied only by the worker that still holds its lease.
        if !unit.take_job(&job.id, &job.lease_token).await? {
            return Ok(false);
        }
        if job.kind == "start" {
            self.fire_start_timer(&mut unit, job).await?;
            unit.commit().await?;
            return Ok(true);
        }
        if job.kind == "connector" {
            self.call_connector(&mut unit, job, http_answer).await?;
            unit.commit().await?;
            return Ok(true);
        }
        let command = if job.kind == "timer" {
            Command::Trigger {
                subscription: job.local_id,
                variables: Variables::new(),
            }
        } else {
            Command::RunJob { job: job.local_id }
        };
        unit.command(&job.instance_id, command).await?;
        unit.commit().await?;
        Ok(true)
    }

    /// Starts an instance through a timer start event and schedules the next firing of a cycle.
    async fn fire_start_timer(&self, unit: &mut crate::Unit<'_>, job: &ClaimedJob) -> Result<()> {
        let node = job.topic.clone().unwrap_or_default();
        let key = job.instance_id.clone();
        // A retired version starts nothing; its cycle goes on, for when it is reinstated.
        if !unit.latest_is_retired(&key).await? {
            unit.start(&key, Variables::new(), None, Some(node.clone()))
                .await?;
        }
        if job.remaining == Some(0) {
            return Ok(());
        }
        let def = self
            .latest_definition(&key)
            .ok_or_else(|| crate::StoreError::NotFound("process definition", key.clone()))?;
        let Ok(due) = chrono::DateTime::parse_from_rfc3339(&job.due) else {
            return Ok(());
        };
        let Some(next) = def.next_timer_start(&node, due.with_timezone(&Utc)) else {
            return Ok(());
        };
        sqlx::query(
            "INSERT INTO jobs (id, instance_id, local_id, kind, topic, due, remaining) VALUES ($1, $2, $3, 'start', $4, $5, $6)",
        )
        .bind(format!("start:{key}:{}:{node}:{}", def.version, timestamp(next)))
        .bind(&key)
        .bind(def.version)
        .bind(&node)
        .bind(timestamp(next))
        .bind(job.remaining.map(|r| r - 1))
        .execute(unit.tx())
        .await?;
        Ok(())
    }

    /// Runs the connector calls an instance has due at `now`, here and at
    /// once, as `owner` (the same claim, lease and fencing as the worker's),
    /// until it has none left or `rounds` have run: so a person who started a
    /// request or completed a step meets the task the calls lead to in the
    /// answer, not a moment later. Calls another worker holds, or given back
    /// after a write conflict, are waited for a little, never run twice.
    pub async fn run_connectors_of(
        &self,
        instance: &str,
        owner: &str,
        now: DateTime<Utc>,
        rounds: usize,
    ) -> Result<usize> {
        // How long to wait, in all, for calls another worker holds: the
        // worker's own unit finishes them well within it (3 s was too short
        // for a debug build on a loaded 2-core machine: the wizard's next
        // step was missing from the answer).
        const HELD_WAIT: Duration = Duration::from_secs(10);
        let mut done = 0;
        let mut waited = Duration::ZERO;
        for _ in 0..rounds {
            // The clock moves on while this waits, so a call given back after
            // a conflict (due again TRANSIENT_RETRY later) is claimed here too,
            // and the answer still sees where it leads.
            let clock = now + chrono::Duration::from_std(waited).unwrap_or_default();
            let token = uuid::Uuid::now_v7().to_string();
            let (claim_clock, until) = self.lease_clock(clock, Duration::from_secs(60), "$1", "$5");
            let sql = format!(
                "UPDATE jobs SET lease_owner = $3, lease_token = $4, lease_expires = {} \
                 WHERE id IN (SELECT id FROM jobs WHERE instance_id = $2 AND kind = 'connector' AND retries > 0 AND due <= $1 \
                     AND (lease_owner IS NULL OR lease_expires < {claim_clock}) ORDER BY due, id LIMIT 16{}) \
                 RETURNING id, instance_id, local_id, kind, retries, topic, due, remaining, payload",
                until.sql(),
                self.dialect.skip_locked()
            );
            // Built from constants only: every input is bound.
            let query = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(timestamp(clock))
                .bind(instance)
                .bind(owner)
                .bind(&token);
            let rows = until.bind(query).fetch_all(&self.pool).await?;
            let claimed = claimed_jobs(rows, &token, owner);
            if claimed.is_empty() {
                // A call the worker holds is being made, or one was given back
                // after a conflict: wait for it (a little), so the answer
                // still sees where the calls lead. A call backing off after a
                // failure of its own is due later than this looks, and left.
                let pending: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM jobs WHERE instance_id = $1 AND kind = 'connector' AND retries > 0 AND due <= $2",
                )
                .bind(instance)
                .bind(timestamp(clock + TRANSIENT_RETRY))
                .fetch_one(&self.pool)
                .await?;
                if pending == 0 || waited >= HELD_WAIT {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
                waited += Duration::from_millis(25);
                continue;
            }
            for job in &claimed {
                if self.run_job(job, clock).await? == JobOutcome::Done {
                    done += 1;
                }
            }
        }
        Ok(done)
    }

    /// Gives up `owner`'s leases (on shutdown), so others need not wait for them to expire.
    pub async fn release_leases(&self, owner: &str) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE jobs SET lease_owner = NULL, lease_expires = NULL, lease_token = NULL WHERE lease_owner = $1",
        )
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// Claims and runs every job due at `now`, in due order; returns how many were applied.
    pub async fn run_due_jobs(&self, owner: &str, now: DateTime<Utc>, limit: i64) -> Result<usize> {
        let mut done = 0;
        for job in self
            .claim_jobs(owner, now, Duration::from_secs(60), limit)
            .await?
        {
            if self.run_job(&job, now).await? == JobOutcome::Done {
                done += 1;
            }
        }
        Ok(done)
    }
}

/// An external task handed to a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct LockedExternalTask {
    /// Global id.
    pub id: String,
    /// Its instance.
    pub instance_id: String,
    /// The topic.
    pub topic: String,
    /// The process variables when it was locked.
    pub variables: millrace_engine::Variables,
    /// Retries left.
    pub retries: i64,
    /// When the lock ends.
    pub lock_expires: String,
}

impl Store {
    /// Locks up to `max` external tasks of `topic` for `worker` until `now + lock`.
    pub async fn fetch_and_lock(
        &self,
        worker: &str,
        topic: &str,
        lock: Duration,
        max: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<LockedExternalTask>> {
        let (clock, until) = self.lease_clock(now, lock, "$2", "$5");
        let sql = format!(
            "UPDATE jobs SET lease_owner = $4, lease_token = NULL, lease_expires = {} \
             WHERE id IN (SELECT id FROM jobs WHERE kind = 'external' AND topic = $1 AND retries > 0 AND due <= $2 \
                 AND (lease_owner IS NULL OR lease_expires < {clock}) ORDER BY due, id LIMIT $3{}) \
             RETURNING id, instance_id, retries, lease_expires, due",
            until.sql(),
            self.dialect.skip_locked()
        );
        // Built from constants only: every input is bound.
        let query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(topic)
            .bind(timestamp(now))
            .bind(max)
            .bind(worker);
        let mut rows: Vec<(String, String, i64, String, String)> = until
            .bind(query)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
            .collect();
        rows.sort_by(|a, b| (&a.4, &a.0).cmp(&(&b.4, &b.0)));
        let mut out = Vec::with_capacity(rows.len());
        for (id, instance_id, retries, lock_expires, _) in rows {
            // Read after the lock, so the variables are at least as new as the lock.
            let instance = self.instance(&instance_id).await?;
            out.push(LockedExternalTask {
                id,
                instance_id,
                topic: topic.to_string(),
                variables: instance.root_variables(),
                retries,
                lock_expires,
            });
        }
        Ok(out)
    }

    /// The SQL condition "the lease has not expired" by the lease clock (see
    /// [`Store::lease_clock`]); `now_param` is bound to the caller's time either way.
    pub(crate) fn lease_live(&self, now_param: &str) -> String {
        match self.dialect {
            Dialect::Sqlite => format!("lease_expires >= {now_param}"),
            Dialect::Postgres => "lease_expires >= millrace_now()".to_string(),
        }
    }

    /// Removes an external task's job row within `unit` if `worker` holds a live
    /// lock on it; false when it does not. The instance is locked first, the
    /// order every unit keeps (instance, then its job rows).
    async fn take_external(
        &self,
        unit: &mut crate::Unit<'_>,
        instance: &str,
        id: &str,
        worker: &str,
    ) -> Result<bool> {
        unit.lock(instance).await?;
        let sql = format!(
            "DELETE FROM jobs WHERE id = $1 AND kind = 'external' AND lease_owner = $2 AND {}",
            self.lease_live("$3")
        );
        let now = timestamp(unit.now());
        let taken = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(worker)
            .bind(now)
            .execute(unit.tx())
            .await?;
        Ok(taken.rows_affected() == 1)
    }

    /// An external task's instance, lock holder, and whether the lock is live.
    async fn external_lock_holder(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, Option<String>, bool)>> {
        let sql = format!(
            "SELECT instance_id, lease_owner, CASE WHEN {} THEN 1 ELSE 0 END FROM jobs WHERE id = $1 AND kind = 'external'",
            self.lease_live("$2")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(timestamp(now))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1), r.get::<i64, _>(2) != 0)))
    }

    /// Completes an external task; refused unless `worker` holds an unexpired lock.
    pub async fn complete_external_task(
        &self,
        id: &str,
        worker: &str,
        variables: millrace_engine::Variables,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (instance, local) = crate::split_id(id)
            .ok_or_else(|| crate::StoreError::NotFound("external task", id.to_string()))?;
        let mut unit = self.begin(now, Some(worker)).await?;
        // Fencing: only the holder of a live lock may complete.
        if !self.take_external(&mut unit, instance, id, worker).await? {
            return Err(crate::StoreError::Conflict(format!(
                "external task {id} is not locked by {worker}"
            )));
        }
        unit.command(
            instance,
            Command::CompleteExternalTask {
                job: local,
                variables,
            },
        )
        .await?;
        unit.commit().await
    }

    /// Reports a failed attempt: with retries left the task is offered again
    /// after `retry_in`; with none, the instance gets an incident.
    pub async fn fail_external_task(
        &self,
        id: &str,
        worker: &str,
        message: &str,
        retries: i64,
        retry_in: Duration,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some((instance, owner, live)) = self.external_lock_holder(id, now).await? else {
            return Err(crate::StoreError::NotFound("external task", id.to_string()));
        };
        if owner.as_deref() != Some(worker) || !live {
            return Err(crate::StoreError::Conflict(format!(
                "external task {id} is not locked by {worker}"
            )));
        }
        let lost =
            || crate::StoreError::Conflict(format!("external task {id} is not locked by {worker}"));
        // Fencing: every change below holds only while the lock is still this worker's.
        if retries > 0 {
            let due = now + chrono::Duration::from_std(retry_in).unwrap_or_default();
            let sql = format!(
                "UPDATE jobs SET retries = $1, due = $2, last_error = $3, lease_owner = NULL, lease_expires = NULL \
                 WHERE id = $4 AND lease_owner = $5 AND {}",
                self.lease_live("$6")
            );
            let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(retries)
                .bind(timestamp(due))
                .bind(message)
                .bind(id)
                .bind(worker)
                .bind(timestamp(now))
                .execute(&self.pool)
                .await?;
            return if done.rows_affected() == 1 {
                Ok(())
            } else {
                Err(lost())
            };
        }
        let (_, local) = crate::split_id(id)
            .ok_or_else(|| crate::StoreError::NotFound("external task", id.to_string()))?;
        let mut unit = self.begin(now, Some(worker)).await?;
        if !self.take_external(&mut unit, &instance, id, worker).await? {
            return Err(lost());
        }
        unit.command(
            &instance,
            Command::FailExternalTask {
                job: local,
                message: message.to_string(),
            },
        )
        .await?;
        unit.commit().await
    }
}
