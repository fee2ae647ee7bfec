//! Group commit for concurrent requests: one writer task takes every
//! request waiting at that moment, runs each in its own savepoint within one
//! transaction, and commits them together: one fsync for the batch, each
//! request kept or undone on its own, and each caller answered only after the
//! commit (so nothing is acknowledged before it is durable).

use std::sync::Arc;

use chrono::Utc;
use millrace_engine::Variables;
use tokio::sync::{mpsc, oneshot};

use crate::{Result, Store, StoreError};

/// A write the committer runs.
#[derive(Debug)]
pub enum Write {
    /// Start an instance of the latest version of `key`.
    Start {
        /// Process key.
        key: String,
        /// Start variables.
        variables: Variables,
        /// Business key.
        business_key: Option<String>,
    },
    /// Complete a user task.
    CompleteTask {
        /// Global task id.
        task: String,
        /// Submitted variables.
        variables: Variables,
    },
}

struct Job {
    write: Write,
    actor: String,
    reply: oneshot::Sender<Result<Option<String>>>,
}

/// How often a request that met a transient conflict (another node's
/// transaction on the same instance, a deadlock the database broke) is run
/// again, from freshly read state, before its caller hears of the conflict.
const ATTEMPTS: usize = 3;

/// Most requests in one transaction.
const MAX_BATCH: usize = 256;

/// The handle requests are submitted through.
#[derive(Clone)]
pub struct Committer {
    /// One writer task ("lane") per sender.
    lanes: Arc<[mpsc::Sender<Job>]>,
    next: Arc<std::sync::atomic::AtomicUsize>,
}

/// Writer lanes: SQLite has one writer, so one lane; PostgreSQL commits
/// concurrent transactions, so a node keeps several batches in flight.
fn lanes_for(store: &Store) -> usize {
    match store.dialect() {
        crate::Dialect::Sqlite => 1,
        crate::Dialect::Postgres => 4,
    }
}

impl Committer {
    /// Spawns the writer tasks on the current tokio runtime.
    pub fn spawn(store: Arc<Store>) -> Committer {
        let lanes: Vec<mpsc::Sender<Job>> = (0..lanes_for(&store))
            .map(|_| Self::spawn_lane(store.clone()))
            .collect();
        Committer {
            lanes: lanes.into(),
            next: Arc::default(),
        }
    }

    fn spawn_lane(store: Arc<Store>) -> mpsc::Sender<Job> {
        let (sender, mut receiver) = mpsc::channel::<Job>(4 * MAX_BATCH);
        tokio::spawn(async move {
            while let Some(first) = receiver.recv().await {
                let mut jobs = vec![first];
                while jobs.len() < MAX_BATCH {
                    match receiver.try_recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => break,
                    }
                }
                // Each batch in its own task: a panic fails that batch (its callers'
                // answers are dropped, so they see an error), not the writer.
                let store = store.clone();
                if let Err(e) = tokio::spawn(async move { run_batch(&store, jobs).await }).await {
                    tracing::error!(error = %e, "a write batch failed abnormally");
                }
            }
        });
        sender
    }

    /// The lane for a write: a task's instance always goes to the same lane,
    /// so two requests for one instance never sit in concurrent batches.
    fn lane(&self, write: &Write) -> &mpsc::Sender<Job> {
        use std::hash::{Hash, Hasher};
        let n = self.lanes.len();
        let i = match write {
            Write::CompleteTask { task, .. } => {
                let instance = crate::split_id(task).map_or(task.as_str(), |(i, _)| i);
                let mut h = std::collections::hash_map::DefaultHasher::new();
                instance.hash(&mut h);
                (h.finish() % n as u64) as usize
            }
            Write::Start { .. } => self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % n,
        };
        &self.lanes[i]
    }

    /// Runs a write as `actor` in the next batch; answers after the commit.
    /// A start answers the new instance's id.
    pub async fn submit(&self, actor: &str, write: Write) -> Result<Option<String>> {
        let (reply, answer) = oneshot::channel();
        self.lane(&write)
            .send(Job {
                write,
                actor: actor.to_string(),
                reply,
            })
            .await
            .map_err(|_| StoreError::Unavailable("the writer task has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the writer task dropped a request".into()))?
    }
}

async fn run_batch(store: &Store, mut jobs: Vec<Job>) {
    for attempt in 1..=ATTEMPTS {
        jobs = run_batch_once(store, jobs, attempt == ATTEMPTS).await;
        if jobs.is_empty() {
            return;
        }
    }
}

/// Runs one batch; returns the requests to run again (transient failures,
/// unless `last`), after answering all the others.
async fn run_batch_once(store: &Store, jobs: Vec<Job>, last: bool) -> Vec<Job> {
    let mut unit = match store.begin(Utc::now(), None).await {
        Ok(u) => u,
        Err(e) => {
            let reason = e.to_string();
            for j in jobs {
                let _ = j.reply.send(Err(StoreError::Unavailable(format!(
                    "the batch could not begin: {reason}"
                ))));
            }
            return Vec::new();
        }
    };
    let mut results = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let result = run_one(&mut unit, job).await;
        if let Err(e) = unit.end_request(result.is_ok()).await {
            // The transaction is no longer trustworthy: nothing of this batch commits.
            let reason = e.to_string();
            drop(unit);
            for j in jobs {
                let _ = j.reply.send(Err(StoreError::Unavailable(format!(
                    "the batch was abandoned: {reason}"
                ))));
            }
            return Vec::new();
        }
        results.push(result);
    }
    match unit.commit().await {
        Ok(()) => {
            let mut again = Vec::new();
            for (job, result) in jobs.into_iter().zip(results) {
                match result {
                    Err(e) if !last && e.is_transient() => {
                        tracing::debug!(error = %e, "a request met a conflict; running it again");
                        again.push(job);
                    }
                    result => {
                        let _ = job.reply.send(result);
                    }
                }
            }
            again
        }
        Err(e) => {
            let reason = e.to_string();
            for job in jobs {
                let _ = job.reply.send(Err(StoreError::Unavailable(format!(
                    "the batch did not commit: {reason}"
                ))));
            }
            Vec::new()
        }
    }
}

async fn run_one(unit: &mut crate::Unit<'_>, job: &Job) -> Result<Option<String>> {
    unit.begin_request(&job.actor).await?;
    match &job.write {
        Write::Start {
            key,
            variables,
            business_key,
        } => {
            let id = unit
                .start(key, variables.clone(), business_key.clone(), None)
                .await?;
            unit.audit("start", Some(&id)).await?;
            Ok(Some(id))
        }
        Write::CompleteTask { task, variables } => {
            unit.complete_task(task, variables.clone()).await?;
            unit.audit("task.complete", Some(task)).await?;
            Ok(None)
        }
    }
}
