//! The only crate with SQL: deployments and definition versions, instances
//! (one JSON document each, guarded by a revision), and the tables the
//! executor's effects write (tasks, jobs, subscriptions, incidents, history).
//!
//! Invariant: every change of instance state commits in one transaction
//! together with its history rows and its jobs ([`Unit`]); a unit that fails
//! leaves nothing behind.

mod access;
mod accounts;
mod attachments;
mod batches;
mod catalog;
mod committer;
pub mod connector;
mod dashboard;
mod deploy;
pub mod document;
mod drafts;
mod filters;
mod heatmap;
mod http;
mod jobs;
mod outbox;
mod read;
pub mod reference;
pub mod report;
mod retention;
mod unit;
pub mod variables;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use millrace_engine::script::ScriptLanguage;
use millrace_engine::{CommandError, DeployError, ProcessDefinition};
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Executor;

pub use access::{Grant, GrantedKeys, IncidentSearch, InstanceSearch, Reader, EVERY_PROCESS};
pub use accounts::{ApiTokenRow, AuditEntry, AuditFilter, Comment, SessionRow, User, TOKEN_ID_LEN};
pub use attachments::{AttachmentInfo, NewAttachment};
pub use batches::{BatchItemRow, BatchRow, BatchWork, MigrationCandidate, BATCH_CHUNK};
pub use catalog::{DefinitionRow, SlaFilter, TaskFilter, TaskView};
pub use committer::{Committer, Done, Write};
pub use connector::{NamedQuery, QueryBook, QueryError};
pub use dashboard::{Dashboard, DayCounts, GroupTasks, SlaMonth};
pub use deploy::{DeployedDefinition, DeploymentFile};
pub use document::DocumentInfo;
pub use drafts::{DraftRow, TaskDraftRow};
pub use filters::SavedFilterRow;
pub use heatmap::{percentile, ElementHeat, Heatmap};
pub use jobs::{backoff, ClaimedJob, JobOutcome, LockedExternalTask};
pub use outbox::OutboxMail;
pub use read::{Counts, HistoryRow, IncidentRow, InstanceSummary, ProcessCounts, RequestSummary};
pub use report::{ReportError, ReportInfo, ReportTable};
pub use retention::{Cleaned, CLEANUP_BATCH};
pub use unit::{global_id, split_id, Unit, REQUEST_ID, REQUEST_STATUS};
pub use worker::{JobCounters, Worker};

/// Why a store operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    // The two below print their cause in their own message and do not name
    // it as `source`, so error chains (anyhow's `{:#}`) do not say it twice.
    /// The database failed.
    #[error("database: {0}")]
    Database(sqlx::Error),
    /// Migrations failed.
    #[error("migrations: {0}")]
    Migrate(sqlx::migrate::MigrateError),
    /// A deployed file does not compile.
    #[error("{file}: {error}")]
    Deploy {
        /// The file.
        file: String,
        /// Why.
        error: DeployError,
    },
    /// A deployed file is not BPMN.
    #[error("{file}: {reason}")]
    BadFile {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// A reference-data row given to change a table is refused.
    #[error("{table} row {row}: {reason}")]
    BadRow {
        /// The table.
        table: String,
        /// The row's place in what was given (0-based).
        row: usize,
        /// Why.
        reason: String,
    },
    /// The engine refused the command.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The engine refused to migrate an instance.
    #[error("the migration is refused: {0}")]
    Migration(#[from] millrace_engine::MigrationRefused),
    /// Something named does not exist.
    #[error("{0} {1:?} does not exist")]
    NotFound(&'static str, String),
    /// Another writer changed the instance first.
    #[error("instance {0:?} was changed concurrently; try again")]
    Conflict(String),
    /// A stored document could not be read.
    #[error("stored state of {0:?} is unreadable: {1}")]
    Corrupt(String, String),
    /// The store cannot take writes just now (a batch could not begin or commit).
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// A draft was saved by someone else since the caller read it.
    #[error("the draft of {key:?} was saved by {by} at {at} (revision {revision}) since you opened it; reload it to see their change")]
    DraftChanged {
        /// Process key.
        key: String,
        /// Its revision now.
        revision: i64,
        /// Who saved it.
        by: String,
        /// When.
        at: String,
    },
    /// A message or signal that nothing waits for.
    #[error("no {0} {1:?} is awaited")]
    NoMatch(&'static str, String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError::Database(e)
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migrate(e)
    }
}

impl StoreError {
    /// True when trying the same thing again may succeed: another writer got
    /// there first (a revision conflict, a deadlock or serialization failure
    /// the database broke), or the database was briefly unreachable. Retrying
    /// re-reads the state and runs the command again; nothing is merged.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Conflict(_) | StoreError::Unavailable(_) => true,
            StoreError::Database(e) => database_error_is_transient(e),
            _ => false,
        }
    }
}

