//! Files staff attach to a request: kept in the database with its instance
//! (so a backup holds them and the history cleanup removes them with it),
//! listed without their bytes, read one at a time.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{timestamp, Result, Store};

/// An attachment without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    /// Its id.
    pub id: String,
    /// The instance it belongs to.
    pub instance_id: String,
    /// The task it was added from, if any.
    pub task_id: Option<String>,
    /// The file's name as uploaded.
    pub name: String,
    /// Its media type (`application/pdf`).
    pub media_type: String,
    /// Bytes.
    pub size: i64,
    /// Who added it.
    pub added_by: String,
    /// When.
    pub created_at: String,
}

/// A file to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttachment<'a> {
    /// Its id.
    pub id: &'a str,
    /// The instance.
    pub instance_id: &'a str,
    /// The task it is added from.
    pub task_id: Option<&'a str>,
    /// The file's name.
    pub name: &'a str,
    /// Its media type.
    pub media_type: &'a str,
    /// Its bytes.
    pub content: &'a [u8],
    /// Who adds it.
    pub added_by: &'a str,
}

const COLUMNS: &str = "id, instance_id, task_id, name, media_type, size, added_by, created_at";

fn info(row: &sqlx::any::AnyRow) -> AttachmentInfo {
    AttachmentInfo {
        id: row.get(0),
        instance_id: row.get(1),
        task_id: row.get(2),
        name: row.get(3),
        media_type: row.get(4),
        size: row.get(5),
        added_by: row.get(6),
        created_at: row.get(7),
    }
}

impl Store {
    /// Keeps a file with an instance.
    pub async fn add_attachment(&self, a: &NewAttachment<'_>, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO attachments (id, instance_id, task_id, name, media_type, size, content, added_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(a.id)
        .bind(a.instance_id)
        .bind(a.task_id)
        .bind(a.name)
        .bind(a.media_type)
        .bind(a.content.len() as i64)
        .bind(a.content)
        .bind(a.added_by)
        .bind(timestamp(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An instance's attachments, oldest first, without their bytes.
    pub async fn attachments_of(&self, instance: &str) -> Result<Vec<AttachmentInfo>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM attachments WHERE instance_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(instance)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(info).collect())
    }

    /// One attachment without its bytes.
    pub async fn attachment_info(&self, id: &str) -> Result<Option<AttachmentInfo>> {
        let sql = format!("SELECT {COLUMNS} FROM attachments WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(info))
    }

    /// One attachment's bytes.
    pub async fn attachment_content(&self, id: &str) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar::<_, Vec<u8>>("SELECT content FROM attachments WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}
