//! Loading the utility's reference data from a data file (JSON: a table
//! name to a list of rows, each a column name to a value), and reading and
//! editing the settings administrators keep as data.
//!
//! Rows whose primary key is already there are left as they are, so a
//! restart that loads the file again keeps an administrator's edits. Money
//! and other decimals are written as text (`"456.78"`): a JSON number with a
//! fraction is refused, so nothing passes through floating point.

use std::collections::BTreeMap;

use sqlx::Row;

use crate::connector::REFERENCE_TABLES;
use crate::{Result, Store, StoreError};

/// How many rows of each table a load inserted (rows already there are not counted).
pub type Loaded = BTreeMap<String, u64>;

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

impl Store {
    /// Loads the data file `file` (its text `json`) in one transaction: all
    /// or nothing; an error names the file, the table, the row and the reason.
    pub async fn load_reference_data(&self, file: &str, json: &str) -> Result<Loaded> {
        let bad = |reason: String| StoreError::BadFile {
            file: file.to_string(),
            reason,
        };
        let doc: serde_json::Value =
            serde_json::from_str(json).map_err(|e| bad(format!("not JSON: {e}")))?;
        let tables = doc
            .as_object()
            .ok_or_else(|| bad("the file is an object of table names to lists of rows".into()))?;
        for name in tables.keys() {
            if !REFERENCE_TABLES.contains(&name.as_str()) {
                return Err(bad(format!(
                    "{name:?} is not a reference-data table; the tables are {}",
                    REFERENCE_TABLES.join(", ")
                )));
            }
        }
        let mut loaded = Loaded::new();
        let mut tx = self.write_tx().await?;
        // In the order of REFERENCE_TABLES, which is the order foreign keys need.
        for table in REFERENCE_TABLES {
            let Some(rows) = tables.get(*table) else {
                continue;
            };
            let rows = rows
                .as_array()
                .ok_or_else(|| bad(format!("{table}: a list of rows")))?;
            let mut inserted = 0;
            for (i, row) in rows.iter().enumerate() {
                let at = |reason: String| bad(format!("{table}[{i}]: {reason}"));
                let row = row
                    .as_object()
                    .ok_or_else(|| at("a row is an object of column names to values".into()))?;
                if row.is_empty() {
                    return Err(at("the row has no columns".into()));
                }
                let mut columns = Vec::with_capacity(row.len());
                for column in row.keys() {
                    if !is_identifier(column) {
                        return Err(at(format!("{column:?} is not a column name")));
                    }
                    columns.push(column.as_str());
                }
                let placeholders: Vec<String> =
                    (1..=columns.len()).map(|n| format!("${n}")).collect();
                // Table and column names are checked above (a listed table,
                // plain lower-case identifiers); every value is bound.
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
                    columns.join(", "),
                    placeholders.join(", ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (column, value) in row {
                    q = match value {
                        serde_json::Value::Null => q.bind(None::<String>),
                        serde_json::Value::Bool(b) => q.bind(i64::from(*b)),
                        serde_json::Value::Number(n) => match n.as_i64() {
                            Some(n) => q.bind(n),
                            None => {
                                return Err(at(format!(
                                    "{column}: {n} is not a whole number; write decimals as text (\"{n}\")"
                                )))
                            }
                        },
                        serde_json::Value::String(s) => q.bind(s.clone()),
                        other => q.bind(other.to_string()),
                    };
                }
                let done = q.execute(&mut *tx).await.map_err(|e| at(e.to_string()))?;
                inserted += done.rows_affected();
            }
            loaded.insert(table.to_string(), inserted);
        }
        tx.commit().await?;
        Ok(loaded)
    }

    /// How many rows a reference-data table holds (for `/health`-like checks and tests).
    pub async fn reference_rows(&self, table: &str) -> Result<i64> {
        if !REFERENCE_TABLES.contains(&table) {
            return Err(StoreError::NotFound("reference-data table", table.into()));
        }
        // The table name is one of the listed constants.
        let sql = format!("SELECT COUNT(*) FROM {table}");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await?
            .get::<i64, _>(0))
    }
}
