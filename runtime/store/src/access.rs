//! Who may see an instance, as rows: administrators' grants of a permission
//! on a process key to a group or a user, and the people an instance
//! concerns (its starter, its tasks' assignees and candidates, written by the
//! unit as it goes). The server decides what a role may do; this module only
//! answers what the rows say.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{timestamp, Result, Store, StoreError};

/// The key a grant on every process is stored under.
pub const EVERY_PROCESS: &str = "*";

/// One grant of a permission on a process key to a group or a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The process key, or [`EVERY_PROCESS`].
    pub key: String,
    /// `read`, `start`, `act` or `operate`.
    pub permission: String,
    /// `group` or `user`.
    pub kind: String,
    /// The group's or user's name.
    pub name: String,
    /// Who granted it.
    pub granted_by: Option<String>,
    /// When.
    pub granted_at: String,
}

/// Which instances a search wants (every condition given must hold).
#[derive(Debug, Clone, Copy, Default)]
pub struct InstanceSearch<'a> {
    /// Of this process.
    pub key: Option<&'a str>,
    /// In this state (`active`, `completed`, `terminated`).
    pub state: Option<&'a str>,
    /// With this business key.
    pub business_key: Option<&'a str>,
    /// Only those with an open incident.
    pub incident: bool,
    /// Only those whose process variable of this name holds this value
    /// exactly (as [`crate::variables::indexed_text`] writes it).
    pub variable: Option<(&'a str, &'a str)>,
    /// Only those started at or after this time (a stored timestamp).
    pub started_from: Option<&'a str>,
    /// Only those started before this time.
    pub started_before: Option<&'a str>,
}

/// Which open incidents to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct IncidentSearch<'a> {
    /// Of this process.
    pub key: Option<&'a str>,
    /// At this element.
    pub element: Option<&'a str>,
    /// Whose error holds this text, in any case.
    pub message: Option<&'a str>,
}

/// The process keys a permission is granted on to someone.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GrantedKeys {
    /// Granted on every process.
    pub every: bool,
    /// Granted on these keys.
    pub keys: Vec<String>,
}

impl GrantedKeys {
    /// On every process.
    pub fn every() -> Self {
        GrantedKeys {
            every: true,
            keys: Vec::new(),
        }
    }

    /// Whether the permission holds on `key`.
    pub fn covers(&self, key: &str) -> bool {
        self.every || self.keys.iter().any(|k| k == key)
    }
}

/// Who is asking to read instances: their name and groups, and the process
/// keys they may read every instance of.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    /// The user.
    pub user: &'a str,
    /// Their groups.
    pub groups: &'a [String],
    /// The processes they were granted `read` on.
    pub keys: &'a GrantedKeys,
}

/// `$n, $n+1, …` for a list of `len` values bound from `$first` on.
fn placeholders(first: usize, len: usize) -> String {
    (first..first + len)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Reader<'_> {
    /// The SQL condition on an `instances` row aliased `i` that holds when the
    /// reader may read it, with its bind values from `$first` on.
    fn condition(&self, first: usize) -> (String, Vec<String>) {
        if self.keys.every {
            return ("1 = 1".to_string(), Vec::new());
        }
        let mut binds = vec![self.user.to_string()];
        let mut sql = format!(
            "(EXISTS (SELECT 1 FROM instance_people p WHERE p.instance_id = i.id AND \
             ((p.kind = 'user' AND p.name = ${first})"
        );
        if !self.groups.is_empty() {
            sql.push_str(&format!(
                " OR (p.kind = 'group' AND p.name IN ({}))",
                placeholders(first + 1, self.groups.len())
            ));
            binds.extend(self.groups.iter().cloned());
        }
        sql.push_str("))");
        if !self.keys.keys.is_empty() {
            sql.push_str(&format!(
                " OR i.key IN ({})",
                placeholders(first + binds.len(), self.keys.keys.len())
            ));
            binds.extend(self.keys.keys.iter().cloned());
        }
        sql.push(')');
        (sql, binds)
    }
}

