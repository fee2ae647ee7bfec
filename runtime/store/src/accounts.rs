//! People and access: users with roles and groups, sessions, API tokens, the
//! audit of actions and denials, and comments on instances. Secrets are
//! stored only as hashes (Argon2id for passwords, SHA-256 for random tokens).

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{timestamp, Result, Store, StoreError};

/// A user as the server sees one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Sign-in name.
    pub name: String,
    /// Display name.
    pub display_name: Option<String>,
    /// `admin`, `analyst` or `staff`.
    pub role: String,
    /// Group memberships.
    pub groups: Vec<String>,
    /// A disabled user cannot sign in; their sessions and tokens stop working.
    pub disabled: bool,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    /// The user.
    pub user_name: String,
    /// The session's CSRF token.
    pub csrf: String,
    /// When it was created.
    pub created_at: String,
    /// When it was last used.
    pub last_seen: String,
}

/// How many hex digits of a token's hash name it in lists and revocations:
/// 64 bits, so two of one deployment's tokens do not share an id.
pub const TOKEN_ID_LEN: usize = 16;

/// An API token as listed (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRow {
    /// The first [`TOKEN_ID_LEN`] hex digits of its hash.
    pub id: String,
    /// Whose it is.
    pub user: String,
    /// What it is for.
    pub label: Option<String>,
    /// When it was made.
    pub created_at: String,
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: String,
    /// Who (none before sign-in).
    pub actor: Option<String>,
    /// What (`task.complete`, `login`, …).
    pub action: String,
    /// On what.
    pub target: Option<String>,
    /// `ok`, `denied` or `refused`.
    pub outcome: String,
    /// What more there is to say (a cancel's reason, a variable's old and new value).
    pub detail: Option<String>,
}

/// Which audit entries to read: each field given must match exactly; `from`
/// and `to` bound the time (RFC 3339 text, `to` exclusive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Who.
    pub actor: Option<String>,
    /// What (`instance.modify`).
    pub action: Option<String>,
    /// On what.
    pub target: Option<String>,
    /// `ok`, `denied`, `refused`.
    pub outcome: Option<String>,
    /// From this time on.
    pub from: Option<String>,
    /// Before this time.
    pub to: Option<String>,
    /// At most this many, newest first.
    pub limit: i64,
}

/// A comment on an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// When.
    pub at: String,
    /// Who.
    pub user_name: String,
    /// What they wrote.
    pub text: String,
}

