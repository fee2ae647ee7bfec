//! What the API lists beyond one instance: definitions and their versions,
//! tasks as an inbox sees them, open incidents, and claiming.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{timestamp, Result, Store, StoreError};

/// One deployed version of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionRow {
    /// Process key.
    pub key: String,
    /// Version.
    pub version: i64,
    /// Name.
    pub name: Option<String>,
    /// The BPMN file it came from.
    pub resource_name: String,
    /// When it was deployed.
    pub deployed_at: String,
    /// Who deployed it.
    pub deployed_by: Option<String>,
    /// Whether new instances are refused.
    pub retired: bool,
    /// The deployer's note.
    pub note: Option<String>,
    /// Instances of this version not yet ended.
    pub running: i64,
}

/// A task with its candidates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskView {
    /// Global id.
    pub id: String,
    /// The instance.
    pub instance_id: String,
    /// Process key.
    pub key: String,
    /// The user task's BPMN id.
    pub node_id: String,
    /// Name.
    pub name: Option<String>,
    /// Assignee.
    pub assignee: Option<String>,
    /// Due date.
    pub due: Option<String>,
    /// Priority.
    pub priority: i64,
    /// Form reference.
    pub form: Option<String>,
    /// Created.
    pub created_at: String,
    /// The request it belongs to: the instance's business key, or else its
    /// `requestId` variable.
    pub request: Option<String>,
    /// The request's status: the instance's `status` variable.
    pub status: Option<String>,
    /// The running SLA that falls due first among its activity's and its
    /// instance's: (name, due date).
    pub sla: Option<(String, String)>,
    /// Candidate groups.
    pub candidate_groups: Vec<String>,
    /// Candidate users.
    pub candidate_users: Vec<String>,
}

impl TaskView {
    /// Whether `user` (in `groups`) may see and work this task.
    pub fn visible_to(&self, user: &str, groups: &[String]) -> bool {
        self.assignee.as_deref() == Some(user)
            || self.candidate_users.iter().any(|u| u == user)
            || self.candidate_groups.iter().any(|g| groups.contains(g))
    }
}

/// Filters for listing tasks.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    /// Only tasks assigned to this user.
    pub assignee: Option<String>,
    /// Only tasks with this candidate group.
    pub candidate_group: Option<String>,
    /// Only tasks of this process key.
    pub process_key: Option<String>,
    /// Only tasks of this instance.
    pub instance_id: Option<String>,
    /// Only tasks whose request (business key, or else `requestId`) holds
    /// this text, in any case.
    pub request: Option<String>,
    /// Only tasks whose request's status holds this text, in any case.
    pub status: Option<String>,
    /// Only tasks of instances whose process variable of this name holds
    /// exactly this value (name, value).
    pub variable: Option<(String, String)>,
    /// Only tasks with a running SLA (their activity's or their
    /// instance's) that is breached at this instant (`Breached`), or with
    /// running SLAs none of which is (`OnTrack`).
    pub sla: Option<(SlaFilter, chrono::DateTime<chrono::Utc>)>,
}

/// Which tasks [`TaskFilter::sla`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaFilter {
    /// A running SLA is past its due date.
    Breached,
    /// SLAs run and none is past its due date.
    OnTrack,
}

const TASK_COLUMNS: &str =
    "t.id, t.instance_id, t.key, t.node_id, t.name, t.assignee, t.due, t.priority, t.form, t.created_at, \
     (SELECT coalesce(i.business_key, i.request_id) FROM instances i WHERE i.id = t.instance_id), \
     (SELECT i.status FROM instances i WHERE i.id = t.instance_id), \
     (SELECT s.name FROM slas s WHERE s.instance_id = t.instance_id AND s.met_at IS NULL AND s.cancelled = 0 \
        AND (s.element_id IS NULL OR s.element_id = t.node_id) ORDER BY s.due_at, s.id LIMIT 1), \
     (SELECT s.due_at FROM slas s WHERE s.instance_id = t.instance_id AND s.met_at IS NULL AND s.cancelled = 0 \
        AND (s.element_id IS NULL OR s.element_id = t.node_id) ORDER BY s.due_at, s.id LIMIT 1)";