fn database_error_is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // PostgreSQL: serialization failure, deadlock, lock not available,
            // shutdown and connection classes. SQLite: busy and locked.
            matches!(
                &*code,
                "40001" | "40P01" | "55P03" | "57P01" | "57P02" | "57P03"
            ) || code.starts_with("08")
                || matches!(&*code, "5" | "6" | "261" | "262" | "517")
        }
        _ => false,
    }
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Timestamps are stored as fixed-width RFC 3339 text, so text order is time order.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A form reference within a definition version: (key, version, form reference).
type FormKey = (String, i64, String);

/// Which database a store runs on. The SQL is shared; where the two differ
/// (row locks, transaction start, JSON and string aggregation, the lease
/// clock) the statement asks its dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// One file, one process: writers are serialized by `BEGIN IMMEDIATE`.
    Sqlite,
    /// Shared by several nodes: row locks, `SKIP LOCKED` claims, the database's clock for leases.
    Postgres,
}

impl Dialect {
    /// The statement that opens a write transaction.
    fn begin(self) -> &'static str {
        match self {
            // Take the write lock at once, so a transaction never fails to upgrade it later.
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        }
    }

    /// Appended to a `SELECT` of rows the transaction will change.
    fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE",
        }
    }

    /// Appended to a claim query, so claimers pass over rows another claim holds.
    fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// `name IN (...)` over a JSON array of strings bound as `param`.
    fn in_json_array(self, param: &str) -> String {
        match self {
            Dialect::Sqlite => format!("(SELECT value FROM json_each({param}))"),
            Dialect::Postgres => format!("(SELECT jsonb_array_elements_text({param}::jsonb))"),
        }
    }

    /// The names of `column` joined by the unit separator.
    fn joined(self, column: &str) -> String {
        match self {
            Dialect::Sqlite => format!("group_concat({column}, char(31))"),
            Dialect::Postgres => format!("string_agg({column}, chr(31))"),
        }
    }

    /// Placeholder `n` (1-based) of a statement whose parameters are all bound
    /// in order. SQLite gets anonymous `?`: sqlx looks up each parameter's
    /// name, and SQLite finds names by a linear scan, so a 1,200-parameter
    /// insert with `$n` names spends its time in quadratic lookups.
    fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => "?".to_string(),
            Dialect::Postgres => format!("${n}"),
        }
    }

    /// Insertion order of a table's rows (SQLite's implicit rowid, PostgreSQL's `seq` column).
    fn insertion_order(self) -> &'static str {
        match self {
            Dialect::Sqlite => "rowid",
            Dialect::Postgres => "seq",
        }
    }
}

/// Creates an empty schema in the PostgreSQL database at `base` and returns a
/// URL whose connections use it: one throw-away database per test or
/// scenario, without the cost of `CREATE DATABASE`.
pub async fn scratch_postgres(base: &str) -> Result<String> {
    Ok(ScratchSchema::create(base).await?.url)
}

/// A throw-away schema in a PostgreSQL database (see [`scratch_postgres`]),
/// for runs that should leave nothing behind: [`ScratchSchema::drop_schema`].
pub struct ScratchSchema {
    /// Connections to this URL use the schema.
    pub url: String,
    base: String,
    schema: String,
}

