//! The mail outbox: rows written by steps, read and marked by the sender.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{timestamp, Result, Store};

/// A mail in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    /// The idempotency key.
    pub id: String,
    /// The instance that sent it.
    pub instance_id: String,
    /// Recipients.
    pub recipients: Vec<String>,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When it was sent, if it was.
    pub sent_at: Option<String>,
    /// The last delivery error.
    pub last_error: Option<String>,
    /// The ids of the instance's documents it carries as files.
    pub attachments: Vec<String>,
}

fn mail_from(r: &sqlx::any::AnyRow) -> OutboxMail {
    let recipients: String = r.get(2);
    OutboxMail {
        id: r.get(0),
        instance_id: r.get(1),
        recipients: serde_json::from_str(&recipients).unwrap_or_default(),
        subject: r.get(3),
        body: r.get(4),
        attempts: r.get(5),
        sent_at: r.get(6),
        last_error: r.get(7),
        attachments: serde_json::from_str(&r.get::<String, _>(8)).unwrap_or_default(),
    }
}

const COLUMNS: &str =
    "id, instance_id, recipients, subject, body, attempts, sent_at, last_error, attachments";

impl Store {
    /// Claims unsent mail whose next attempt is due: its next attempt moves
    /// to `now + lease`, so no other node sends it meanwhile, and a node that
    /// dies while sending leaves it to be sent again after the lease (the
    /// outbox key, sent as Message-ID, lets the receiver drop the repeat).
    pub async fn due_mail(
        &self,
        now: DateTime<Utc>,
        limit: i64,
        lease: std::time::Duration,
    ) -> Result<Vec<OutboxMail>> {
        // The lease clock, as for jobs: the database's on PostgreSQL, so nodes
        // whose clocks drift apart still agree when a sender's lease ends.
        let (clock, until) = self.lease_clock(now, lease, "$1", "$3");
        let query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET next_attempt = {} WHERE id IN (SELECT id FROM outbox \
             WHERE sent_at IS NULL AND next_attempt <= {clock} ORDER BY next_attempt, id LIMIT $2{}) \
             RETURNING {COLUMNS}, created_at",
            until.sql(),
            self.dialect.skip_locked()
        )))
        .bind(timestamp(now))
        .bind(limit);
        let mut rows = until.bind(query).fetch_all(&self.pool).await?;
        rows.sort_by_key(|r| r.get::<String, _>(9));
        Ok(rows.iter().map(mail_from).collect())
    }

    /// The newest mail, sent or not (administrators read it here when no SMTP server is configured).
    pub async fn outbox(&self, limit: i64) -> Result<Vec<OutboxMail>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox ORDER BY created_at DESC, id LIMIT $1"
        )))
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(mail_from).collect())
    }

    /// The mail one instance sent, sent or not, newest first.
    pub async fn mail_of(&self, instance: &str, limit: i64) -> Result<Vec<OutboxMail>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox WHERE instance_id = $1 \
             ORDER BY created_at DESC, id LIMIT $2"
        )))
        .bind(instance)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(mail_from).collect())
    }

    /// Marks a mail delivered.
    pub async fn mail_sent(&self, id: &str, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2")
            .bind(timestamp(now))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Records a failed delivery and when to try again.
    pub async fn mail_failed(&self, id: &str, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = $1, next_attempt = $2 WHERE id = $3")
            .bind(error)
            .bind(timestamp(retry_at))
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
