//! What the end-to-end tests share: which database a test runs on.
//!
//! Every test that opens a store asks [`database`] for one. With
//! `MILLRACE_TEST_POSTGRES` set to a PostgreSQL URL (tests/run.sh sets it for
//! its second pass) the answer is a fresh schema of that database; otherwise
//! a fresh SQLite file in `dir`.
//!
//! Each test binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::path::Path;

pub mod server;
pub mod smtp;
pub mod walk;

/// The PostgreSQL URL the tests run against, when they run against one.
pub fn postgres() -> Option<String> {
    std::env::var("MILLRACE_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A fresh, empty database for one test: a new PostgreSQL schema or `dir/name.db`.
pub fn database(dir: &Path, name: &str) -> String {
    match postgres() {
        Some(base) => tokio::runtime::Runtime::new()
            .expect("runtime")
            .block_on(millrace_store::scratch_postgres(&base))
            .expect("a scratch schema in the test database"),
        None => dir.join(format!("{name}.db")).display().to_string(),
    }
}

/// Waits until a `millrace serve` child says where it listens and returns
/// its base URL; its stdout keeps being drained so it never blocks on a full pipe.
pub fn listening_on(child: &mut std::process::Child) -> String {
    use std::io::{BufRead, BufReader};
    let stdout = child.stdout.take().expect("the server's stdout is piped");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server says where it listens")
            .expect("line");
        if let Some(rest) = line.strip_prefix("millrace listening on ") {
            break rest.split_whitespace().next().expect("address").to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    base
}

/// The checker shared by the crash and cluster tests: every instance's state,
/// after asserting that no step was applied twice (each instance ended at
/// most once and completed each node at most once). Returns the states and,
/// per instance, how many distinct end and completion events it recorded.
pub async fn applied_once(
    pool: &sqlx::AnyPool,
) -> (
    std::collections::BTreeMap<String, String>,
    std::collections::BTreeMap<String, usize>,
) {
    use sqlx::Row;
    let states = sqlx::query("SELECT id, state FROM instances")
        .fetch_all(pool)
        .await
        .expect("instances")
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let counts = sqlx::query(
        "SELECT instance_id, event, COALESCE(node_id, ''), COUNT(*) FROM history \
         WHERE event IN ('instanceEnded', 'activityCompleted') GROUP BY 1, 2, 3",
    )
    .fetch_all(pool)
    .await
    .expect("history");
    let mut per_instance = std::collections::BTreeMap::new();
    for r in counts {
        let (id, event, node, n): (String, String, String, i64) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        assert_eq!(
            n, 1,
            "{id}: {event} {node} recorded {n} times: applied twice"
        );
        *per_instance.entry(id).or_default() += 1;
    }
    (states, per_instance)
}