impl Store {
    /// Creates a user (or replaces their password, role, groups and whether
    /// they are disabled). An existing user's sessions end in the same
    /// transaction: a changed password, role or group must not leave an old
    /// session working.
    pub async fn put_user(
        &self,
        name: &str,
        password_hash: Option<&str>,
        role: &str,
        groups: &[String],
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        match password_hash {
            Some(hash) => {
                sqlx::query(
                    "INSERT INTO users (name, password_hash, role, created_at, disabled) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role, disabled = excluded.disabled",
                )
                .bind(name)
                .bind(hash)
                .bind(role)
                .bind(timestamp(now))
                .bind(i64::from(disabled))
                .execute(&mut *tx)
                .await?;
            }
            None => {
                // Role, groups and state change; the password stays.
                let changed =
                    sqlx::query("UPDATE users SET role = $1, disabled = $2 WHERE name = $3")
                        .bind(role)
                        .bind(i64::from(disabled))
                        .bind(name)
                        .execute(&mut *tx)
                        .await?;
                if changed.rows_affected() == 0 {
                    return Err(StoreError::NotFound("user", name.to_string()));
                }
            }
        }
        sqlx::query("DELETE FROM sessions WHERE user_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM user_groups WHERE user_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        for g in groups {
            sqlx::query(
                "INSERT INTO user_groups (user_name, group_name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(name)
            .bind(g)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes a user with their sessions, API tokens, group memberships,
    /// grants and instance memberships;
    /// false when there was no such user.
    pub async fn remove_user(&self, name: &str) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        // Their grants and their place among instances' people go too: a new
        // account of the same name must not inherit them.
        for sql in [
            "DELETE FROM sessions WHERE user_name = $1",
            "DELETE FROM api_tokens WHERE user_name = $1",
            "DELETE FROM user_groups WHERE user_name = $1",
            "DELETE FROM grants WHERE kind = 'user' AND name = $1",
            "DELETE FROM instance_people WHERE kind = 'user' AND name = $1",
        ] {
            sqlx::query(sql).bind(name).execute(&mut *tx).await?;
        }
        let removed = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        tx.commit().await?;
        Ok(removed)
    }

    /// Writes and commits one small row (this node's in `health_probe`):
    /// whether the database takes writes now. A full disk or a read-only
    /// file fails here while reads still succeed.
    pub async fn probe_write(&self, node: &str, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO health_probe (node, at) VALUES ($1, $2) ON CONFLICT (node) DO UPDATE SET at = excluded.at",
        )
        .bind(node)
        .bind(timestamp(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many users exist.
    pub async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?)
    }

    /// A user with their password hash.
    pub async fn user_with_hash(&self, name: &str) -> Result<Option<(User, String)>> {
        let Some(row) = sqlx::query(
            "SELECT name, display_name, role, password_hash, disabled FROM users WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let groups = self.groups_of(name).await?;
        Ok(Some((
            User {
                name: row.get(0),
                display_name: row.get(1),
                role: row.get(2),
                groups,
                disabled: row.get::<i64, _>(4) != 0,
            },
            row.get(3),
        )))
    }

    /// A user.
    pub async fn user(&self, name: &str) -> Result<Option<User>> {
        Ok(self.user_with_hash(name).await?.map(|(u, _)| u))
    }

    /// Every user.
    pub async fn users(&self) -> Result<Vec<User>> {
        let names: Vec<String> = sqlx::query_scalar("SELECT name FROM users ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for n in names {
            if let Some(u) = self.user(&n).await? {
                out.push(u);
            }
        }
        Ok(out)
    }

    async fn groups_of(&self, name: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT group_name FROM user_groups WHERE user_name = $1 ORDER BY group_name",
        )
        .bind(name)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Stores a new session under the hash of its token.
    pub async fn create_session(
        &self,
        token_hash: &str,
        user: &str,
        csrf: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_name, csrf, created_at, last_seen) VALUES ($1, $2, $3, $4, $4)")
            .bind(token_hash)
            .bind(user)
            .bind(csrf)
            .bind(timestamp(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// A session by token hash.
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>> {
        let row = sqlx::query(
            "SELECT user_name, csrf, created_at, last_seen FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| SessionRow {
            user_name: r.get(0),
            csrf: r.get(1),
            created_at: r.get(2),
            last_seen: r.get(3),
        }))
    }

    /// Marks a session used now.
    pub async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen = $1 WHERE token_hash = $2")
            .bind(timestamp(now))
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores an API token under its hash.
    pub async fn create_api_token(
        &self,
        token_hash: &str,
        user: &str,
        label: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if self.user(user).await?.is_none() {
            return Err(StoreError::NotFound("user", user.to_string()));
        }
        sqlx::query("INSERT INTO api_tokens (token_hash, user_name, label, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user)
            .bind(label)
            .bind(timestamp(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every API token: its id (the first 16 hex digits of its hash, never
    /// the token), whose it is, its label and when it was made; newest first.
    pub async fn api_tokens(&self) -> Result<Vec<ApiTokenRow>> {
        let rows = sqlx::query(
            "SELECT token_hash, user_name, label, created_at FROM api_tokens ORDER BY created_at DESC, token_hash",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let hash: String = r.get(0);
                ApiTokenRow {
                    id: hash.get(..TOKEN_ID_LEN).unwrap_or(&hash).to_string(),
                    user: r.get(1),
                    label: r.get(2),
                    created_at: r.get(3),
                }
            })
            .collect())
    }

    /// Revokes the API token with id `id` (see [`Store::api_tokens`]); false
    /// when there is none.
    pub async fn revoke_api_token(&self, id: &str) -> Result<bool> {
        if id.len() != TOKEN_ID_LEN || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(false);
        }
        let done = sqlx::query("DELETE FROM api_tokens WHERE substr(token_hash, 1, 16) = $1")
            .bind(id.to_ascii_lowercase())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The user an API token belongs to.
    pub async fn api_token_user(&self, token_hash: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT user_name FROM api_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Records an action or a denial.
    pub async fn audit(
        &self,
        actor: Option<&str>,
        action: &str,
        target: Option<&str>,
        outcome: &str,
        detail: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT INTO audit (at, actor, action, target, outcome, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(timestamp(now))
            .bind(actor)
            .bind(action)
            .bind(target)
            .bind(outcome)
            .bind(detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The newest audit entries.
    pub async fn audit_log(&self, limit: i64) -> Result<Vec<AuditEntry>> {
        self.audit_search(&AuditFilter {
            limit,
            ..AuditFilter::default()
        })
        .await
    }

    /// The newest audit entries that match every field `filter` gives.
    pub async fn audit_search(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut sql = String::from(
            "SELECT at, actor, action, target, outcome, detail FROM audit WHERE 1 = 1",
        );
        let mut binds: Vec<&str> = Vec::new();
        for (column, value) in [
            ("actor", &filter.actor),
            ("action", &filter.action),
            ("target", &filter.target),
            ("outcome", &filter.outcome),
        ] {
            if let Some(v) = value {
                binds.push(v);
                sql.push_str(&format!(" AND {column} = ${}", binds.len()));
            }
        }
        for (op, value) in [(">=", &filter.from), ("<", &filter.to)] {
            if let Some(v) = value {
                binds.push(v);
                sql.push_str(&format!(" AND at {op} ${}", binds.len()));
            }
        }
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", binds.len() + 1));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            query = query.bind(b);
        }
        let rows = query.bind(filter.limit).fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|r| AuditEntry {
                at: r.get(0),
                actor: r.get(1),
                action: r.get(2),
                target: r.get(3),
                outcome: r.get(4),
                detail: r.get(5),
            })
            .collect())
    }

    /// Adds a comment to an instance.
    pub async fn add_comment(
        &self,
        instance: &str,
        user: &str,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO comments (instance_id, at, user_name, text) VALUES ($1, $2, $3, $4)",
        )
        .bind(instance)
        .bind(timestamp(now))
        .bind(user)
        .bind(text)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The comments on an instance, oldest first.
    pub async fn comments(&self, instance: &str) -> Result<Vec<Comment>> {
        let rows = sqlx::query(
            "SELECT at, user_name, text FROM comments WHERE instance_id = $1 ORDER BY seq",
        )
        .bind(instance)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| Comment {
                at: r.get(0),
                user_name: r.get(1),
                text: r.get(2),
            })
            .collect())
    }
}