impl ScratchSchema {
    /// Creates the schema.
    pub async fn create(base: &str) -> Result<ScratchSchema> {
        sqlx::any::install_default_drivers();
        // From a v7 UUID: letters and digits only, safe as an identifier.
        let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(base)
            .await?;
        pool.execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .await?;
        pool.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        Ok(ScratchSchema {
            url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            base: base.to_string(),
            schema,
        })
    }

    /// Drops the schema and everything in it.
    pub async fn drop_schema(self) -> Result<()> {
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .connect(&self.base)
            .await?;
        pool.execute(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA {} CASCADE",
            self.schema
        )))
        .await?;
        pool.close().await;
        Ok(())
    }
}

/// True for a `postgres://` or `postgresql://` URL.
fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The durable store.
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// The SQLite file (none on PostgreSQL, whose disk is the server's).
    file: Option<std::path::PathBuf>,
    /// Told after every commit that adds, ends or (re)assigns a task — on
    /// PostgreSQL also when another node's commit did (`LISTEN millrace_tasks`).
    task_events: tokio::sync::broadcast::Sender<()>,
    /// The PostgreSQL listener that forwards other nodes' task notifications.
    listener: Option<tokio::task::JoinHandle<()>>,
    definitions: RwLock<HashMap<(String, i64), Arc<ProcessDefinition>>>,
    latest: RwLock<HashMap<String, i64>>,
    /// Form-js forms found for (key, version, form reference): versions never change.
    forms: RwLock<HashMap<FormKey, Option<Arc<str>>>>,
    /// What deployments' scripts are compiled in.
    scripts: Arc<dyn ScriptLanguage>,
    /// The named queries deployed with each (key, version): versions never change.
    query_books: RwLock<HashMap<(String, i64), Arc<connector::QueryBook>>>,
    /// The hosts `http` connector tasks may call (`host` or `host:port`).
    http_allow: RwLock<Vec<String>>,
    /// Whom `https` calls trust to vouch for a host's certificate.
    http_trust: RwLock<http::HttpTrust>,
}

/// Whether a connection given back to the pool is outside any transaction,
/// as it must be to be used again. One whose transaction failed at `COMMIT`
/// (SQLite on a full disk rolls the transaction back by itself, so the
/// driver's `ROLLBACK` fails too) still counts itself inside it, and every
/// later `BEGIN` on it would fail: the pool closes it and opens a fresh one,
/// so the writer recovers by itself once writes succeed again.
async fn left_no_transaction(
    conn: &mut sqlx::AnyConnection,
) -> std::result::Result<bool, sqlx::Error> {
    use sqlx::Connection;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // A rollback queued by a dropped transaction runs before the ping answers.
    conn.ping().await?;
    Ok(!conn.is_in_transaction())
}

impl Store {
    /// Sets the hosts `http` connector tasks may call: `host` (any port) or
    /// `host:port`. None until set, so every call is refused by default.
    pub fn allow_http_hosts(&self, hosts: Vec<String>) {
        // A poisoned lock only means a writer panicked mid-assignment of a Vec: the value is whole.
        *self.http_allow.write().unwrap_or_else(|e| e.into_inner()) = hosts;
    }

    /// Makes `https` calls trust only the certificate authorities in the PEM
    /// text `pem`, read from `file` (named in the error); returns how many.
    /// Until then they trust Mozilla's root certificates.
    pub fn trust_http_authorities(&self, file: &str, pem: &[u8]) -> Result<usize> {
        let trust = http::HttpTrust::from_pem(pem).map_err(|reason| StoreError::BadFile {
            file: file.to_string(),
            reason,
        })?;
        let n = trust.authorities();
        // A poisoned lock only means a writer panicked mid-assignment: the value is whole.
        *self.http_trust.write().unwrap_or_else(|e| e.into_inner()) = trust;
        Ok(n)
    }

