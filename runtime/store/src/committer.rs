//! Group commit for concurrent requests: one writer task takes every
//! request waiting at that moment, runs each in its own savepoint within one
//! transaction, and commits them together: one fsync for the batch, each
//! request kept or undone on its own, and each caller answered only after the
//! commit (so nothing is acknowledged before it is durable).

use std::sync::Arc;

use chrono::Utc;
use millrace_engine::{Command, Variables};
use tokio::sync::{mpsc, oneshot};

use crate::{GrantedKeys, Result, Store, StoreError};

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
    /// Correlate a message ([`crate::Unit::correlate`]): to the oldest
    /// subscription that matches, or else a message start event.
    Message {
        /// The message name.
        name: String,
        /// Only instances with this business key.
        business_key: Option<String>,
        /// Only this instance.
        instance: Option<String>,
        /// Only instances whose process variables equal these.
        keys: Variables,
        /// Delivered with it.
        variables: Variables,
        /// The sender's id: a second delivery of it changes nothing.
        message_id: Option<String>,
        /// With nothing waiting, accept it anyway (and keep its id).
        accept_no_match: bool,
        /// The processes the sender may act on.
        reach: GrantedKeys,
    },
    /// Broadcast a signal ([`crate::Unit::signal`]).
    Signal {
        /// The signal name.
        name: String,
        /// Delivered with it.
        variables: Variables,
        /// The processes the sender may act on.
        reach: GrantedKeys,
    },
    /// Retry the work an incident stopped.
    Retry {
        /// Global incident id.
        incident: String,
    },
}

/// What a write did, answered once its batch has committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// An instance started: its id.
    Started(String),
    /// A task completed, an incident retried.
    Applied,
    /// A message was delivered to `instance` (`None`: accepted with nothing
    /// waiting); `duplicate`: its message id was delivered before, to
    /// `instance`, and nothing was done now.
    Correlated {
        /// The instance that received it.
        instance: Option<String>,
        /// Delivered before.
        duplicate: bool,
    },
    /// Nothing the sender may act on waits for the message; nothing was
    /// written. `withheld`: something the sender may not act on does.
    Unmatched {
        /// It passed over what the sender may not act on.
        withheld: bool,
    },
    /// A signal reached `delivered` subscriptions and start events.
    Signalled {
        /// How many.
        delivered: usize,
        /// It passed over what the sender may not act on.
        withheld: bool,
    },
}

struct Job {
    write: Write,
    actor: String,
    reply: oneshot::Sender<Result<Done>>,
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
            Write::Retry { incident } => {
                let instance = crate::split_id(incident).map_or(incident.as_str(), |(i, _)| i);
                let mut h = std::collections::hash_map::DefaultHasher::new();
                instance.hash(&mut h);
                (h.finish() % n as u64) as usize
            }
            // What a message or signal reaches is found in its unit; row locks
            // (and a run again on a conflict) keep concurrent batches apart.
            Write::Start { .. } | Write::Message { .. } | Write::Signal { .. } => {
                self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % n
            }
        };
        &self.lanes[i]
    }

    /// Runs a write as `actor` in the next batch; answers after the commit.
    pub async fn submit(&self, actor: &str, write: Write) -> Result<Done> {
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
        let (result, keep) = match run_one(&mut unit, job).await {
            Ok((done, keep)) => (Ok(done), keep),
            Err(e) => (Err(e), false),
        };
        if let Err(e) = unit.end_request(keep).await {
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

/// Runs one request in the batch's unit; says what it did and whether its
/// writes are to be kept (a duplicate or unmatched message keeps none).
async fn run_one(unit: &mut crate::Unit<'_>, job: &Job) -> Result<(Done, bool)> {
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
            Ok((Done::Started(id), true))
        }
        Write::CompleteTask { task, variables } => {
            unit.complete_task(task, variables.clone()).await?;
            unit.audit("task.complete", Some(task)).await?;
            Ok((Done::Applied, true))
        }
        Write::Message {
            name,
            business_key,
            instance,
            keys,
            variables,
            message_id,
            accept_no_match,
            reach,
        } => {
            unit.restrict_to(reach.clone());
            if let Some(message_id) = message_id {
                if let Some(first) = unit.receive_message_id(message_id, name).await? {
                    let done = Done::Correlated {
                        instance: first,
                        duplicate: true,
                    };
                    return Ok((done, false));
                }
            }
            let got = unit
                .correlate(
                    name,
                    instance.as_ref().map(std::slice::from_ref),
                    business_key.as_deref(),
                    keys,
                    variables.clone(),
                )
                .await?;
            match got {
                Some(id) => {
                    unit.audit("message", Some(name)).await?;
                    if let Some(message_id) = message_id {
                        unit.message_delivered(message_id, &id).await?;
                    }
                    let done = Done::Correlated {
                        instance: Some(id),
                        duplicate: false,
                    };
                    Ok((done, true))
                }
                // Accepted and dropped: a repeat of this id is dropped too,
                // even if something has begun to wait for the message since.
                None if *accept_no_match => Ok((
                    Done::Correlated {
                        instance: None,
                        duplicate: false,
                    },
                    true,
                )),
                None => Ok((
                    Done::Unmatched {
                        withheld: unit.withheld(),
                    },
                    false,
                )),
            }
        }
        Write::Signal {
            name,
            variables,
            reach,
        } => {
            unit.restrict_to(reach.clone());
            let delivered = unit.signal(name, None, variables.clone()).await?;
            unit.audit("signal", Some(name)).await?;
            let done = Done::Signalled {
                delivered,
                withheld: unit.withheld(),
            };
            Ok((done, true))
        }
        Write::Retry { incident } => {
            let (instance, local) = crate::split_id(incident)
                .ok_or_else(|| StoreError::NotFound("incident", incident.clone()))?;
            unit.command(instance, Command::RetryIncident { incident: local })
                .await?;
            unit.audit("retry", Some(incident)).await?;
            Ok((Done::Applied, true))
        }
    }
}
