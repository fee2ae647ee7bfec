//! A process's dashboard: instances started and ended per day, how long the
//! completed ones took, open tasks per group with their age, and incidents
//! raised per day — each figure one grouped query, whatever the volume.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::Row;

use millrace_engine::sla::SlaClock;

use crate::{timestamp, Result, Store, StoreError};

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

/// How one SLA fared in one month (by its due date), for one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// The SLA's name.
    pub name: String,
    /// The first candidate group of the task that declares it (`None`: a
    /// process-level SLA).
    pub group: Option<String>,
    /// Met by their due date.
    pub met: i64,
    /// Met late, or past due and not met.
    pub missed: i64,
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
    /// SLA compliance by month, SLA and group, of the clocks due in the
    /// period (those still running and not yet due are not counted, nor
    /// those stopped before they fell due).
    pub slas: Vec<SlaMonth>,
}

impl Store {
    /// The dashboard of process `key` from `from` (inclusive) to `to`
    /// (exclusive); an SLA past due and unmet at `now` counts as missed.
    pub async fn dashboard(
        &self,
        key: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Dashboard> {
        let (from, to, now) = (timestamp(from), timestamp(to), timestamp(now));
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
        // Timestamps are one fixed-width UTC text form: they compare as text.
        let slas: Vec<(String, String, Option<String>, i64, i64)> = sqlx::query_as(
            "SELECT substr(due_at, 1, 7), name, group_name, \
             SUM(CASE WHEN met_at IS NOT NULL AND met_at <= due_at THEN 1 ELSE 0 END), \
             SUM(CASE WHEN met_at IS NOT NULL AND met_at > due_at THEN 1 \
                      WHEN met_at IS NULL AND (breached = 1 OR (cancelled = 0 AND due_at <= $4)) THEN 1 ELSE 0 END) \
             FROM slas WHERE key = $1 AND due_at >= $2 AND due_at < $3 \
             GROUP BY substr(due_at, 1, 7), name, group_name ORDER BY 1, 2, 3",
        )
        .bind(key)
        .bind(&from)
        .bind(&to)
        .bind(&now)
        .fetch_all(&self.pool)
        .await?;
        d.slas = slas
            .into_iter()
            .filter(|(_, _, _, met, missed)| met + missed > 0)
            .map(|(month, name, group, met, missed)| SlaMonth {
                month,
                name,
                group,
                met,
                missed,
            })
            .collect();
        Ok(d)
    }

    /// The SLA clocks of an instance, in the order they started.
    pub async fn slas(&self, instance: &str) -> Result<Vec<SlaClock>> {
        let rows = sqlx::query(
            "SELECT id, name, element_id, group_name, started_at, due_at, target_seconds, business_hours, \
             met_at, achieved_seconds, breached, cancelled FROM slas WHERE instance_id = $1 ORDER BY started_at, id",
        )
        .bind(instance)
        .fetch_all(&self.pool)
        .await?;
        let at = |text: String| {
            DateTime::parse_from_rfc3339(&text)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    StoreError::Corrupt(instance.to_string(), format!("SLA time {text:?}: {e}"))
                })
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.get(0);
            out.push(SlaClock {
                // The global id is `instance:local`.
                id: id
                    .rsplit(':')
                    .next()
                    .and_then(|l| l.parse().ok())
                    .unwrap_or_default(),
                name: r.get(1),
                element: r.get(2),
                group: r.get(3),
                started_at: at(r.get(4))?,
                due_at: at(r.get(5))?,
                target_seconds: r.get(6),
                business_hours: r.get::<i64, _>(7) != 0,
                met_at: r.get::<Option<String>, _>(8).map(at).transpose()?,
                achieved_seconds: r.get(9),
                breached: r.get::<i64, _>(10) != 0,
                cancelled: r.get::<i64, _>(11) != 0,
            });
        }
        Ok(out)
    }
}
