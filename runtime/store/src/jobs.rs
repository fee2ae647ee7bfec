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

use crate::{timestamp, Result, Store};

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

/// How long to wait before retry `n` (1-based): 2, 4, 8 … seconds, at most 5 minutes.
pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempt.min(8)).min(300))
}

impl Store {
    /// Claims up to `limit` timer and async jobs due at `now` for `owner`, until `now + lease`.
    pub async fn claim_jobs(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<ClaimedJob>> {
        let until =
            now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let rows = sqlx::query(
            "SELECT id, instance_id, local_id, kind, retries, topic, due, remaining FROM jobs \
             WHERE kind != 'external' AND due <= $1 AND retries > 0 \
             AND (lease_owner IS NULL OR lease_expires < $1) ORDER BY due, id LIMIT $2",
        )
        .bind(timestamp(now))
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for r in rows {
            let job = ClaimedJob {
                id: r.get(0),
                instance_id: r.get(1),
                local_id: r.get::<i64, _>(2) as LocalId,
                kind: r.get(3),
                retries: r.get(4),
                topic: r.get(5),
                due: r.get(6),
                remaining: r.get(7),
            };
            sqlx::query("UPDATE jobs SET lease_owner = $1, lease_expires = $2 WHERE id = $3")
                .bind(owner)
                .bind(timestamp(until))
                .bind(&job.id)
                .execute(&mut *tx)
                .await?;
            claimed.push(job);
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Runs a claimed job in its own unit at `now`, if `owner` still holds its lease.
    pub async fn run_job(
        &self,
        job: &ClaimedJob,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<JobOutcome> {
        let result = self.try_run_job(job, owner, now).await;
        match result {
            Ok(true) => Ok(JobOutcome::Done),
            Ok(false) => Ok(JobOutcome::LeaseLost),
            Err(e) => {
                let attempt = (4 - job.retries).max(1) as u32;
                let retry_at =
                    now + chrono::Duration::from_std(backoff(attempt)).unwrap_or_default();
                sqlx::query(
                    "UPDATE jobs SET retries = retries - 1, due = $1, last_error = $2, lease_owner = NULL, lease_expires = NULL \
                     WHERE id = $3 AND lease_owner = $4",
                )
                .bind(timestamp(retry_at))
                .bind(e.to_string())
                .bind(&job.id)
                .bind(owner)
                .execute(&self.pool)
                .await?;
                Ok(JobOutcome::Failed(e.to_string()))
            }
        }
    }

    async fn try_run_job(&self, job: &ClaimedJob, owner: &str, now: DateTime<Utc>) -> Result<bool> {
        let mut unit = self.begin(now, Some("job-worker")).await?;
        // Fencing: the job is applied only by the worker that still holds its lease.
        if !unit.take_job(&job.id, owner).await? {
            return Ok(false);
        }
        if job.kind == "start" {
            self.fire_start_timer(&mut unit, job).await?;
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
        use millrace_engine::definition::{NodeKind, TimerSpec, Trigger};
        use millrace_model::timer::TimerValue;
        let node = job.topic.clone().unwrap_or_default();
        let key = job.instance_id.clone();
        unit.start(&key, Variables::new(), None, Some(node.clone()))
            .await?;
        if job.remaining == Some(0) {
            return Ok(());
        }
        let def = self
            .latest_definition(&key)
            .ok_or_else(|| crate::StoreError::NotFound("process definition", key.clone()))?;
        let interval = def.node_ix(&node).and_then(|ix| match &def.node(ix).kind {
            NodeKind::StartEvent {
                trigger: Trigger::Timer(TimerSpec::Fixed(TimerValue::Cycle { interval, .. })),
                ..
            } => Some(*interval),
            _ => None,
        });
        let (Some(interval), Ok(due)) = (interval, chrono::DateTime::parse_from_rfc3339(&job.due))
        else {
            return Ok(());
        };
        let next = interval.after(due.with_timezone(&Utc));
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

    /// Gives up `owner`'s leases (on shutdown), so others need not wait for them to expire.
    pub async fn release_leases(&self, owner: &str) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE jobs SET lease_owner = NULL, lease_expires = NULL WHERE lease_owner = $1",
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
            if self.run_job(&job, owner, now).await? == JobOutcome::Done {
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
        let until = timestamp(
            now + chrono::Duration::from_std(lock).unwrap_or(chrono::Duration::seconds(60)),
        );
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let rows = sqlx::query(
            "SELECT j.id, j.instance_id, j.retries, i.body FROM jobs j JOIN instances i ON i.id = j.instance_id \
             WHERE j.kind = 'external' AND j.topic = $1 AND j.retries > 0 AND j.due <= $2 \
             AND (j.lease_owner IS NULL OR j.lease_expires < $2) ORDER BY j.due, j.id LIMIT $3",
        )
        .bind(topic)
        .bind(timestamp(now))
        .bind(max)
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.get(0);
            let instance_id: String = r.get(1);
            let body: String = r.get(3);
            let instance: millrace_engine::Instance = serde_json::from_str(&body)
                .map_err(|e| crate::StoreError::Corrupt(instance_id.clone(), e.to_string()))?;
            sqlx::query("UPDATE jobs SET lease_owner = $1, lease_expires = $2 WHERE id = $3")
                .bind(worker)
                .bind(&until)
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            out.push(LockedExternalTask {
                id,
                instance_id,
                topic: topic.to_string(),
                variables: instance.root_variables(),
                retries: r.get(2),
                lock_expires: until.clone(),
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn external_lock_holder(
        &self,
        id: &str,
    ) -> Result<Option<(String, Option<String>, Option<String>, i64)>> {
        let row = sqlx::query("SELECT instance_id, lease_owner, lease_expires, retries FROM jobs WHERE id = $1 AND kind = 'external'")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))))
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
        let taken = sqlx::query("DELETE FROM jobs WHERE id = $1 AND kind = 'external' AND lease_owner = $2 AND lease_expires >= $3")
            .bind(id)
            .bind(worker)
            .bind(timestamp(now))
            .execute(unit.tx())
            .await?;
        if taken.rows_affected() != 1 {
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
        let Some((instance, owner, expires, _)) = self.external_lock_holder(id).await? else {
            return Err(crate::StoreError::NotFound("external task", id.to_string()));
        };
        let live = owner.as_deref() == Some(worker) && expires.is_some_and(|e| e >= timestamp(now));
        if !live {
            return Err(crate::StoreError::Conflict(format!(
                "external task {id} is not locked by {worker}"
            )));
        }
        let lost =
            || crate::StoreError::Conflict(format!("external task {id} is not locked by {worker}"));
        // Fencing: every change below holds only while the lock is still this worker's.
        if retries > 0 {
            let due = now + chrono::Duration::from_std(retry_in).unwrap_or_default();
            let done = sqlx::query(
                "UPDATE jobs SET retries = $1, due = $2, last_error = $3, lease_owner = NULL, lease_expires = NULL \
                 WHERE id = $4 AND lease_owner = $5 AND lease_expires >= $6",
            )
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
        let taken = sqlx::query(
            "DELETE FROM jobs WHERE id = $1 AND lease_owner = $2 AND lease_expires >= $3",
        )
        .bind(id)
        .bind(worker)
        .bind(timestamp(now))
        .execute(unit.tx())
        .await?;
        if taken.rows_affected() != 1 {
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
