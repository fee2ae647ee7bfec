//! The SQLite file a store keeps: a new one is made with incremental
//! auto-vacuum (so the history cleanup can give pages back), and the
//! connections the pool opens later never need the write lock to start, so
//! a long write elsewhere cannot make them fail.

use std::time::Duration;

use millrace_store::Store;
use sqlx::{Connection, Executor};

async fn open(path: &std::path::Path) -> Store {
    Store::open(
        &path.display().to_string(),
        std::sync::Arc::new(millrace_script::RhaiLanguage),
    )
    .await
    .expect("the store opens")
}

async fn raw(path: &std::path::Path) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("a plain connection")
}

#[tokio::test]
async fn a_new_file_has_incremental_auto_vacuum() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("new.db");
    let store = open(&path).await;
    store.close().await;
    let mut conn = raw(&path).await;
    let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
        .fetch_one(&mut conn)
        .await
        .expect("reads the pragma");
    assert_eq!(mode, 2, "2 is INCREMENTAL");
    // Opening it again keeps it, and changes nothing else.
    let store = open(&path).await;
    store.close().await;
    let mode: i64 = sqlx::query_scalar("PRAGMA auto_vacuum")
        .fetch_one(&mut conn)
        .await
        .expect("reads the pragma");
    assert_eq!(mode, 2);
}

#[tokio::test]
async fn connections_opened_while_another_connection_writes_read_at_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("busy.db");
    let store = open(&path).await;
    // Another writer holds the write lock, as the committer does mid-unit.
    let mut writer = raw(&path).await;
    writer
        .execute("BEGIN IMMEDIATE")
        .await
        .expect("takes the write lock");
    // More reads at once than the pool has connections open: it opens new
    // ones, each set up by its after-connect pragmas, under that lock.
    let now = chrono::Utc::now();
    let read = || store.job_lag_seconds(now);
    let all = async { tokio::join!(read(), read(), read(), read(), read(), read()) };
    let (a, b, c, d, e, f) = tokio::time::timeout(Duration::from_secs(3), all)
        .await
        .expect("reads do not wait for the writer");
    for answer in [a, b, c, d, e, f] {
        answer.expect("a read under another's write lock succeeds");
    }
    writer.execute("ROLLBACK").await.expect("lets go");
    store.close().await;
}
