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
}

impl Worker {
    /// A worker named `owner` (unique per process: it is the lease owner).
    pub fn new(store: Arc<Store>, owner: impl Into<String>) -> Self {
        Worker {
            store,
            owner: owner.into(),
            lease: Duration::from_secs(30),
            batch: 64,
            idle: Duration::from_millis(200),
            counters: Arc::new(JobCounters::default()),
        }
    }

    /// Claims and runs what is due at `now`; returns how many jobs were applied.
    pub async fn run_once(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut applied = 0;
        for job in self
            .store
            .claim_jobs(&self.owner, now, self.lease, self.batch)
            .await?
        {
            let counter = match self.store.run_job(&job, now).await? {
                JobOutcome::Done => {
                    applied += 1;
                    &self.counters.applied
                }
                JobOutcome::LeaseLost => &self.counters.lease_lost,
                JobOutcome::Failed(_) => &self.counters.failed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        Ok(applied)
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
