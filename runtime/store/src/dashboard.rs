//! A process's dashboard: instances started and ended per day, how long the
//! completed ones took, open tasks per group with their age, and incidents
//! raised per day — each figure one grouped query, whatever the volume.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::Row;

use crate::{timestamp, Result, Store};

/// One day's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayCounts {
    /// Instances started that day.
    pub started: i64,
    /// Instances that completed that day.
    pub completed: i64,
    /// Instances cancelled or terminated that day.
    pub terminated: i64,
    /// Incidents raised that day.
    pub incidents: i64,
}

/// Open tasks offered to one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupTasks {
    /// The candidate group.
    pub group: String,
    /// Its open tasks.
    pub open: i64,
    /// When its oldest open task was made.
    pub oldest: String,
}

/// A process's dashboard over a period.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dashboard {
    /// By day (`YYYY-MM-DD`), only days with something in them.
    pub days: BTreeMap<String, DayCounts>,
    /// How long each instance that completed in the period took, in seconds, sorted.
    pub durations: Vec<f64>,
    /// Open tasks by candidate group, most first.
    pub groups: Vec<GroupTasks>,
}

impl Store {
    /// The dashboard of process `key` from `from` (inclusive) to `to` (exclusive).
    pub async fn dashboard(
        &self,
        key: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Dashboard> {
        let (from, to) = (timestamp(from), timestamp(to));
        let mut d = Dashboard::default();
        let started: Vec<(String, i64)> = sqlx::query_as(
            "SELECT substr(started_at, 1, 10), COUNT(*) FROM instances \
             WHERE key = $1 AND started_at >= $2 AND started_at < $3 GROUP BY substr(started_at, 1, 10)",
        )
        .bind(key)
        .bind(&from)
        .bind(&to)
        .fetch_all(&self.pool)
        .await?;
        for (day, n) in started {
            d.days.entry(day).or_default().started = n;
        }
        let ended: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT substr(ended_at, 1, 10), state, COUNT(*) FROM instances \
             WHERE key = $1 AND ended_at >= $2 AND ended_at < $3 GROUP BY substr(ended_at, 1, 10), state",
        )
        .bind(key)
        .bind(&from)
        .bind(&to)
        .fetch_all(&self.pool)
        .await?;
        for (day, state, n) in ended {
            let c = d.days.entry(day).or_default();
            if state == "completed" {
                c.completed += n;
            } else {
                c.terminated += n;
            }
        }
        let raised: Vec<(String, i64)> = sqlx::query_as(
            "SELECT substr(x.created_at, 1, 10), COUNT(*) FROM incidents x JOIN instances i ON i.id = x.instance_id \
             WHERE i.key = $1 AND x.created_at >= $2 AND x.created_at < $3 GROUP BY substr(x.created_at, 1, 10)",
        )
        .bind(key)
        .bind(&from)
        .bind(&to)
        .fetch_all(&self.pool)
        .await?;
        for (day, n) in raised {
            d.days.entry(day).or_default().incidents = n;
        }
        let mut rows = sqlx::query(
            "SELECT started_at, ended_at FROM instances \
             WHERE key = $1 AND state = 'completed' AND ended_at >= $2 AND ended_at < $3",
        )
        .bind(key)
        .bind(&from)
        .bind(&to)
        .fetch(&self.pool);
        while let Some(r) = rows.try_next().await? {
            let (a, b): (String, String) = (r.get(0), r.get(1));
            if let (Ok(a), Ok(b)) = (
                DateTime::parse_from_rfc3339(&a),
                DateTime::parse_from_rfc3339(&b),
            ) {
                d.durations.push((b - a).num_milliseconds() as f64 / 1000.0);
            }
        }
        drop(rows);
        d.durations.sort_by(f64::total_cmp);
        let groups: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT c.name, COUNT(*), MIN(t.created_at) FROM tasks t \
             JOIN task_candidates c ON c.task_id = t.id AND c.kind = 'group' \
             WHERE t.key = $1 GROUP BY c.name ORDER BY COUNT(*) DESC, c.name",
        )
        .bind(key)
        .fetch_all(&self.pool)
        .await?;
        d.groups = groups
            .into_iter()
            .map(|(group, open, oldest)| GroupTasks {
                group,
                open,
                oldest,
            })
            .collect();
        Ok(d)
    }
}