    /// Whom `https` calls trust.
    pub(crate) fn http_trust(&self) -> http::HttpTrust {
        self.http_trust
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The hosts `http` connector tasks may call.
    pub fn http_allow(&self) -> Vec<String> {
        self.http_allow
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if let Some(l) = &self.listener {
            l.abort();
        }
    }
}

/// Forwards PostgreSQL's `millrace_tasks` notifications (other nodes' task
/// changes) to this node's listeners, reconnecting after a lost connection.
async fn forward_task_notifications(url: String, to: tokio::sync::broadcast::Sender<()>) {
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => {
                if listener.listen("millrace_tasks").await.is_ok() {
                    // While the connection lasts; a notification may have been
                    // missed across a reconnect, so listeners hear one then too.
                    let _ = to.send(());
                    while listener.recv().await.is_ok() {
                        let _ = to.send(());
                    }
                }
            }
            Err(e) => tracing::debug!("task notifications: cannot listen: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

impl Store {
    /// Opens the database at `url` — `postgres://…` for PostgreSQL, otherwise
    /// an SQLite file (`sqlite://path` or a path, created if missing) —
    /// migrates it, and compiles every deployed definition.
    /// Scripts in deployments are compiled in `scripts`.
    pub async fn open(url: &str, scripts: Arc<dyn ScriptLanguage>) -> Result<Store> {
        Self::open_with(url, 16, scripts).await
    }

    /// [`Store::open`] with at most `connections` pooled connections (PostgreSQL only;
    /// SQLite has one writer whatever the pool).
    pub async fn open_with(
        url: &str,
        connections: u32,
        scripts: Arc<dyn ScriptLanguage>,
    ) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (pool, dialect, file) = if is_postgres(url) {
            // One plain connection first: a pool that cannot connect reports
            // only that it timed out, not why (refused, no such role, …).
            use sqlx::Connection;
            sqlx::AnyConnection::connect(url).await?.close().await?;
            let pool = AnyPoolOptions::new()
                .max_connections(connections.max(2))
                .acquire_timeout(Duration::from_secs(10))
                .after_release(|conn, _| Box::pin(left_no_transaction(conn)))
                .connect(url)
                .await?;
            sqlx::migrate!("../../migrations/postgres")
                .run(&pool)
                .await?;
            (pool, Dialect::Postgres, None)
        } else {
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or(url);
            // A new database may live in a folder not made yet (`data/` by default).
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| StoreError::BadFile {
                        file: dir.display().to_string(),
                        reason: format!("cannot create the database's folder: {e}"),
                    })?;
                }
            }
            let url = format!("sqlite://{path}?mode=rwc");
            if !std::path::Path::new(path).exists() {
                // Incremental auto-vacuum (so the history cleanup gives freed
                // pages back) can only be chosen before the first table is
                // made, and asking for it on every connection takes a write
                // lock a busy database refuses: so once, on the new file.
                use sqlx::Connection;
                let mut conn = sqlx::AnyConnection::connect(&url).await?;
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL; PRAGMA journal_mode = WAL")
                    .await?;
                conn.close().await?;
            }
            let pool = AnyPoolOptions::new()
                .max_connections(4)
                .after_release(|conn, _| Box::pin(left_no_transaction(conn)))
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        // Wait for the writer, never fail at once (set first, so the
                        // rest waits too); durable (FULL); concurrent readers (WAL).
                        conn.execute(
                            "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA foreign_keys = ON",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect(&url)
                .await?;
            sqlx::migrate!("../../migrations/sqlite").run(&pool).await?;
            (pool, Dialect::Sqlite, Some(std::path::PathBuf::from(path)))
        };
        let (task_events, _) = tokio::sync::broadcast::channel(16);
        let listener = (dialect == Dialect::Postgres).then(|| {
            tokio::spawn(forward_task_notifications(
                url.to_string(),
                task_events.clone(),
            ))
        });
        let store = Store {
            pool,
            dialect,
            file,
            task_events,
            listener,
            definitions: RwLock::new(HashMap::new()),
            latest: RwLock::new(HashMap::new()),
            forms: RwLock::new(HashMap::new()),
            scripts,
            query_books: RwLock::new(HashMap::new()),
            http_allow: RwLock::new(Vec::new()),
            http_trust: RwLock::new(http::HttpTrust::default()),
        };
        store.load_definitions().await?;
        store.backfill_variable_index().await?;
        Ok(store)
    }

