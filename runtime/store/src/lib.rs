//! The only crate with SQL: deployments and definition versions, instances
//! (one JSON document each, guarded by a revision), and the tables the
//! executor's effects write (tasks, jobs, subscriptions, incidents, history).
//!
//! Invariant: every change of instance state commits in one transaction
//! together with its history rows and its jobs ([`Unit`]); a unit that fails
//! leaves nothing behind.

mod accounts;
mod catalog;
mod committer;
mod deploy;
mod jobs;
mod outbox;
mod read;
mod unit;
mod worker;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use millrace_engine::{CommandError, DeployError, ProcessDefinition};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use accounts::{AuditEntry, Comment, SessionRow, User};
pub use catalog::{DefinitionRow, TaskFilter, TaskView};
pub use committer::{Committer, Write};
pub use deploy::{DeployedDefinition, DeploymentFile};
pub use jobs::{backoff, ClaimedJob, JobOutcome, LockedExternalTask};
pub use outbox::OutboxMail;
pub use read::{Counts, HistoryRow, IncidentRow, InstanceSummary};
pub use unit::{global_id, split_id, waiting_nodes, Unit};
pub use worker::Worker;

/// Why a store operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
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
    /// The engine refused the command.
    #[error(transparent)]
    Command(#[from] CommandError),
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
    /// A message or signal that nothing waits for.
    #[error("no {0} {1:?} is awaited")]
    NoMatch(&'static str, String),
}

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Timestamps are stored as fixed-width RFC 3339 text, so text order is time order.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A form reference within a definition version: (key, version, form reference).
type FormKey = (String, i64, String);

/// The durable store.
pub struct Store {
    pool: SqlitePool,
    definitions: RwLock<HashMap<(String, i64), Arc<ProcessDefinition>>>,
    latest: RwLock<HashMap<String, i64>>,
    /// Form-js forms found for (key, version, form reference): versions never change.
    forms: RwLock<HashMap<FormKey, Option<Arc<str>>>>,
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `url` (`sqlite://path` or a path),
    /// migrates it, and compiles every deployed definition.
    pub async fn open(url: &str) -> Result<Store> {
        let url = if url.starts_with("sqlite:") {
            url.to_string()
        } else {
            format!("sqlite://{url}")
        };
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../../migrations/sqlite").run(&pool).await?;
        let store = Store {
            pool,
            definitions: RwLock::new(HashMap::new()),
            latest: RwLock::new(HashMap::new()),
            forms: RwLock::new(HashMap::new()),
        };
        store.load_definitions().await?;
        Ok(store)
    }

    /// The connection pool (for tests that inspect the database).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
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
        let latest = self.latest.read().ok()?;
        let mut keys: Vec<&String> = latest.keys().collect();
        keys.sort();
        keys.into_iter().find_map(|key| {
            let def = self.definition(key, latest[key])?;
            unit::message_start(&def, name).map(|node| (key.clone(), node))
        })
    }

    /// Every latest definition (key, start event id) with a signal start event for `name`.
    pub fn signal_starts(&self, name: &str) -> Vec<(String, String)> {
        use millrace_engine::definition::{NodeKind, Trigger};
        let Ok(latest) = self.latest.read() else {
            return Vec::new();
        };
        let mut keys: Vec<&String> = latest.keys().collect();
        keys.sort();
        keys.into_iter()
            .filter_map(|key| self.definition(key, latest[key]).map(|d| (key, d)))
            .flat_map(|(key, def)| {
                def.scopes[0]
                    .nodes
                    .iter()
                    .filter_map(|&n| match &def.node(n).kind {
                        NodeKind::StartEvent {
                            trigger: Trigger::Signal(s),
                            ..
                        } if s == name => Some((key.clone(), def.node(n).id.clone())),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
            })
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
