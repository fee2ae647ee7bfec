//! Batch operations: migrate, cancel, retry or modify many instances as one
//! piece of work with a result per item. A batch is rows, not memory: its
//! items are worked in chunks by every node's worker (`SKIP LOCKED` on
//! PostgreSQL keeps two nodes off the same items), so progress survives a
//! restart, and a stopped batch leaves its remaining items pending.
//!
//! Each item runs in its own savepoint within its chunk's transaction: an
//! item that fails (the engine refuses it, its instance is gone, a statement
//! of its own fails) is undone alone and recorded as failed with the reason;
//! a transient error (a conflict, a lost connection) abandons the chunk,
//! whose items stay pending for the next attempt.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use millrace_engine::{Command, ElementMapping, Modification};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{split_id, timestamp, Result, Store, StoreError};

/// Items one chunk works before it commits.
pub const BATCH_CHUNK: usize = 200;

/// Rows per multi-row `batch_items` insert (3 parameters each).
const ITEM_INSERT_CHUNK: usize = 300;

/// What a batch does to each of its items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum BatchWork {
    /// Moves each instance (an item is an instance id) to `to_version`.
    #[serde(rename_all = "camelCase")]
    Migrate {
        /// The process.
        key: String,
        /// The version the instances move from.
        from_version: i64,
        /// The version they move to.
        to_version: i64,
        /// Source element id → target element id; the rest map by id.
        mapping: ElementMapping,
    },
    /// Cancels each instance (state `terminated`).
    Cancel {
        /// Why, for the audit trail.
        reason: Option<String>,
    },
    /// Retries each incident (an item is an incident id).
    Retry,
    /// Applies the same modification to each instance.
    Modify {
        /// The instructions, in order.
        instructions: Vec<Modification>,
        /// Why, for the audit trail.
        annotation: Option<String>,
    },
}

impl BatchWork {
    /// Its kind as stored and shown: `migrate`, `cancel`, `retry`, `modify`.
    pub fn kind(&self) -> &'static str {
        match self {
            BatchWork::Migrate { .. } => "migrate",
            BatchWork::Cancel { .. } => "cancel",
            BatchWork::Retry => "retry",
            BatchWork::Modify { .. } => "modify",
        }
    }
}

/// A batch with its progress.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchRow {
    /// Its id.
    pub id: String,
    /// What it does.
    pub work: BatchWork,
    /// Who made it: each item runs as them.
    pub created_by: String,
    /// When.
    pub created_at: String,
    /// `running`, `stopped` or `done`.
    pub state: String,
    /// Items in all.
    pub total: i64,
    /// Items done.
    pub done: i64,
    /// Items that failed, each with its reason.
    pub failed: i64,
    /// When it finished or was stopped.
    pub ended_at: Option<String>,
}

/// One item of a batch and its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItemRow {
    /// Its place in the batch, from 1.
    pub seq: i64,
    /// The instance (or, for a retry, the incident) it works on.
    pub target: String,
    /// `pending`, `done` or `failed`.
    pub state: String,
    /// Why it failed.
    pub message: Option<String>,
    /// When it was worked.
    pub done_at: Option<String>,
}

const BATCH_COLUMNS: &str =
    "b.id, b.spec, b.created_by, b.created_at, b.state, b.total, b.ended_at, \
     (SELECT COUNT(*) FROM batch_items i WHERE i.batch_id = b.id AND i.state = 'done'), \
     (SELECT COUNT(*) FROM batch_items i WHERE i.batch_id = b.id AND i.state = 'failed')";

fn batch_row(r: &sqlx::any::AnyRow) -> Result<BatchRow> {
    let id: String = r.get(0);
    let spec: String = r.get(1);
    let work = serde_json::from_str(&spec)
        .map_err(|e| StoreError::Corrupt(format!("batch {id}"), e.to_string()))?;
    Ok(BatchRow {
        id,
        work,
        created_by: r.get(2),
        created_at: r.get(3),
        state: r.get(4),
        total: r.get(5),
        ended_at: r.get(6),
        done: r.get(7),
        failed: r.get(8),
    })
}

impl Store {
    /// Records a batch of `targets` (instance ids; incident ids for a retry),
    /// all pending; the workers take it from there.
    pub async fn create_batch(
        &self,
        id: &str,
        work: &BatchWork,
        created_by: &str,
        targets: &[String],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let spec = serde_json::to_string(work)
            .map_err(|e| StoreError::Corrupt(format!("batch {id}"), e.to_string()))?;
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO batches (id, kind, spec, created_by, created_at, state, total) \
             VALUES ($1, $2, $3, $4, $5, 'running', $6)",
        )
        .bind(id)
        .bind(work.kind())
        .bind(&spec)
        .bind(created_by)
        .bind(timestamp(now))
        .bind(targets.len() as i64)
        .execute(&mut *tx)
        .await?;
        for (c, chunk) in targets.chunks(ITEM_INSERT_CHUNK).enumerate() {
            let mut sql =
                String::from("INSERT INTO batch_items (batch_id, seq, target, state) VALUES ");
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push_str(", ");
                }
                let p = |k: usize| self.dialect.placeholder(i * 3 + k);
                sql.push_str(&format!("({}, {}, {}, 'pending')", p(1), p(2), p(3)));
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (i, target) in chunk.iter().enumerate() {
                let seq = (c * ITEM_INSERT_CHUNK + i + 1) as i64;
                q = q.bind(id).bind(seq).bind(target);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The latest batches, newest first, with their progress.
    pub async fn batches(&self, limit: i64) -> Result<Vec<BatchRow>> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM batches b ORDER BY b.created_at DESC, b.id DESC LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(batch_row).collect()
    }

