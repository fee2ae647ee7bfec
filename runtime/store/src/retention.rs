//! History retention: the ended instances of a version whose
//! `camunda:historyTimeToLive` has passed are removed with their history,
//! incidents, comments, documents, attachments and index rows, in batches, each batch
//! its own transaction and audited with what it removed. Running instances
//! are never touched; queued mail and message receipts are kept (the
//! outbox and idempotency keys are not history). On SQLite the freed pages
//! go back to the file system when the database was made with incremental
//! auto-vacuum (every database made since this module exists).

use chrono::{DateTime, Duration, Utc};

use crate::{timestamp, Dialect, Result, Store};

/// Instances removed per transaction.
pub const CLEANUP_BATCH: i64 = 500;

/// The tables that hold an instance's history, cleared with it.
const INSTANCE_TABLES: [&str; 8] = [
    "history",
    "slas",
    "incidents",
    "comments",
    "documents",
    "attachments",
    "instance_people",
    "instance_variables",
];

/// What one cleanup removed of one version (by the rows it deleted, so two
/// nodes cleaning at once do not both count the same instances).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned {
    /// Process key.
    pub key: String,
    /// Version.
    pub version: i64,
    /// Instances removed.
    pub instances: i64,
}

impl Store {
    /// Removes every ended instance whose version's time to live has passed
    /// at `now`; returns what it removed, per version (nothing: empty).
    pub async fn clean_history(&self, now: DateTime<Utc>) -> Result<Vec<Cleaned>> {
        let mut ttls: Vec<(String, i64, i64)> = match self.definitions.read() {
            Ok(map) => map
                .values()
                .filter_map(|d| Some((d.key.clone(), d.version, d.history_ttl_days?)))
                .collect(),
            Err(_) => Vec::new(),
        };
        ttls.sort();
        let mut out = Vec::new();
        for (key, version, days) in ttls {
            // The time to live is at most a hundred years (checked at deployment).
            let Some(cutoff) = now.checked_sub_signed(Duration::days(days)) else {
                continue;
            };
            let cutoff = timestamp(cutoff);
            let mut removed = 0;
            loop {
                let (n, full) = self.clean_batch(&key, version, &cutoff, now).await?;
                removed += n;
                if !full {
                    break;
                }
            }
            if removed > 0 {
                out.push(Cleaned {
                    key,
                    version,
                    instances: removed,
                });
            }
        }
        if !out.is_empty() && self.dialect == Dialect::Sqlite {
            // Gives the freed pages back (a no-op on a database without
            // incremental auto-vacuum).
            sqlx::query("PRAGMA incremental_vacuum")
                .execute(&self.pool)
                .await?;
        }
        Ok(out)
    }

    async fn clean_batch(
        &self,
        key: &str,
        version: i64,
        cutoff: &str,
        now: DateTime<Utc>,
    ) -> Result<(i64, bool)> {
        let mut tx = self.write_tx().await?;
        // On PostgreSQL nodes cleaning at once take different rows.
        let sql = format!(
            "SELECT id FROM instances WHERE key = $1 AND version = $2 AND state != 'active' \
             AND ended_at IS NOT NULL AND ended_at < $3 ORDER BY ended_at, id LIMIT $4{}",
            self.dialect.skip_locked()
        );
        let ids: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .bind(version)
            .bind(cutoff)
            .bind(CLEANUP_BATCH)
            .fetch_all(&mut *tx)
            .await?;
        if ids.is_empty() {
            return Ok((0, false));
        }
        let list: Vec<String> = (0..ids.len())
            .map(|i| self.dialect.placeholder(i + 1))
            .collect();
        let list = list.join(", ");
        let mut removed = 0;
        for table in INSTANCE_TABLES.iter().chain(["instances"].iter()) {
            let column = if *table == "instances" {
                "id"
            } else {
                "instance_id"
            };
            // Built from the constant table names above; every id is bound.
            let sql = format!("DELETE FROM {table} WHERE {column} IN ({list})");
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in &ids {
                q = q.bind(id);
            }
            // The last table is `instances`: its count is what was removed.
            removed = q.execute(&mut *tx).await?.rows_affected() as i64;
        }
        if removed == 0 {
            // Another node removed them first, and goes on with the rest.
            return Ok((0, false));
        }
        let detail = serde_json::json!({ "instances": removed, "endedBefore": cutoff });
        sqlx::query(
            "INSERT INTO audit (at, actor, action, target, outcome, detail) VALUES ($1, NULL, 'history.cleanup', $2, 'ok', $3)",
        )
        .bind(timestamp(now))
        .bind(format!("{key} v{version}"))
        .bind(detail.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // A full batch means there may be more.
        Ok((removed, ids.len() as i64 == CLEANUP_BATCH))
    }
}
