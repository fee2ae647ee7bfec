//! Which database a store test runs on: a fresh schema of the PostgreSQL
//! database named by `MILLRACE_TEST_POSTGRES` when it is set (tests/run.sh's
//! second pass), otherwise a fresh SQLite file.
//!
//! Each test binary includes this module and uses only part of it.
#![allow(dead_code)]

use millrace_store::Store;

/// A fresh database URL for one test; `dir` holds the SQLite file.
pub async fn database(dir: &std::path::Path, name: &str) -> String {
    match std::env::var("MILLRACE_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    {
        Some(base) => millrace_store::scratch_postgres(&base)
            .await
            .expect("a scratch schema in the test database"),
        None => dir.join(format!("{name}.db")).display().to_string(),
    }
}

/// A fresh, migrated store for one test.
pub async fn store(dir: &std::path::Path, name: &str) -> Store {
    Store::open(
        &database(dir, name).await,
        std::sync::Arc::new(millrace_script::RhaiLanguage),
    )
    .await
    .expect("the store opens")
}

/// Deploys one BPMN text as `p.bpmn` at `now`.
pub async fn deploy(store: &Store, bpmn: &str, now: chrono::DateTime<chrono::Utc>) {
    store
        .deploy(
            "t",
            &[millrace_store::DeploymentFile {
                name: "p.bpmn".into(),
                content: bpmn.into(),
            }],
            None,
            None,
            now,
        )
        .await
        .expect("deploys");
}