    /// One batch with its progress.
    pub async fn batch(&self, id: &str) -> Result<Option<BatchRow>> {
        let sql = format!("SELECT {BATCH_COLUMNS} FROM batches b WHERE b.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(batch_row).transpose()
    }

    /// A batch's items after `after_seq`, in order, optionally only those in
    /// `state`.
    pub async fn batch_items(
        &self,
        id: &str,
        state: Option<&str>,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<BatchItemRow>> {
        let rows = sqlx::query(
            "SELECT seq, target, state, message, done_at FROM batch_items \
             WHERE batch_id = $1 AND seq > $2 AND ($3 IS NULL OR state = $3) ORDER BY seq LIMIT $4",
        )
        .bind(id)
        .bind(after_seq)
        .bind(state)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| BatchItemRow {
                seq: r.get(0),
                target: r.get(1),
                state: r.get(2),
                message: r.get(3),
                done_at: r.get(4),
            })
            .collect())
    }

    /// Stops a running batch: the items not yet worked stay pending and are
    /// not worked. False when it was not running.
    pub async fn stop_batch(&self, id: &str, now: DateTime<Utc>) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE batches SET state = 'stopped', ended_at = $2 WHERE id = $1 AND state = 'running'",
        )
        .bind(id)
        .bind(timestamp(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Works up to `chunk` pending items of the oldest running batch in one
    /// transaction, and marks a batch with nothing left done. Returns how
    /// many items it worked (0: nothing to do).
    pub async fn run_batch_step(&self, now: DateTime<Utc>, chunk: usize) -> Result<usize> {
        // A read first: the worker asks every round, and on SQLite a write
        // transaction takes the database's one write lock.
        let any: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM batches WHERE state = 'running' LIMIT 1")
                .fetch_optional(&self.pool)
                .await?;
        if any.is_none() {
            return Ok(0);
        }
        let mut unit = self.begin(now, None).await?;
        let found = sqlx::query(
            "SELECT id, spec, created_by FROM batches WHERE state = 'running' \
             ORDER BY created_at, id LIMIT 1",
        )
        .fetch_optional(&mut *unit.tx)
        .await?;
        let Some(found) = found else {
            return Ok(0);
        };
        let (id, spec, created_by): (String, String, String) =
            (found.get(0), found.get(1), found.get(2));
        let work: BatchWork = serde_json::from_str(&spec)
            .map_err(|e| StoreError::Corrupt(format!("batch {id}"), e.to_string()))?;
        let sql = format!(
            "SELECT seq, target FROM batch_items WHERE batch_id = $1 AND state = 'pending' \
             ORDER BY seq LIMIT $2{}",
            self.dialect.skip_locked()
        );
        let items: Vec<(i64, String)> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&id)
            .bind(chunk as i64)
            .fetch_all(&mut *unit.tx)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        if items.is_empty() {
            // Another node may still hold the last items; only when none is
            // pending at all is the batch done.
            let pending: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM batch_items WHERE batch_id = $1 AND state = 'pending'",
            )
            .bind(&id)
            .fetch_one(&mut *unit.tx)
            .await?;
            if pending == 0 {
                sqlx::query(
                    "UPDATE batches SET state = 'done', ended_at = $2 WHERE id = $1 AND state = 'running'",
                )
                .bind(&id)
                .bind(timestamp(now))
                .execute(&mut *unit.tx)
                .await?;
                unit.commit().await?;
            }
            return Ok(0);
        }
        let worked = items.len();
        for (seq, target) in items {
            unit.begin_request(&created_by).await?;
            let outcome = work_item(&mut unit, &work, &target).await;
            let failure = match outcome {
                Ok(()) => None,
                // A conflict or a lost connection: the chunk is abandoned and
                // its items are worked again. Anything else is the item's own
                // failure, undone by its savepoint, so one bad item cannot
                // hold up the batch.
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => Some(e.to_string()),
            };
            unit.end_request(failure.is_none()).await?;
            sqlx::query(
                "UPDATE batch_items SET state = $1, message = $2, done_at = $3 WHERE batch_id = $4 AND seq = $5",
            )
            .bind(if failure.is_none() { "done" } else { "failed" })
            .bind(&failure)
            .bind(timestamp(now))
            .bind(&id)
            .bind(seq)
            .execute(&mut *unit.tx)
            .await?;
        }
        unit.commit().await?;
        Ok(worked)
    }

    /// What migrating each running instance of `from_version` of `key` to
    /// `to_version` would do, without doing it: each instance (oldest first,
    /// at most `limit`) with `None` when it can move, or the reason it cannot.
    pub async fn migration_preview(
        &self,
        key: &str,
        from_version: i64,
        to_version: i64,
        mapping: &ElementMapping,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<MigrationCandidate>> {
        let (from, to) = self.two_versions(key, from_version, to_version).await?;
        // Streamed: each body is read, tried and dropped, never all at once.
        let mut rows = sqlx::query(
            "SELECT id, business_key, body FROM instances \
             WHERE key = $1 AND version = $2 AND state = 'active' ORDER BY started_at, id LIMIT $3",
        )
        .bind(key)
        .bind(from_version)
        .bind(limit)
        .fetch(&self.pool);
        let mut out = Vec::new();
        while let Some(r) = rows.try_next().await? {
            let id: String = r.get(0);
            let body: String = r.get(2);
            let (refusal, at) = match serde_json::from_str::<millrace_engine::Instance>(&body) {
                Ok(mut inst) => {
                    let mut at: Vec<String> = inst
                        .tokens
                        .values()
                        .filter(|t| !t.inner)
                        .map(|t| from.node(t.node).id.clone())
                        .collect();
                    at.sort();
                    at.dedup();
                    let refusal = millrace_engine::migrate(&from, &to, &mut inst, mapping, now)
                        .err()
                        .map(|e| e.to_string());
                    (refusal, at)
                }
                Err(e) => (
                    Some(format!("its stored state is unreadable: {e}")),
                    Vec::new(),
                ),
            };
            out.push(MigrationCandidate {
                business_key: r.get(1),
                id,
                refusal,
                at,
            });
        }
        Ok(out)
    }

    /// The running instances of one version, oldest first, at most `limit`.
    pub async fn active_instance_ids(
        &self,
        key: &str,
        version: i64,
        limit: i64,
    ) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM instances WHERE key = $1 AND version = $2 AND state = 'active' \
             ORDER BY started_at, id LIMIT $3",
        )
        .bind(key)
        .bind(version)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Versions `a` and `b` of `key`, reading deployments another node made.
    pub async fn two_versions(
        &self,
        key: &str,
        a: i64,
        b: i64,
    ) -> Result<(
        std::sync::Arc<millrace_engine::ProcessDefinition>,
        std::sync::Arc<millrace_engine::ProcessDefinition>,
    )> {
        if self.definition(key, a).is_none() || self.definition(key, b).is_none() {
            self.sync_definitions().await?;
        }
        let get = |v: i64| {
            self.definition(key, v)
                .ok_or_else(|| StoreError::NotFound("process definition", format!("{key} v{v}")))
        };
        Ok((get(a)?, get(b)?))
    }
}

