//! A version's heatmap, from the audit trail: how many tokens stand at each
//! element now, how long tokens stayed at each over a period (median and
//! 90th percentile), and how often each sequence flow was taken.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::Row;

use crate::{timestamp, Result, Store};

/// One element's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ElementHeat {
    /// Tokens at it now, in running instances.
    pub now: i64,
    /// Open incidents at it.
    pub incidents: i64,
    /// Times it completed within the period.
    pub completed: i64,
    /// Median time from entering to leaving it, for those that left within the period.
    pub median_seconds: Option<f64>,
    /// 90th percentile of the same.
    pub p90_seconds: Option<f64>,
}

/// A version's heatmap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Heatmap {
    /// By element id.
    pub elements: BTreeMap<String, ElementHeat>,
    /// Times each sequence flow was taken within the period, by flow id.
    pub flows: BTreeMap<String, i64>,
}

/// The nearest-rank percentile `p` (0 to 1) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank - 1).copied()
}

fn seconds_between(from: &str, to: &str) -> Option<f64> {
    let a = DateTime::parse_from_rfc3339(from).ok()?;
    let b = DateTime::parse_from_rfc3339(to).ok()?;
    Some((b - a).num_milliseconds() as f64 / 1000.0)
}

impl Store {
    /// The heatmap of version `version` of `key`: tokens now, and what
    /// happened from `from` (inclusive) to `to` (exclusive).
    pub async fn heatmap(
        &self,
        key: &str,
        version: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Heatmap> {
        let mut map = Heatmap::default();
        // Now: each start not yet matched by a completion or cancellation, in
        // the running instances (one aggregate, whatever their number).
        let rows = sqlx::query(
            "SELECT h.node_id, h.event, COUNT(*) FROM instances i JOIN history h ON h.instance_id = i.id \
             WHERE i.key = $1 AND i.version = $2 AND i.state = 'active' \
             AND h.event IN ('activityStarted', 'activityCompleted', 'activityCancelled') \
             GROUP BY h.node_id, h.event",
        )
        .bind(key)
        .bind(version)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let node: Option<String> = r.get(0);
            let event: String = r.get(1);
            let n: i64 = r.get(2);
            let Some(node) = node else { continue };
            let e = map.elements.entry(node).or_default();
            e.now += if event == "activityStarted" { n } else { -n };
        }
        for e in map.elements.values_mut() {
            // A multi-instance body's cancellation is counted once per
            // instance of it as well; never show fewer than none.
            e.now = e.now.max(0);
        }
        let rows = sqlx::query(
            "SELECT n.node_id, COUNT(*) FROM instances i JOIN incidents n ON n.instance_id = i.id \
             WHERE i.key = $1 AND i.version = $2 AND n.resolved_at IS NULL GROUP BY n.node_id",
        )
        .bind(key)
        .bind(version)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            map.elements.entry(r.get(0)).or_default().incidents = r.get(1);
        }
        // The period: the instances that lived in it, their trail in order,
        // each completion paired with the start it ends (first in, first out).
        let (from, to) = (timestamp(from), timestamp(to));
        let mut rows = sqlx::query(
            "SELECT h.instance_id, h.event, h.node_id, h.at FROM instances i JOIN history h ON h.instance_id = i.id \
             WHERE i.key = $1 AND i.version = $2 AND i.started_at < $4 AND (i.ended_at IS NULL OR i.ended_at >= $3) \
             AND h.event IN ('activityStarted', 'activityCompleted', 'activityCancelled', 'flowTaken') \
             ORDER BY h.instance_id, h.seq",
        )
        .bind(key)
        .bind(version)
        .bind(&from)
        .bind(&to)
        .fetch(&self.pool);
        let mut current = String::new();
        let mut open: HashMap<String, Vec<String>> = HashMap::new();
        let mut durations: HashMap<String, Vec<f64>> = HashMap::new();
        while let Some(r) = rows.try_next().await? {
            let instance: String = r.get(0);
            let event: String = r.get(1);
            let node: Option<String> = r.get(2);
            let at: String = r.get(3);
            let Some(node) = node else { continue };
            if instance != current {
                current = instance;
                open.clear();
            }
            let within = at >= from && at < to;
            match event.as_str() {
                "activityStarted" => open.entry(node).or_default().push(at),
                "activityCompleted" | "activityCancelled" => {
                    let started = open
                        .get_mut(&node)
                        .filter(|s| !s.is_empty())
                        .map(|s| s.remove(0));
                    if event == "activityCompleted" && within {
                        map.elements.entry(node.clone()).or_default().completed += 1;
                        if let Some(s) = started.and_then(|s| seconds_between(&s, &at)) {
                            durations.entry(node).or_default().push(s);
                        }
                    }
                }
                "flowTaken" if within => *map.flows.entry(node).or_default() += 1,
                _ => {}
            }
        }
        for (node, mut d) in durations {
            d.sort_by(f64::total_cmp);
            let e = map.elements.entry(node).or_default();
            e.median_seconds = percentile(&d, 0.5);
            e.p90_seconds = percentile(&d, 0.9);
        }
        map.elements.retain(|_, e| *e != ElementHeat::default());
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(percentile(&v, 0.5), Some(5.0));
        assert_eq!(percentile(&v, 0.9), Some(9.0));
        assert_eq!(percentile(&[4.0], 0.9), Some(4.0));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
