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
                    q = bind_json(q, column, value).map_err(at)?;
                }
                let done = q.execute(&mut *tx).await.map_err(|e| at(e.to_string()))?;
                inserted += done.rows_affected();
            }
            loaded.insert(table.to_string(), inserted);
        }
        tx.commit().await?;
        Ok(loaded)
    }
}

/// A reference-data table administrators edit as data (a setting of the processes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditableTable {
    /// The table.
    pub name: &'static str,
    /// What administrators call it.
    pub label: &'static str,
    /// The columns that pick a row out.
    pub keys: &'static [&'static str],
    /// Every column, in the migration's order.
    pub columns: &'static [&'static str],
}

/// The reference-data tables administrators edit as data (the settings of
/// the processes); their columns are those of the migrations.
pub const EDITABLE: &[EditableTable] = &[
    EditableTable {
        name: "disconnection_reasons",
        label: "Disconnection reasons",
        keys: &["code"],
        columns: &[
            "code",
            "request_type",
            "name",
            "priority",
            "description",
            "approval_above",
            "active",
        ],
    },
    EditableTable {
        name: "time_slots",
        label: "Time slots",
        keys: &["slot_id"],
        columns: &["slot_id", "label", "starts", "ends", "position", "active"],
    },
    EditableTable {
        name: "checklist_items",
        label: "Checklist items",
        keys: &["item_id"],
        columns: &["item_id", "process_key", "label", "position", "active"],
    },
    EditableTable {
        name: "sla_targets",
        label: "SLA targets",
        keys: &["request_type", "metric"],
        columns: &["request_type", "metric", "hours"],
    },
    EditableTable {
        name: "utility_settings",
        label: "General",
        keys: &["name"],
        columns: &["name", "value"],
    },
    EditableTable {
        name: "holidays",
        label: "Holidays",
        keys: &["day"],
        columns: &["day", "name"],
    },
    EditableTable {
        name: "connection_fees",
        label: "Connection fees",
        keys: &["installation_type", "meter_phase"],
        columns: &["installation_type", "meter_phase", "amount"],
    },
    EditableTable {
        name: "districts",
        label: "Districts",
        keys: &["district_code"],
        columns: &["district_code", "name", "installer_kind", "lrp"],
    },
    EditableTable {
        name: "installers",
        label: "Installers",
        keys: &["installer_id"],
        columns: &["installer_id", "name", "kind", "district_code", "phone"],
    },
];

/// A reference-data row as the API shows it: column to value (text, a whole
/// number, or null; money stays text, exactly as stored).
pub type ReferenceRow = serde_json::Map<String, serde_json::Value>;

impl Store {
    /// Every row of an editable reference-data table, in key order.
    pub async fn reference_table(&self, table: &str) -> Result<Vec<ReferenceRow>> {
        let (table, keys) = editable(table)?;
        // The table and its keys are constants of EDITABLE.
        let sql = format!("SELECT * FROM {table} ORDER BY {}", keys.join(", "));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .iter()
            .map(|row| {
                use sqlx::Column;
                row.columns()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let v = if let Ok(n) = row.try_get::<Option<i64>, _>(i) {
                            n.map_or(serde_json::Value::Null, serde_json::Value::from)
                        } else {
                            row.try_get::<Option<String>, _>(i)
                                .ok()
                                .flatten()
                                .map_or(serde_json::Value::Null, serde_json::Value::String)
                        };
                        (c.name().to_string(), v)
                    })
                    .collect()
            })
            .collect())
    }

    /// Adds or changes rows of an editable reference-data table (by its key
    /// columns), audited as `actor`, in one transaction: all or nothing; an
    /// error names the row and the reason.
    pub async fn put_reference_rows(
        &self,
        table: &str,
        rows: &[ReferenceRow],
        actor: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64> {
        let (table, keys) = editable(table)?;
        let bad = |row: usize, reason: String| StoreError::BadRow {
            table: table.to_string(),
            row,
            reason,
        };
        let mut tx = self.write_tx().await?;
        let mut changed = 0;
        for (i, row) in rows.iter().enumerate() {
            for k in keys {
                if row.get(*k).is_none_or(|v| v.is_null()) {
                    return Err(bad(i, format!("the row has no {k}, which names it")));
                }
            }
            let columns: Vec<&str> = row.keys().map(String::as_str).collect();
            if let Some(c) = columns.iter().find(|c| !is_identifier(c)) {
                return Err(bad(i, format!("{c:?} is not a column name")));
            }
            // A row that is there is changed in the columns given; one that is
            // not is added (and then needs every column its table requires).
            let sets: Vec<String> = columns
                .iter()
                .filter(|c| !keys.contains(c))
                .enumerate()
                .map(|(n, c)| format!("{c} = ${}", n + 1))
                .collect();
            let updated = if sets.is_empty() {
                0
            } else {
                let wheres: Vec<String> = keys
                    .iter()
                    .enumerate()
                    .map(|(n, k)| format!("{k} = ${}", sets.len() + n + 1))
                    .collect();
                // Names checked above; every value is bound.
                let sql = format!(
                    "UPDATE {table} SET {} WHERE {}",
                    sets.join(", "),
                    wheres.join(" AND ")
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (column, value) in row.iter().filter(|(c, _)| !keys.contains(&c.as_str())) {
                    q = bind_json(q, column, value).map_err(|r| bad(i, r))?;
                }
                for k in keys {
                    q = bind_json(q, k, &row[*k]).map_err(|r| bad(i, r))?;
                }
                q.execute(&mut *tx)
                    .await
                    .map_err(|e| bad(i, e.to_string()))?
                    .rows_affected()
            };
            if updated > 0 {
                changed += updated;
                continue;
            }
            let placeholders: Vec<String> = (1..=columns.len()).map(|n| format!("${n}")).collect();
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                columns.join(", "),
                placeholders.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (column, value) in row {
                q = bind_json(q, column, value).map_err(|r| bad(i, r))?;
            }
            changed += q
                .execute(&mut *tx)
                .await
                .map_err(|e| bad(i, e.to_string()))?
                .rows_affected();
        }
        sqlx::query(
            "INSERT INTO audit (at, actor, action, target, outcome, detail) VALUES ($1, $2, 'reference.put', $3, 'ok', $4)",
        )
        .bind(crate::timestamp(now))
        .bind(actor)
        .bind(table)
        .bind(serde_json::Value::Array(rows.iter().cloned().map(serde_json::Value::Object).collect()).to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(changed)
    }
}

fn editable(table: &str) -> Result<(&'static str, &'static [&'static str])> {
    EDITABLE
        .iter()
        .find(|t| t.name == table)
        .map(|t| (t.name, t.keys))
        .ok_or_else(|| StoreError::NotFound("editable reference-data table", table.to_string()))
}

/// Binds a JSON value of a reference-data row: text, a whole number, a flag
/// (0/1) or null; anything else is refused with the column's name.
fn bind_json<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    column: &str,
    value: &serde_json::Value,
) -> std::result::Result<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>, String> {
    Ok(match value {
        serde_json::Value::Null => q.bind(None::<String>),
        serde_json::Value::Bool(b) => q.bind(i64::from(*b)),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(n) => q.bind(n),
            None => {
                return Err(format!(
                    "{column}: {n} is not a whole number; write decimals as text (\"{n}\")"
                ))
            }
        },
        serde_json::Value::String(s) => q.bind(s.clone()),
        other => return Err(format!("{column}: {other} is not a text, number or flag")),
    })
}