    /// Closes the pool, waiting for its connections to end.
    pub async fn close(&self) {
        if let Some(l) = &self.listener {
            l.abort();
        }
        self.pool.close().await;
    }

    /// A receiver told whenever tasks may have changed (arrived, ended, been
    /// claimed or handed over), on this node or, on PostgreSQL, any node. It
    /// says nothing of which: a listener reads what its reader may see again.
    pub fn task_events(&self) -> tokio::sync::broadcast::Receiver<()> {
        self.task_events.subscribe()
    }

    /// After a commit that changed tasks: tells this node's listeners.
    pub(crate) fn tasks_changed(&self) {
        // No receiver is no error: nobody has an inbox open.
        let _ = self.task_events.send(());
    }

    /// Inside a transaction that changes tasks: on PostgreSQL, tells the
    /// other nodes when it commits (NOTIFY is delivered at commit, not before).
    pub(crate) async fn notify_tasks_in(&self, tx: &mut sqlx::AnyConnection) -> Result<()> {
        if self.dialect == Dialect::Postgres {
            sqlx::query("SELECT pg_notify('millrace_tasks', '')")
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    /// Bytes free to this process on the disk of the SQLite file (`None` on
    /// PostgreSQL, or where the file system cannot tell).
    pub fn disk_free(&self) -> Option<u64> {
        let file = self.file.as_ref()?;
        let dir = match file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        let stat = rustix::fs::statvfs(dir).ok()?;
        Some(stat.f_bavail.saturating_mul(stat.f_frsize))
    }

    /// The database this store runs on.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Opens a write transaction.
    async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(self.pool.begin_with(self.dialect.begin()).await?)
    }

    /// Begins a unit of work at time `now`, on behalf of `actor`.
    pub async fn begin(&self, now: DateTime<Utc>, actor: Option<&str>) -> Result<Unit<'_>> {
        Unit::begin(self, now, actor).await
    }

    /// A compiled definition by key and version.
    pub fn definition(&self, key: &str, version: i64) -> Option<Arc<ProcessDefinition>> {
        self.definitions
            .read()
            .ok()?
            .get(&(key.to_string(), version))
            .cloned()
    }

    /// The latest compiled version of a key.
    pub fn latest_definition(&self, key: &str) -> Option<Arc<ProcessDefinition>> {
        let version = *self.latest.read().ok()?.get(key)?;
        self.definition(key, version)
    }

    /// The latest definition (key, start event id) with a message start event for `name`.
    pub fn message_start(&self, name: &str) -> Option<(String, String)> {
        let latest = self.latest_definitions();
        millrace_engine::cascade::message_start_among(latest.iter().map(|d| &**d), name)
    }

    /// Every latest definition (key, start event id) with a signal start event for `name`.
    pub fn signal_starts(&self, name: &str) -> Vec<(String, String)> {
        let latest = self.latest_definitions();
        millrace_engine::cascade::signal_starts_among(latest.iter().map(|d| &**d), name)
    }

    /// The latest version of every key, by key.
    fn latest_definitions(&self) -> Vec<Arc<ProcessDefinition>> {
        let Ok(latest) = self.latest.read() else {
            return Vec::new();
        };
        let mut keys: Vec<&String> = latest.keys().collect();
        keys.sort();
        keys.into_iter()
            .filter_map(|key| self.definition(key, latest[key]))
            .collect()
    }

    fn remember(&self, def: ProcessDefinition) {
        let key = def.key.clone();
        let version = def.version;
        if let Ok(mut defs) = self.definitions.write() {
            defs.insert((key.clone(), version), Arc::new(def));
        }
        if let Ok(mut latest) = self.latest.write() {
            let v = latest.entry(key).or_insert(version);
            *v = (*v).max(version);
        }
    }
}