/// The running SLA clocks that bear on a task `t`: its own activity's and its
/// instance's process-level ones (what the inbox's SLA column and filter read).
const TASK_RUNNING_SLAS: &str =
    "SELECT 1 FROM slas s WHERE s.instance_id = t.instance_id AND s.met_at IS NULL \
     AND s.cancelled = 0 AND (s.element_id IS NULL OR s.element_id = t.node_id)";

impl Store {
    /// Versions of one key (newest first), or the latest version of every key.
    pub async fn definitions(&self, key: Option<&str>) -> Result<Vec<DefinitionRow>> {
        let sql = match key {
            Some(_) => "SELECT d.key, d.version, d.name, d.resource_name, d.deployed_at, p.deployed_by, d.retired, p.note, \
                        (SELECT COUNT(*) FROM instances i WHERE i.key = d.key AND i.state = 'active' AND i.version = d.version) \
                        FROM definitions d JOIN deployments p ON p.id = d.deployment_id WHERE d.key = $1 ORDER BY d.version DESC",
            None => "SELECT d.key, d.version, d.name, d.resource_name, d.deployed_at, p.deployed_by, d.retired, p.note, \
                     (SELECT COUNT(*) FROM instances i WHERE i.key = d.key AND i.state = 'active' AND i.version = d.version) \
                     FROM definitions d JOIN deployments p ON p.id = d.deployment_id \
                     WHERE d.version = (SELECT MAX(version) FROM definitions x WHERE x.key = d.key) ORDER BY d.key",
        };
        let rows = sqlx::query(sql).bind(key).fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| DefinitionRow {
                key: r.get(0),
                version: r.get(1),
                name: r.get(2),
                resource_name: r.get(3),
                deployed_at: r.get(4),
                deployed_by: r.get(5),
                retired: r.get::<i64, _>(6) != 0,
                note: r.get(7),
                running: r.get(8),
            })
            .collect())
    }

    /// The BPMN text of a version.
    pub async fn definition_xml(&self, key: &str, version: i64) -> Result<String> {
        sqlx::query_scalar(
            "SELECT r.content FROM definitions d JOIN resources r ON r.deployment_id = d.deployment_id AND r.name = d.resource_name \
             WHERE d.key = $1 AND d.version = $2",
        )
        .bind(key)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound("process definition", format!("{key} v{version}")))
    }

    /// The form-js form (`*.form`) deployed with a version whose `id` (or file
    /// name without `.form`) is `form_ref`.
    pub async fn form(
        &self,
        key: &str,
        version: i64,
        form_ref: &str,
    ) -> Result<Option<std::sync::Arc<str>>> {
        let cache_key = (key.to_string(), version, form_ref.to_string());
        if let Some(found) = self
            .forms
            .read()
            .ok()
            .and_then(|f| f.get(&cache_key).cloned())
        {
            return Ok(found);
        }
        let forms: Vec<(String, String)> = sqlx::query_as(
            "SELECT r.name, r.content FROM definitions d JOIN resources r ON r.deployment_id = d.deployment_id \
             WHERE d.key = $1 AND d.version = $2 AND r.name LIKE '%.form'",
        )
        .bind(key)
        .bind(version)
        .fetch_all(&self.pool)
        .await?;
        let found: Option<std::sync::Arc<str>> = forms
            .into_iter()
            .find(|(name, content)| form_is(name, content, form_ref))
            .map(|(_, content)| content.into());
        if let Ok(mut cache) = self.forms.write() {
            cache.insert(cache_key, found.clone());
        }
        Ok(found)
    }

    /// Retires a version (or brings it back): a retired version starts no new instance.
    pub async fn set_retired(&self, key: &str, version: i64, retired: bool) -> Result<()> {
        let done =
            sqlx::query("UPDATE definitions SET retired = $1 WHERE key = $2 AND version = $3")
                .bind(i64::from(retired))
                .bind(key)
                .bind(version)
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(
                "process definition",
                format!("{key} v{version}"),
            ));
        }
        Ok(())
    }

    /// The newest version of `key` that is not retired.
    pub async fn startable_version(&self, key: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT MAX(version) FROM definitions WHERE key = $1 AND retired = 0",
        )
        .bind(key)
        .fetch_one(&self.pool)
        .await?)
    }

    fn task_from(row: &sqlx::any::AnyRow) -> TaskView {
        TaskView {
            id: row.get(0),
            instance_id: row.get(1),
            key: row.get(2),
            node_id: row.get(3),
            name: row.get(4),
            assignee: row.get(5),
            due: row.get(6),
            priority: row.get(7),
            form: row.get(8),
            created_at: row.get(9),
            request: row.get(10),
            status: row.get(11),
            sla: row
                .get::<Option<String>, _>(12)
                .zip(row.get::<Option<String>, _>(13)),
            candidate_groups: Vec::new(),
            candidate_users: Vec::new(),
        }
    }

    /// `SELECT` of a task's columns and its candidate groups and users
    /// (read by [`Store::task_with_candidates`]) from `tasks t`, so a task
    /// and its candidates come from one snapshot even while another request
    /// completes the task, and a page of tasks is one statement.
    fn task_select(&self) -> String {
        let joined = self.dialect.joined("name");
        format!(
            "SELECT {TASK_COLUMNS}, \
             (SELECT {joined} FROM task_candidates c WHERE c.task_id = t.id AND c.kind = 'group'), \
             (SELECT {joined} FROM task_candidates c WHERE c.task_id = t.id AND c.kind = 'user')"
        )
    }

    /// A row of [`Store::task_select`].
    fn task_with_candidates(row: &sqlx::any::AnyRow) -> TaskView {
        let mut task = Self::task_from(row);
        let split = |v: Option<String>| -> Vec<String> {
            let mut names: Vec<String> = v
                .map(|s| s.split('\u{1f}').map(str::to_string).collect())
                .unwrap_or_default();
            names.sort();
            names
        };
        task.candidate_groups = split(row.get(14));
        task.candidate_users = split(row.get(15));
        task
    }

    /// One task.
    pub async fn task(&self, id: &str) -> Result<TaskView> {
        // Built from constants only: no input reaches the SQL text.
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{} FROM tasks t WHERE t.id = $1",
            self.task_select()
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound("task", id.to_string()))?;
        Ok(Self::task_with_candidates(&row))
    }

    /// The tasks `user` may see, highest priority and oldest first, with no
    /// other filter: one index range per principal (the user as assignee, as
    /// candidate, each group), each read only as far as the page reaches.
    async fn inbox_fast(
        &self,
        user: &str,
        groups: &[String],
        limit: i64,
        offset: i64,
    ) -> Result<Vec<TaskView>> {
        let mut principals: Vec<(&str, &str)> = vec![("assignee", user), ("user", user)];
        principals.extend(groups.iter().map(|g| ("group", g.as_str())));
        let reach = limit + offset;
        let mut sql =
            String::from("SELECT task_id, MAX(priority) AS p, MIN(created_at) AS c FROM (");
        for i in 0..principals.len() {
            if i > 0 {
                sql.push_str(" UNION ALL ");
            }
            // Placeholders only: every value is bound below.
            sql.push_str(&format!(
                "SELECT * FROM (SELECT task_id, priority, created_at FROM task_candidates WHERE kind = ${} AND name = ${} \
                 ORDER BY priority DESC, created_at, task_id LIMIT ${}) AS principal{i}",
                3 * i + 1,
                3 * i + 2,
                3 * i + 3
            ));
        }
        let n = 3 * principals.len();
        sql.push_str(&format!(
            ") AS reached GROUP BY task_id ORDER BY p DESC, c, task_id LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        ));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (kind, name) in &principals {
            query = query.bind(*kind).bind(*name).bind(reach);
        }
        let ids: Vec<String> = query
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        // The page's rows in one statement, put back in the page's order.
        let ids_json = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{} FROM tasks t WHERE t.id IN {}",
            self.task_select(),
            self.dialect.in_json_array("$1")
        )))
        .bind(ids_json)
        .fetch_all(&self.pool)
        .await?;
        let mut found: HashMap<String, TaskView> = rows
            .iter()
            .map(Self::task_with_candidates)
            .map(|t| (t.id.clone(), t))
            .collect();
        // A task completed between the two statements is left out of the page.
        Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
    }

    /// The tasks `user` may see (assigned to them, or offered to them or their
    /// groups), filtered, highest priority and oldest first.
    pub async fn inbox(
        &self,
        user: &str,
        groups: &[String],
        filter: &TaskFilter,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<TaskView>> {
        if filter.assignee.is_none()
            && filter.candidate_group.is_none()
            && filter.process_key.is_none()
            && filter.instance_id.is_none()
            && filter.request.is_none()
            && filter.status.is_none()
            && filter.variable.is_none()
            && filter.sla.is_none()
        {
            return self.inbox_fast(user, groups, limit, offset).await;
        }
        let sql = format!(
            "{} FROM tasks t WHERE {} \
             ORDER BY t.priority DESC, t.created_at, t.id LIMIT $7 OFFSET $8",
            self.task_select(),
            self.inbox_where(filter)
        );
        // Built from constants only: every input is bound.
        let query = sqlx::query(sqlx::AssertSqlSafe(sql));
        let rows = bind_inbox(query, user, groups, filter, limit, offset)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(Self::task_with_candidates).collect())
    }

    /// The condition of [`Store::inbox`]: the tasks `$1` (with groups `$2`, a
    /// JSON array) may see, filtered by `$3`–`$6` and `$9`–`$14`.
    ///
    /// Only the filters `filter` sets are written as conditions; each unset
    /// one becomes a test that its (null) parameters are null, so every
    /// statement binds the same parameters. That is what lets a database
    /// plan by the filters really given: `$11 IS NULL OR t.instance_id IN
    /// (…)` made SQLite scan every task in order, where the bare `IN` finds a
    /// million-task inbox's variable matches through two indexes (measured
    /// in docs/PERFORMANCE.md). Visibility is checked per task (`EXISTS` on
    /// the candidates' key), not by listing every task the reader may see.
    fn inbox_where(&self, filter: &TaskFilter) -> String {
        let groups_in = self.dialect.in_json_array("$2");
        let unset = |params: &[&str]| {
            let tests: Vec<String> = params
                .iter()
                .map(|p| format!("CAST({p} AS TEXT) IS NULL"))
                .collect();
            format!("({})", tests.join(" AND "))
        };
        let either = |given: bool, condition: String, params: &[&str]| {
            if given {
                condition
            } else {
                unset(params)
            }
        };
        let conditions = [
            format!(
                "(t.assignee = $1 OR EXISTS (SELECT 1 FROM task_candidates c WHERE c.task_id = t.id AND \
                 ((c.kind = 'user' AND c.name = $1) OR (c.kind = 'group' AND c.name IN {groups_in}))))"
            ),
            either(filter.assignee.is_some(), "t.assignee = $3".into(), &["$3"]),
            either(
                filter.candidate_group.is_some(),
                "EXISTS (SELECT 1 FROM task_candidates g WHERE g.task_id = t.id AND g.kind = 'group' AND g.name = $4)".into(),
                &["$4"],
            ),
            either(filter.process_key.is_some(), "t.key = $5".into(), &["$5"]),
            either(filter.instance_id.is_some(), "t.instance_id = $6".into(), &["$6"]),
            either(
                filter.request.is_some(),
                "t.instance_id IN (SELECT i.id FROM instances i WHERE \
                 lower(coalesce(i.business_key, i.request_id)) LIKE '%' || lower($9) || '%')"
                    .into(),
                &["$9"],
            ),
            either(
                filter.status.is_some(),
                "t.instance_id IN (SELECT i.id FROM instances i WHERE lower(i.status) LIKE '%' || lower($10) || '%')".into(),
                &["$10"],
            ),
            either(
                filter.variable.is_some(),
                "t.instance_id IN (SELECT v.instance_id FROM instance_variables v WHERE v.name = $11 AND v.value = $12)".into(),
                &["$11", "$12"],
            ),
            either(
                filter.sla.is_some(),
                format!(
                    "(($13 = 'breached' AND EXISTS ({TASK_RUNNING_SLAS} AND s.due_at <= $14)) \
                     OR ($13 = 'onTrack' AND EXISTS ({TASK_RUNNING_SLAS}) AND NOT EXISTS ({TASK_RUNNING_SLAS} AND s.due_at <= $14)))"
                ),
                &["$13", "$14"],
            ),
        ];
        conditions.join(" AND ")
    }

    /// How many tasks [`Store::inbox`] would list for `user` with `filter`,
    /// counted up to `cap` (so a count stays cheap on a million tasks).
    pub async fn inbox_count(
        &self,
        user: &str,
        groups: &[String],
        filter: &TaskFilter,
        cap: i64,
    ) -> Result<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT t.id FROM tasks t WHERE {} LIMIT $7 OFFSET $8) capped",
            self.inbox_where(filter)
        );
        // Built from constants only: every input is bound.
        let query = sqlx::query(sqlx::AssertSqlSafe(sql));
        let row = bind_inbox(query, user, groups, filter, cap, 0)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get(0))
    }

    /// Claims a task for `user`; false when someone else holds it.
    pub async fn claim(&self, task: &str, user: &str) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE tasks SET assignee = $1 WHERE id = $2 AND (assignee IS NULL OR assignee = $1)",
        )
        .bind(user)
        .bind(task)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        Self::set_assignee_row(&mut tx, task, Some(user)).await?;
        self.notify_tasks_in(&mut tx).await?;
        tx.commit().await?;
        self.tasks_changed();
        Ok(true)
    }

    /// Keeps the inbox index's assignee row in step with `tasks.assignee`.
    async fn set_assignee_row(
        tx: &mut sqlx::AnyConnection,
        task: &str,
        user: Option<&str>,
    ) -> Result<()> {
        sqlx::query("DELETE FROM task_candidates WHERE task_id = $1 AND kind = 'assignee'")
            .bind(task)
            .execute(&mut *tx)
            .await?;
        if let Some(u) = user {
            sqlx::query(
                "INSERT INTO task_candidates (task_id, kind, name, priority, created_at) \
                 SELECT id, 'assignee', $1, priority, created_at FROM tasks WHERE id = $2",
            )
            .bind(u)
            .bind(task)
            .execute(&mut *tx)
            .await?;
            // An assignee may read the instance from now on, as its candidates may.
            sqlx::query(
                "INSERT INTO instance_people (instance_id, kind, name) \
                 SELECT instance_id, 'user', $1 FROM tasks WHERE id = $2 ON CONFLICT DO NOTHING",
            )
            .bind(u)
            .bind(task)
            .execute(&mut *tx)
            .await?;
        }
        Ok(())
    }

    /// Sets or clears a task's assignee.
    pub async fn assign(&self, task: &str, user: Option<&str>) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("UPDATE tasks SET assignee = $1 WHERE id = $2")
            .bind(user)
            .bind(task)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound("task", task.to_string()));
        }
        Self::set_assignee_row(&mut tx, task, user).await?;
        self.notify_tasks_in(&mut tx).await?;
        tx.commit().await?;
        self.tasks_changed();
        Ok(())
    }

    /// The open tasks of one instance, by id.
    pub async fn task_ids_of(&self, instance: &str) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT id FROM tasks WHERE instance_id = $1 ORDER BY local_id")
                .bind(instance)
                .fetch_all(&self.pool)
                .await?,
        )
    }

    /// Records that an instance's stored document cannot be read: an open
    /// incident at the instance (local id 0, element `(instance)`) with the
    /// reason, so it shows among the incidents instead of failing quietly.
    /// Once per instance; a failure to record is returned, never hidden.
    pub async fn mark_unreadable(&self, id: &str, reason: &str, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let incident = crate::global_id(id, 0);
        let added = sqlx::query(
            "INSERT INTO incidents (id, instance_id, local_id, node_id, message, created_at) \
             VALUES ($1, $2, 0, '(instance)', $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(&incident)
        .bind(id)
        .bind(format!(
            "the instance's stored state cannot be read: {reason}"
        ))
        .bind(timestamp(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added == 1 {
            sqlx::query("UPDATE instances SET has_incident = 1 WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // Its jobs would only fail again: they wait for an administrator.
            sqlx::query("UPDATE jobs SET retries = 0 WHERE instance_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ends an instance whose stored document cannot be read (so the engine
    /// cannot cancel it): its row says `terminated`, its tasks, jobs and
    /// subscriptions go, the document stays for inspection, and the history
    /// says why. False when the instance does not exist or has ended.
    pub async fn terminate_unreadable(
        &self,
        id: &str,
        actor: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let ended = sqlx::query(
            "UPDATE instances SET state = 'terminated', ended_at = $1 WHERE id = $2 AND state = 'active'",
        )
        .bind(timestamp(now))
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !ended {
            return Ok(false);
        }
        for sql in [
            "UPDATE incidents SET resolved_at = $2 WHERE instance_id = $1 AND resolved_at IS NULL",
            "DELETE FROM task_candidates WHERE task_id IN (SELECT id FROM tasks WHERE instance_id = $1)",
            "DELETE FROM tasks WHERE instance_id = $1",
            "DELETE FROM jobs WHERE instance_id = $1",
            "DELETE FROM subscriptions WHERE instance_id = $1",
        ] {
            let q = sqlx::query(sql).bind(id);
            let q = if sql.contains("$2") {
                q.bind(timestamp(now))
            } else {
                q
            };
            q.execute(&mut *tx).await?;
        }
        sqlx::query("UPDATE instances SET has_incident = 0 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO history (instance_id, at, actor, event, node_id, detail) VALUES ($1, $2, $3, 'instanceEnded', NULL, $4)",
        )
        .bind(id)
        .bind(timestamp(now))
        .bind(actor)
        .bind(serde_json::json!({ "state": "terminated", "unreadable": reason }).to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// An instance's process key and version, without reading its document.
    pub async fn instance_version(&self, id: &str) -> Result<(String, i64)> {
        let row = sqlx::query("SELECT key, version FROM instances WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound("instance", id.to_string()))?;
        Ok((row.get(0), row.get(1)))
    }

    /// Removes expired sessions (idle past `idle_before` or created before `absolute_before`).
    pub async fn expire_sessions(
        &self,
        idle_before: DateTime<Utc>,
        absolute_before: DateTime<Utc>,
    ) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE last_seen < $1 OR created_at < $2")
                .bind(timestamp(idle_before))
                .bind(timestamp(absolute_before))
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

/// Whether the form file `name` with `content` is the one a `camunda:formRef`
/// of `form_ref` names: its `id`, or its file name without `.form`.
pub(crate) fn form_is(name: &str, content: &str, form_ref: &str) -> bool {
    let stem = name
        .rsplit('/')
        .next()
        .unwrap_or(name)
        .trim_end_matches(".form");
    stem == form_ref
        || serde_json::from_str::<serde_json::Value>(content)
            .ok()
            .is_some_and(|j| j.get("id").and_then(|v| v.as_str()) == Some(form_ref))
}

/// Binds [`Store::inbox_where`]'s parameters, with `limit` and `offset` as `$7` and `$8`.
fn bind_inbox<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    user: &'q str,
    groups: &[String],
    filter: &'q TaskFilter,
    limit: i64,
    offset: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let groups_json = serde_json::to_string(groups).unwrap_or_else(|_| "[]".into());
    query
        .bind(user)
        .bind(groups_json)
        .bind(&filter.assignee)
        .bind(&filter.candidate_group)
        .bind(&filter.process_key)
        .bind(&filter.instance_id)
        .bind(limit)
        .bind(offset)
        .bind(filter.request.as_deref().map(str::trim))
        .bind(filter.status.as_deref().map(str::trim))
        .bind(filter.variable.as_ref().map(|(n, _)| n.trim()))
        .bind(filter.variable.as_ref().map(|(_, v)| v.trim()))
        .bind(filter.sla.map(|(f, _)| match f {
            SlaFilter::Breached => "breached",
            SlaFilter::OnTrack => "onTrack",
        }))
        .bind(filter.sla.map(|(_, now)| crate::timestamp(now)))
}
