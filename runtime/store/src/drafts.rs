//! The designer's drafts: one BPMN text per process key, shared by the
//! analysts who edit it, saved under a revision check (a save from an older
//! revision is refused and names who saved since), and the files a draft is
//! deployed with.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{timestamp, Result, Store, StoreError};

/// A stored draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftRow {
    /// Process key.
    pub key: String,
    /// The BPMN text.
    pub xml: String,
    /// Revision: 1 on the first save, one more on each.
    pub revision: i64,
    /// The deployed version it started from (0: a new process).
    pub based_on: i64,
    /// Who saved last.
    pub updated_by: String,
    /// When (RFC 3339).
    pub updated_at: String,
}

impl Store {
    /// Every draft, by key.
    pub async fn drafts(&self) -> Result<Vec<DraftRow>> {
        let rows = sqlx::query(
            "SELECT key, xml, revision, based_on, updated_by, updated_at FROM drafts ORDER BY key",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(draft_row).collect())
    }

    /// The draft of `key`, if there is one.
    pub async fn draft(&self, key: &str) -> Result<Option<DraftRow>> {
        let row = sqlx::query(
            "SELECT key, xml, revision, based_on, updated_by, updated_at FROM drafts WHERE key = $1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(draft_row))
    }

    /// Saves the draft of `key` edited from `revision` (0: there was none),
    /// with the files it adds or changes (name, text: its forms, named
    /// queries and document templates), and returns its new revision. Refused with [`StoreError::DraftChanged`] when someone
    /// saved since: the caller reloads, nothing is merged. The BPMN and its
    /// files are saved together or not at all.
    #[allow(clippy::too_many_arguments)]
    pub async fn save_draft(
        &self,
        key: &str,
        xml: &str,
        files: &[(String, String)],
        revision: i64,
        based_on: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let at = timestamp(now);
        let mut tx = self.write_tx().await?;
        // One statement either way, so two saves from the same revision cannot
        // both succeed: the insert meets the primary key, the update its guard.
        let written = if revision == 0 {
            sqlx::query(
                "INSERT INTO drafts (key, xml, revision, based_on, updated_by, updated_at) \
                 VALUES ($1, $2, 1, $3, $4, $5) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(xml)
            .bind(based_on)
            .bind(by)
            .bind(&at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        } else {
            sqlx::query(
                "UPDATE drafts SET xml = $1, revision = revision + 1, updated_by = $2, updated_at = $3 \
                 WHERE key = $4 AND revision = $5",
            )
            .bind(xml)
            .bind(by)
            .bind(&at)
            .bind(key)
            .bind(revision)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        };
        if written == 1 {
            for (name, content) in files {
                sqlx::query(
                    "INSERT INTO draft_files (key, name, content) VALUES ($1, $2, $3) \
                     ON CONFLICT (key, name) DO UPDATE SET content = excluded.content",
                )
                .bind(key)
                .bind(name)
                .bind(content)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            return Ok(revision + 1);
        }
        drop(tx);
        match self.draft(key).await? {
            Some(d) => Err(StoreError::DraftChanged {
                key: key.to_string(),
                revision: d.revision,
                by: d.updated_by,
                at: d.updated_at,
            }),
            None => Err(StoreError::NotFound("draft", key.to_string())),
        }
    }

    /// Removes the draft of `key` if it is still at `revision` (after a deploy,
    /// or when discarded). Returns whether it was removed.
    pub async fn delete_draft(&self, key: &str, revision: i64) -> Result<bool> {
        let n = sqlx::query("DELETE FROM drafts WHERE key = $1 AND revision = $2")
            .bind(key)
            .bind(revision)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// The files the draft of `key` added or changed (forms, named queries,
    /// document templates), as (name, text), by name.
    pub async fn draft_files(&self, key: &str) -> Result<Vec<(String, String)>> {
        let rows =
            sqlx::query("SELECT name, content FROM draft_files WHERE key = $1 ORDER BY name")
                .bind(key)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The files deployed with the latest version of `key` (its scripts and
    /// forms, and its BPMN file), as (name, text): what a draft of it is
    /// deployed with, its BPMN replaced.
    pub async fn latest_resources(&self, key: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT r.name, r.content FROM resources r WHERE r.deployment_id = \
             (SELECT d.deployment_id FROM definitions d WHERE d.key = $1 ORDER BY d.version DESC LIMIT 1) \
             ORDER BY r.name",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Every script file (`.rhai`) of the newest deployment that has it, by
    /// name: what a draft's `camunda:resource` references are checked against.
    pub async fn script_resources(&self) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT r.name, r.content FROM resources r WHERE r.name LIKE '%.rhai' \
             AND r.deployment_id = (SELECT MAX(x.deployment_id) FROM resources x WHERE x.name = r.name) \
             ORDER BY r.name",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

fn draft_row(r: &sqlx::any::AnyRow) -> DraftRow {
    DraftRow {
        key: r.get(0),
        xml: r.get(1),
        revision: r.get(2),
        based_on: r.get(3),
        updated_by: r.get(4),
        updated_at: r.get(5),
    }
}

/// A task's saved progress: the form's values, not yet submitted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDraftRow {
    /// The values as JSON (an object of variables).
    pub variables: String,
    /// Who saved them.
    pub saved_by: String,
    /// When (RFC 3339).
    pub saved_at: String,
}

impl Store {
    /// Keeps `variables` (a JSON object) as task `task`'s progress, replacing
    /// what was kept. [`StoreError::NotFound`] when the task has ended.
    pub async fn save_task_draft(
        &self,
        task: &str,
        variables: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let at = timestamp(now);
        // One statement that writes only while the task exists: a task ended
        // meanwhile leaves nothing behind (and no foreign-key error to decode).
        let n = sqlx::query(
            "INSERT INTO task_drafts (task_id, variables, saved_by, saved_at) \
             SELECT t.id, $2, $3, $4 FROM tasks t WHERE t.id = $1 \
             ON CONFLICT (task_id) DO UPDATE SET variables = excluded.variables, \
             saved_by = excluded.saved_by, saved_at = excluded.saved_at",
        )
        .bind(task)
        .bind(variables)
        .bind(by)
        .bind(&at)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("task", task.to_string()));
        }
        Ok(())
    }

    /// Task `task`'s saved progress, if any.
    pub async fn task_draft(&self, task: &str) -> Result<Option<TaskDraftRow>> {
        let row =
            sqlx::query("SELECT variables, saved_by, saved_at FROM task_drafts WHERE task_id = $1")
                .bind(task)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| TaskDraftRow {
            variables: r.get(0),
            saved_by: r.get(1),
            saved_at: r.get(2),
        }))
    }
}
