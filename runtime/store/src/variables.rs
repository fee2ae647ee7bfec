//! The variable index: each instance's process-level scalar variables as
//! text in `instance_variables`, written by the unit with the instance, so
//! the instance list and the inbox find requests by a variable's value.

use std::collections::BTreeMap;

use millrace_engine::{Instance, Value};

use crate::{timestamp, Result, Store};

/// The longest text value indexed, in bytes (UTF-8: fewer letters for
/// accented text); longer ones (notes, documents) are not searchable by value.
pub const MAX_INDEXED_LEN: usize = 200;

/// A value as the index holds it and a search compares it: text as is,
/// numbers in their shortest exact form, `true`/`false`, instants as stored
/// timestamps. Lists, maps, nulls and long texts are not indexed.
pub fn indexed_text(v: &Value) -> Option<String> {
    match v {
        Value::Bool(b) => Some(b.to_string()),
        Value::Int(n) => Some(n.to_string()),
        Value::Decimal(d) => Some(d.normalize().to_string()),
        Value::String(s) if s.len() <= MAX_INDEXED_LEN => Some(s.clone()),
        Value::DateTime(t) => Some(timestamp(*t)),
        _ => None,
    }
}

/// What the index holds of an instance: its root scope's scalar variables,
/// and the scalar fields of its root maps one level down as `map.field`
/// (`customer.accountNumber`), so a request is found by its customer's
/// number or name however the process groups them.
pub fn indexed(instance: &Instance) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (name, v) in instance.root_variables().iter() {
        match v {
            Value::Map(fields) => {
                for (field, v) in fields {
                    if let Some(text) = indexed_text(v) {
                        out.insert(format!("{name}.{field}"), text);
                    }
                }
            }
            v => {
                if let Some(text) = indexed_text(v) {
                    out.insert(name.clone(), text);
                }
            }
        }
    }
    out
}

/// Rows to write so the index goes from `before` to `after`: names whose
/// value is gone or changed, and the new `(name, value)` pairs.
pub fn index_changes<'a>(
    before: &'a BTreeMap<String, String>,
    after: &'a BTreeMap<String, String>,
) -> (Vec<&'a str>, Vec<(&'a str, &'a str)>) {
    let removed = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    let added = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(*v))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    (removed, added)
}

impl Store {
    /// Indexes the instances saved before the index existed, in batches, once
    /// (the migration leaves a `.backfill` row that this removes when done).
    pub(crate) async fn backfill_variable_index(&self) -> Result<()> {
        let pending: Option<String> = sqlx::query_scalar(
            "SELECT value FROM instance_variables WHERE instance_id = '' AND name = '.backfill'",
        )
        .fetch_optional(&self.pool)
        .await?;
        if pending.is_none() {
            return Ok(());
        }
        let mut after = String::new();
        loop {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT id, body FROM instances WHERE id > $1 ORDER BY id LIMIT 500",
            )
            .bind(&after)
            .fetch_all(&self.pool)
            .await?;
            let Some((last, _)) = rows.last() else { break };
            after = last.clone();
            let mut tx = self.pool.begin().await?;
            let mut pending: Vec<(&str, String, String)> = Vec::new();
            for (id, body) in &rows {
                // An unreadable body is left to `Store::instance`, which says so.
                let Ok(instance) = serde_json::from_str::<Instance>(body) else {
                    continue;
                };
                pending.extend(
                    indexed(&instance)
                        .into_iter()
                        .map(|(n, v)| (id.as_str(), n, v)),
                );
            }
            for chunk in pending.chunks(300) {
                let mut sql = String::from(
                    "INSERT INTO instance_variables (instance_id, name, value) VALUES ",
                );
                for k in 0..chunk.len() {
                    if k > 0 {
                        sql.push_str(", ");
                    }
                    let p = |j: usize| self.dialect.placeholder(k * 3 + j);
                    sql.push_str(&format!("({}, {}, {})", p(1), p(2), p(3)));
                }
                sql.push_str(" ON CONFLICT DO NOTHING");
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (id, name, value) in chunk {
                    q = q.bind(*id).bind(name).bind(value);
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        }
        sqlx::query("DELETE FROM instance_variables WHERE instance_id = '' AND name = '.backfill'")
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_indexed_as_a_search_writes_them() {
        let d: rust_decimal::Decimal = "456.780".parse().expect("a decimal");
        assert_eq!(indexed_text(&Value::Decimal(d)).as_deref(), Some("456.78"));
        assert_eq!(indexed_text(&Value::Int(42)).as_deref(), Some("42"));
        assert_eq!(indexed_text(&Value::Bool(true)).as_deref(), Some("true"));
        assert_eq!(
            indexed_text(&Value::String("ACC-1".into())).as_deref(),
            Some("ACC-1")
        );
        assert_eq!(indexed_text(&Value::String("x".repeat(201))), None);
        assert_eq!(indexed_text(&Value::List(vec![])), None);
        assert_eq!(indexed_text(&Value::Null), None);
    }

    #[test]
    fn only_what_changed_is_written() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let before = map(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let after = map(&[("a", "1"), ("b", "20"), ("d", "4")]);
        let (removed, added) = index_changes(&before, &after);
        assert_eq!(removed, ["b", "c"]);
        assert_eq!(added, [("b", "20"), ("d", "4")]);
    }
}
