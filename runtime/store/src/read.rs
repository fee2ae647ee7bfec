//! Queries: what the scenario runner, the API and the inbox read.

use std::collections::BTreeMap;

use millrace_engine::Instance;
use sqlx::Row;

use crate::{Result, Store, StoreError};

/// One audit-trail row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    /// Order.
    pub seq: i64,
    /// The instance.
    pub instance_id: String,
    /// When.
    pub at: String,
    /// Who.
    pub actor: Option<String>,
    /// What (`activityCompleted`, …).
    pub event: String,
    /// The node, if any.
    pub node_id: Option<String>,
    /// Detail as JSON text.
    pub detail: Option<String>,
}

/// An open incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRow {
    /// Global id.
    pub id: String,
    /// The instance.
    pub instance_id: String,
    /// The node.
    pub node_id: String,
    /// Why.
    pub message: String,
    /// The instance's process key.
    pub key: String,
    /// When it was raised.
    pub created_at: String,
}

/// An instance as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSummary {
    /// Id.
    pub id: String,
    /// Process key.
    pub key: String,
    /// Version.
    pub version: i64,
    /// State.
    pub state: String,
    /// Has an open incident.
    pub has_incident: bool,
    /// Business key.
    pub business_key: Option<String>,
    /// When it started.
    pub started_at: String,
}

/// A request found by [`Store::find_requests`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSummary {
    /// The instance id.
    pub id: String,
    /// Process key.
    pub key: String,
    /// Its number: the business key, or else its `requestId` variable.
    pub request: Option<String>,
    /// Its `status` variable.
    pub status: Option<String>,
    /// State.
    pub state: String,
    /// When it started.
    pub started_at: String,
}

