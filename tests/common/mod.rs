//! What the end-to-end tests share: which database a test runs on.
//!
//! Every test that opens a store asks [`database`] for one. With
//! `MILLRACE_TEST_POSTGRES` set to a PostgreSQL URL (tests/run.sh sets it for
//! its second pass) the answer is a fresh schema of that database; otherwise
//! a fresh SQLite file in `dir`.

use std::path::Path;

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