/// One running instance a migration would move, or the reason it would not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationCandidate {
    /// The instance.
    pub id: String,
    /// Its business key.
    pub business_key: Option<String>,
    /// `None`: it can move; otherwise why not.
    pub refusal: Option<String>,
    /// The elements of the old version its tokens stand at.
    pub at: Vec<String>,
}

/// Works one item within the unit's current request.
async fn work_item(unit: &mut crate::Unit<'_>, work: &BatchWork, target: &str) -> Result<()> {
    match work {
        BatchWork::Migrate {
            key,
            from_version,
            to_version,
            mapping,
        } => {
            let inst = unit.instance(target).await?;
            if &inst.key != key || inst.version != *from_version {
                return Err(StoreError::Migration(millrace_engine::MigrationRefused(
                    format!(
                        "it runs version {} of {}, not version {from_version} of {key}",
                        inst.version, inst.key
                    ),
                )));
            }
            unit.migrate(target, *to_version, mapping).await?;
            let detail =
                serde_json::json!({ "fromVersion": from_version, "toVersion": to_version });
            unit.audit_with("instance.migrate", Some(target), Some(&detail.to_string()))
                .await
        }
        BatchWork::Cancel { reason } => {
            unit.command(target, Command::Cancel).await?;
            unit.audit_with("cancel", Some(target), reason.as_deref())
                .await
        }
        BatchWork::Retry => {
            let (instance, local) = split_id(target)
                .ok_or_else(|| StoreError::NotFound("incident", target.to_string()))?;
            unit.command(instance, Command::RetryIncident { incident: local })
                .await?;
            unit.audit("retry", Some(target)).await
        }
        BatchWork::Modify {
            instructions,
            annotation,
        } => {
            unit.command(
                target,
                Command::Modify {
                    instructions: instructions.clone(),
                },
            )
            .await?;
            let detail =
                serde_json::json!({ "instructions": instructions, "annotation": annotation });
            unit.audit_with("instance.modify", Some(target), Some(&detail.to_string()))
                .await
        }
    }
}
