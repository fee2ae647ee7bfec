//! Saved inbox filters: a user's own, or shared with one of their groups.
//! The store keeps a filter's criteria as the JSON the API gave; what they
//! select is worked out for each reader, within the tasks that reader may see.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{timestamp, Result, Store};

/// A saved filter as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedFilterRow {
    /// Its id.
    pub id: String,
    /// Who saved it.
    pub owner: String,
    /// Its name, unique among the owner's.
    pub name: String,
    /// Its criteria, as JSON.
    pub criteria: String,
    /// The group it is shared with, if any.
    pub shared_with: Option<String>,
}

impl Store {
    /// Saves a filter; false when `owner` already has one of that name.
    pub async fn save_filter(&self, filter: &SavedFilterRow, now: DateTime<Utc>) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO saved_filters (id, owner, name, criteria, shared_with, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (owner, name) DO NOTHING",
        )
        .bind(&filter.id)
        .bind(&filter.owner)
        .bind(&filter.name)
        .bind(&filter.criteria)
        .bind(&filter.shared_with)
        .bind(timestamp(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// The filters `user` may use: their own, and those shared with one of
    /// `groups`; the user's own first, then by name.
    pub async fn filters_for(&self, user: &str, groups: &[String]) -> Result<Vec<SavedFilterRow>> {
        let groups_json = serde_json::to_string(groups).unwrap_or_else(|_| "[]".into());
        let sql = format!(
            "SELECT id, owner, name, criteria, shared_with FROM saved_filters \
             WHERE owner = $1 OR shared_with IN {} \
             ORDER BY CASE WHEN owner = $1 THEN 0 ELSE 1 END, name, owner",
            self.dialect.in_json_array("$2")
        );
        // Built from constants only: every input is bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user)
            .bind(groups_json)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|r| SavedFilterRow {
                id: r.get(0),
                owner: r.get(1),
                name: r.get(2),
                criteria: r.get(3),
                shared_with: r.get(4),
            })
            .collect())
    }

    /// Removes filter `id` if `owner` saved it (any owner's when `owner` is
    /// `None`: an administrator). Returns whether it was removed.
    pub async fn delete_filter(&self, id: &str, owner: Option<&str>) -> Result<bool> {
        let n =
            sqlx::query("DELETE FROM saved_filters WHERE id = $1 AND ($2 IS NULL OR owner = $2)")
                .bind(id)
                .bind(owner)
                .execute(&self.pool)
                .await?
                .rows_affected();
        Ok(n == 1)
    }
}