impl Store {
    /// An instance's state.
    pub async fn instance(&self, id: &str) -> Result<Instance> {
        let body: String = sqlx::query_scalar("SELECT body FROM instances WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound("instance", id.to_string()))?;
        match serde_json::from_str(&body) {
            Ok(instance) => Ok(instance),
            Err(e) => {
                let reason = e.to_string();
                self.mark_unreadable(id, &reason, chrono::Utc::now())
                    .await?;
                Err(StoreError::Corrupt(id.to_string(), reason))
            }
        }
    }

    /// The instance and every instance its call activities started, recursively (root first).
    pub async fn instance_tree(&self, root: &str) -> Result<Vec<String>> {
        let mut out = vec![root.to_string()];
        let mut i = 0;
        while i < out.len() {
            let children: Vec<String> = sqlx::query_scalar(
                "SELECT id FROM instances WHERE parent_id = $1 ORDER BY started_at, id",
            )
            .bind(&out[i])
            .fetch_all(&self.pool)
            .await?;
            out.extend(children);
            i += 1;
        }
        Ok(out)
    }

    /// Open tasks of one instance, oldest first.
    pub async fn tasks_of(&self, instance: &str) -> Result<Vec<crate::TaskView>> {
        let mut out = Vec::new();
        for id in self.task_ids_of(instance).await? {
            out.push(self.task(&id).await?);
        }
        Ok(out)
    }

    /// The audit trail of one instance, in order.
    pub async fn history(&self, instance: &str) -> Result<Vec<HistoryRow>> {
        let rows = sqlx::query(
            "SELECT seq, instance_id, at, actor, event, node_id, detail FROM history WHERE instance_id = $1 ORDER BY seq",
        )
        .bind(instance)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| HistoryRow {
                seq: r.get(0),
                instance_id: r.get(1),
                at: r.get(2),
                actor: r.get(3),
                event: r.get(4),
                node_id: r.get(5),
                detail: r.get(6),
            })
            .collect())
    }

    /// Open incidents, of one instance or of all, oldest first.
    pub async fn incidents(&self, instance: Option<&str>, limit: i64) -> Result<Vec<IncidentRow>> {
        let rows = sqlx::query(
            "SELECT x.id, x.instance_id, x.node_id, x.message, i.key, x.created_at FROM incidents x \
             JOIN instances i ON i.id = x.instance_id \
             WHERE x.resolved_at IS NULL AND ($1 IS NULL OR x.instance_id = $1) ORDER BY x.created_at, x.id LIMIT $2",
        )
        .bind(instance)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| IncidentRow {
                id: r.get(0),
                instance_id: r.get(1),
                node_id: r.get(2),
                message: r.get(3),
                key: r.get(4),
                created_at: r.get(5),
            })
            .collect())
    }

    /// The earliest due time of a timer or async job, if any.
    pub async fn next_due(&self) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar(
                "SELECT MIN(due) FROM jobs WHERE kind != 'external' AND retries > 0",
            )
            .fetch_one(&self.pool)
            .await?,
        )
    }

    /// How many timer and async jobs are waiting (retryable ones).
    pub async fn pending_jobs(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM jobs WHERE kind != 'external' AND retries > 0",
            )
            .fetch_one(&self.pool)
            .await?,
        )
    }

    /// How many seconds the most overdue timer or async job is late at `now` (0 when none is).
    pub async fn job_lag_seconds(&self, now: chrono::DateTime<chrono::Utc>) -> Result<f64> {
        let due = self.next_due().await?;
        Ok(due
            .and_then(|d| chrono::DateTime::parse_from_rfc3339(&d).ok())
            .map(|d| {
                (now - d.with_timezone(&chrono::Utc))
                    .num_milliseconds()
                    .max(0) as f64
                    / 1000.0
            })
            .unwrap_or(0.0))
    }

    /// Each process's figures for metrics, by key; one grouped query per
    /// table (indexes on `instances (key, state)` and the tasks' key).
    pub async fn process_counts(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<ProcessCounts>> {
        let mut by_key = BTreeMap::<String, ProcessCounts>::new();
        let states: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT key, state, COUNT(*) FROM instances GROUP BY key, state")
                .fetch_all(&self.pool)
                .await?;
        let now_text = crate::timestamp(now);
        let tasks: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT key, COUNT(*), SUM(CASE WHEN due IS NOT NULL AND due < $1 THEN 1 ELSE 0 END) FROM tasks GROUP BY key",
        )
        .bind(&now_text)
        .fetch_all(&self.pool)
        .await?;
        let incidents: Vec<(String, i64)> = sqlx::query_as(
            "SELECT i.key, COUNT(*) FROM incidents n JOIN instances i ON i.id = n.instance_id \
             WHERE n.resolved_at IS NULL GROUP BY i.key",
        )
        .fetch_all(&self.pool)
        .await?;
        let due: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT i.key, MIN(j.due) FROM jobs j JOIN instances i ON i.id = j.instance_id \
             WHERE j.kind != 'external' AND j.retries > 0 GROUP BY i.key",
        )
        .fetch_all(&self.pool)
        .await?;
        fn get(by_key: &mut BTreeMap<String, ProcessCounts>, key: String) -> &mut ProcessCounts {
            by_key.entry(key.clone()).or_insert_with(|| ProcessCounts {
                key,
                ..ProcessCounts::default()
            })
        }
        for (key, state, n) in states {
            let c = get(&mut by_key, key);
            match state.as_str() {
                "active" => c.active = n,
                "completed" => c.completed = n,
                _ => c.terminated += n,
            }
        }
        for (key, open, overdue) in tasks {
            let c = get(&mut by_key, key);
            c.tasks_open = open;
            c.tasks_overdue = overdue;
        }
        for (key, n) in incidents {
            get(&mut by_key, key).incidents_open = n;
        }
        for (key, first) in due {
            let lag = first
                .and_then(|d| chrono::DateTime::parse_from_rfc3339(&d).ok())
                .map(|d| {
                    (now - d.with_timezone(&chrono::Utc))
                        .num_milliseconds()
                        .max(0) as f64
                        / 1000.0
                })
                .unwrap_or(0.0);
            get(&mut by_key, key).job_lag_seconds = lag;
        }
        Ok(by_key.into_values().collect())
    }

    /// Instance and task counts for metrics.
    pub async fn counts(&self) -> Result<Counts> {
        let states: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) FROM instances GROUP BY state")
                .fetch_all(&self.pool)
                .await?;
        let of = |name: &str| {
            states
                .iter()
                .find(|(s, _)| s == name)
                .map_or(0, |(_, n)| *n)
        };
        let tasks_open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tasks")
            .fetch_one(&self.pool)
            .await?;
        let incidents_open: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM incidents WHERE resolved_at IS NULL")
                .fetch_one(&self.pool)
                .await?;
        // Every task ever created is either still open or ended with a taskEnded row.
        let tasks_created: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM tasks) + (SELECT COUNT(*) FROM history WHERE event = 'taskEnded')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Counts {
            active: of("active"),
            completed: of("completed"),
            terminated: of("terminated"),
            tasks_open,
            tasks_created,
            incidents_open,
        })
    }
}

/// One process's figures for monitoring.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessCounts {
    /// The process key.
    pub key: String,
    /// Its instances by state.
    pub active: i64,
    /// Completed instances.
    pub completed: i64,
    /// Cancelled or terminated instances.
    pub terminated: i64,
    /// Open user tasks.
    pub tasks_open: i64,
    /// Open user tasks past their due date: the process's deadlines missed now.
    pub tasks_overdue: i64,
    /// Open incidents.
    pub incidents_open: i64,
    /// How late its most overdue timer or async job is, in seconds.
    pub job_lag_seconds: f64,
}

/// Instance and task counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Active instances.
    pub active: i64,
    /// Completed instances.
    pub completed: i64,
    /// Terminated instances.
    pub terminated: i64,
    /// Open user tasks.
    pub tasks_open: i64,
    /// User tasks created so far.
    pub tasks_created: i64,
    /// Open incidents.
    pub incidents_open: i64,
}
