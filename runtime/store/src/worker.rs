//! The job worker: claims due jobs under a lease and runs them, on whatever
//! clock it is given (the real one in the server, a virtual one in tests).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::{JobOutcome, Result, Store};

/// What a worker's claimed jobs came to, for metrics.
#[derive(Debug, Default)]
pub struct JobCounters {
    /// Applied and committed.
    pub applied: AtomicU64,
    /// Refused at apply time: the lease had expired and was taken (fencing at work).
    pub lease_lost: AtomicU64,
    /// Failed (to be retried, or out of retries).
    pub failed: AtomicU64,
}

/// A job worker.
pub struct Worker {
    store: Arc<Store>,
    owner: String,
    /// How long a claim holds.
    pub lease: Duration,
    /// Most jobs claimed at once.
    pub batch: i64,
    /// How long to wait when nothing is due.
    pub idle: Duration,
    /// Outcomes so far.
    pub counters: Arc<JobCounters>,
    /// How many claimed jobs run at once. On PostgreSQL each runs in its own
    /// transaction on its own connection, jobs of one instance taking turns on
    /// its row lock; SQLite has one writer, so there it is 1.
    pub concurrency: usize,
}

impl Worker {
    /// A worker named `owner` (unique per process: it is the lease owner).
    pub fn new(store: Arc<Store>, owner: impl Into<String>) -> Self {
        Worker {
            owner: owner.into(),
            lease: Duration::from_secs(30),
            batch: 64,
            idle: Duration::from_millis(200),
            counters: Arc::new(JobCounters::default()),
            concurrency: match store.dialect() {
                crate::Dialect::Sqlite => 1,
                crate::Dialect::Postgres => 8,
            },
            store,
        }
    }

    /// Claims and runs what is due at `now`; returns how many jobs were applied.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize> {
        let jobs = self
            .store
            .claim_jobs(&self.owner, now, self.lease, self.batch)
            .await?;
        let mut applied = 0;
        let mut running = tokio::task::JoinSet::new();
        // Claimed in due order and started in due order, at most `concurrency` at once.
        for job in jobs {
            while running.len() >= self.concurrency.max(1) {
                applied += self.settle(running.join_next().await);
            }
            let store = self.store.clone();
            running.spawn(async move { store.run_job(&job, now).await });
        }
        while let Some(done) = running.join_next().await {
            applied += self.settle(Some(done));
        }
        Ok(applied)
    }

    /// Counts one finished job; 1 when it was applied.
    fn settle(
        &self,
        done: Option<std::result::Result<Result<JobOutcome>, tokio::task::JoinError>>,
    ) -> usize {
        let outcome = match done {
            None => return 0,
            Some(Ok(Ok(outcome))) => outcome,
            // Recording the failure failed too (the database is away): the lease
            // expires and the job is claimed again. The other jobs run on.
            Some(Ok(Err(e))) => {
                tracing::warn!(owner = %self.owner, error = %e, "a job failed and its failure could not be recorded");
                JobOutcome::Failed(e.to_string())
            }
            Some(Err(e)) => JobOutcome::Failed(format!("the job's task ended abnormally: {e}")),
        };
        let (counter, applied) = match outcome {
            JobOutcome::Done => (&self.counters.applied, 1),
            JobOutcome::LeaseLost => (&self.counters.lease_lost, 0),
            JobOutcome::Failed(_) => (&self.counters.failed, 0),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        applied
    }

    /// Runs until `stop` turns true, then gives its leases back.
    pub async fn run(
        &self,
        clock: impl Fn() -> DateTime<Utc>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<()> {
        let mut synced = std::time::Instant::now();
        while !*stop.borrow() {
            if synced.elapsed() >= Duration::from_secs(2) {
                // New versions deployed through another node start here too.
                if let Err(e) = self.store.sync_definitions().await {
                    tracing::warn!(error = %e, "reading deployed definitions failed");
                }
                synced = std::time::Instant::now();
            }
            // A failing database (restarting, unreachable) pauses the worker; it
            // does not stop it. Leases it held expire and any node takes them.
            let applied = match self.run_once(clock()).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(owner = %self.owner, error = %e, "claiming or running jobs failed; retrying");
                    0
                }
            };
            // A share of the batch operations under way, between rounds of jobs.
            let applied = applied
                + match self.store.run_batch_step(clock(), crate::BATCH_CHUNK).await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(owner = %self.owner, error = %e, "working a batch failed; retrying");
                        0
                    }
                };
            if applied == 0 {
                tokio::select! {
                    _ = tokio::time::sleep(self.idle) => {}
                    _ = stop.changed() => {}
                }
            }
        }
        self.store.release_leases(&self.owner).await?;
        Ok(())
    }
}