impl Store {
    /// The grants on `key` (all grants when `None`), ordered.
    pub async fn grants(&self, key: Option<&str>) -> Result<Vec<Grant>> {
        let rows = sqlx::query(
            "SELECT key, permission, kind, name, granted_by, granted_at FROM grants \
             WHERE ($1 IS NULL OR key = $1) ORDER BY key, permission, kind, name",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Grant {
                key: r.get(0),
                permission: r.get(1),
                kind: r.get(2),
                name: r.get(3),
                granted_by: r.get(4),
                granted_at: r.get(5),
            })
            .collect())
    }

    /// Adds a grant, with who granted it and an audit row in the same
    /// transaction; false when it existed already.
    pub async fn add_grant(&self, grant: &Grant, by: &str, now: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let added = sqlx::query(
            "INSERT INTO grants (key, permission, kind, name, granted_by, granted_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(&grant.key)
        .bind(&grant.permission)
        .bind(&grant.kind)
        .bind(&grant.name)
        .bind(by)
        .bind(timestamp(now))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        audit_grant(&mut tx, "grant.add", grant, by, now).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Removes a grant, audited in the same transaction; false when there was none.
    pub async fn remove_grant(&self, grant: &Grant, by: &str, now: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let removed = sqlx::query(
            "DELETE FROM grants WHERE key = $1 AND permission = $2 AND kind = $3 AND name = $4",
        )
        .bind(&grant.key)
        .bind(&grant.permission)
        .bind(&grant.kind)
        .bind(&grant.name)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !removed {
            return Ok(false);
        }
        audit_grant(&mut tx, "grant.remove", grant, by, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The process keys `permission` is granted on to `user` or one of `groups`.
    pub async fn granted_keys(
        &self,
        permission: &str,
        user: &str,
        groups: &[String],
    ) -> Result<GrantedKeys> {
        let sql = format!(
            "SELECT DISTINCT key FROM grants WHERE permission = $1 AND \
             ((kind = 'user' AND name = $2){})",
            if groups.is_empty() {
                String::new()
            } else {
                format!(
                    " OR (kind = 'group' AND name IN ({}))",
                    placeholders(3, groups.len())
                )
            }
        );
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql))
            .bind(permission)
            .bind(user);
        for g in groups {
            q = q.bind(g);
        }
        let keys = q.fetch_all(&self.pool).await?;
        Ok(if keys.iter().any(|k| k == EVERY_PROCESS) {
            GrantedKeys::every()
        } else {
            GrantedKeys { every: false, keys }
        })
    }

    /// An instance's process key, when `reader` may read it; `None` when it
    /// does not exist or they may not (one answer, so a refusal does not tell
    /// that the instance exists).
    pub async fn readable_instance(&self, id: &str, reader: &Reader<'_>) -> Result<Option<String>> {
        let (cond, binds) = reader.condition(2);
        let sql = format!("SELECT i.key FROM instances i WHERE i.id = $1 AND {cond}");
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)).bind(id);
        for b in &binds {
            q = q.bind(b);
        }
        Ok(q.fetch_optional(&self.pool).await?)
    }

    /// Instances `reader` may read, with filters and paging, newest first.
    pub async fn list_instances(
        &self,
        reader: &Reader<'_>,
        which: &InstanceSearch<'_>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<crate::InstanceSummary>> {
        let (cond, binds) = reader.condition(11);
        let sql = format!(
            "SELECT i.id, i.key, i.version, i.state, i.has_incident, i.business_key, i.started_at FROM instances i \
             WHERE ($1 IS NULL OR i.key = $1) AND ($2 IS NULL OR i.state = $2) AND ($3 IS NULL OR i.business_key = $3) \
             AND ($6 = 0 OR i.has_incident = 1) \
             AND ($7 IS NULL OR EXISTS (SELECT 1 FROM instance_variables v WHERE v.instance_id = i.id AND v.name = $7 AND v.value = $8)) \
             AND ($9 IS NULL OR i.started_at >= $9) AND ($10 IS NULL OR i.started_at < $10) \
             AND {cond} ORDER BY i.started_at DESC, i.id DESC LIMIT $4 OFFSET $5"
        );
        let (var_name, var_value) = which.variable.unzip();
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(which.key)
            .bind(which.state)
            .bind(which.business_key)
            .bind(limit)
            .bind(offset)
            .bind(i64::from(which.incident))
            .bind(var_name)
            .bind(var_value)
            .bind(which.started_from)
            .bind(which.started_before);
        for b in &binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| crate::InstanceSummary {
                id: r.get(0),
                key: r.get(1),
                version: r.get(2),
                state: r.get(3),
                has_incident: r.get::<i64, _>(4) != 0,
                business_key: r.get(5),
                started_at: r.get(6),
            })
            .collect())
    }

    /// Requests `reader` may read whose id, number (business key or
    /// `requestId`) or any indexed variable (a customer's name, account
    /// number, phone) holds `text`, in any case; newest first.
    pub async fn find_requests(
        &self,
        reader: &Reader<'_>,
        text: &str,
        limit: i64,
    ) -> Result<Vec<crate::RequestSummary>> {
        let (cond, binds) = reader.condition(3);
        let sql = format!(
            "SELECT i.id, i.key, coalesce(i.business_key, i.request_id), i.status, i.state, i.started_at FROM instances i \
             WHERE (i.id = $1 OR lower(coalesce(i.business_key, i.request_id)) LIKE '%' || lower($1) || '%' \
             OR EXISTS (SELECT 1 FROM instance_variables v WHERE v.instance_id = i.id AND lower(v.value) LIKE '%' || lower($1) || '%')) \
             AND {cond} ORDER BY i.started_at DESC, i.id DESC LIMIT $2"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(text.trim())
            .bind(limit);
        for b in &binds {
            q = q.bind(b);
        }
        Ok(q.fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| crate::RequestSummary {
                id: r.get(0),
                key: r.get(1),
                request: r.get(2),
                status: r.get(3),
                state: r.get(4),
                started_at: r.get(5),
            })
            .collect())
    }

    /// Open incidents of instances `reader` may read, oldest first, of
    /// process `key` and element `element` when given, and whose error holds
    /// `message` (any case) when given.
    pub async fn readable_incidents(
        &self,
        reader: &Reader<'_>,
        which: &IncidentSearch<'_>,
        limit: i64,
    ) -> Result<Vec<crate::IncidentRow>> {
        let (cond, binds) = reader.condition(5);
        let sql = format!(
            "SELECT x.id, x.instance_id, x.node_id, x.message, i.key, x.created_at FROM incidents x \
             JOIN instances i ON i.id = x.instance_id \
             WHERE x.resolved_at IS NULL AND ($2 IS NULL OR i.key = $2) AND ($3 IS NULL OR x.node_id = $3) \
             AND ($4 IS NULL OR lower(x.message) LIKE '%' || lower($4) || '%') \
             AND {cond} ORDER BY x.created_at, x.id LIMIT $1"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .bind(which.key)
            .bind(which.element)
            .bind(which.message);
        for b in &binds {
            q = q.bind(b);
        }
        Ok(q.fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|r| crate::IncidentRow {
                id: r.get(0),
                instance_id: r.get(1),
                node_id: r.get(2),
                message: r.get(3),
                key: r.get(4),
                created_at: r.get(5),
            })
            .collect())
    }

    /// The users and groups an instance concerns, as `(kind, name)`.
    pub async fn instance_people(&self, id: &str) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT kind, name FROM instance_people WHERE instance_id = $1 ORDER BY kind, name",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

async fn audit_grant(
    tx: &mut sqlx::AnyConnection,
    action: &str,
    grant: &Grant,
    by: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let target = format!(
        "{} {} {}:{}",
        grant.key, grant.permission, grant.kind, grant.name
    );
    sqlx::query(
        "INSERT INTO audit (at, actor, action, target, outcome) VALUES ($1, $2, $3, $4, 'ok')",
    )
    .bind(timestamp(now))
    .bind(by)
    .bind(action)
    .bind(target)
    .execute(&mut *tx)
    .await
    .map_err(StoreError::from)?;
    Ok(())
}
