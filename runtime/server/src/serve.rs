//! `millrace serve`: open the store, make sure an administrator exists,
//! deploy the processes folder, run the worker and the HTTP server, and shut
//! down gracefully (in-flight requests finish, leases are given back).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use millrace_store::{DeploymentFile, Store, StoreError, Worker};
use tokio::sync::watch;

use crate::auth;
use crate::{router, AppState};

/// How `serve` runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The database: an SQLite path or `sqlite://` URL, or a `postgres://` URL.
    pub database: String,
    /// Where to listen.
    pub bind: SocketAddr,
    /// BPMN, form and script files deployed at start (unchanged files make no new version).
    pub processes: PathBuf,
    /// The Rhai scripts folder deployed with them.
    pub scripts: PathBuf,
    /// This node's id.
    pub node_id: String,
    /// The first administrator's name.
    pub admin_user: String,
    /// The first administrator's password; generated and printed once when absent.
    pub admin_password: Option<String>,
    /// Where mail goes; without it mail stays in the outbox.
    pub mail: Option<crate::mail::MailConfig>,
    /// How long this node holds the jobs it claims.
    pub job_lease: std::time::Duration,
    /// The hosts `http` connector tasks may call (`host` or `host:port`).
    pub http_allow: Vec<String>,
    /// A PEM file of the certificate authorities `https` calls trust instead
    /// of the public roots.
    pub http_ca: Option<PathBuf>,
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database could not be opened.
    #[error("opening {database}: {error}")]
    Open {
        /// The database URL or path.
        database: String,
        /// Why.
        error: StoreError,
    },
    /// A file could not be read, or the address bound.
    #[error("{0}")]
    Io(String),
    /// The administrator could not be created.
    #[error("creating the administrator: {0}")]
    Admin(String),
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let store = Arc::new(
        Store::open(
            &config.database,
            std::sync::Arc::new(millrace_script::RhaiLanguage),
        )
        .await
        .map_err(|error| ServeError::Open {
            database: config.database.clone(),
            error,
        })?,
    );
    store.allow_http_hosts(config.http_allow.clone());
    if let Some(path) = &config.http_ca {
        let file = path.display().to_string();
        let pem =
            std::fs::read(path).map_err(|e| ServeError::Io(format!("reading {file}: {e}")))?;
        let n = store.trust_http_authorities(&file, &pem)?;
        tracing::info!(file = %file, authorities = n, "https calls trust these authorities only");
    }
    if store.user_count().await? == 0 {
        let (password, generated) = match &config.admin_password {
            Some(p) => (p.clone(), false),
            None => (auth::random_token(12), true),
        };
        let hash = auth::hash_password(&password).map_err(|e| ServeError::Admin(e.body.reason))?;
        store
            .put_user(
                &config.admin_user,
                Some(&hash),
                "admin",
                &[],
                false,
                Utc::now(),
            )
            .await?;
        if generated {
            // Said once: only the hash is kept.
            println!(
                "created administrator {:?} with password {password}",
                config.admin_user
            );
        }
    }
    let io = |e: std::io::Error| ServeError::Io(e.to_string());
    let mut files =
        DeploymentFile::read_folder(&config.processes, &[".bpmn", ".form", ".sql", ".typ"], "")
            .map_err(io)?;
    files.extend(DeploymentFile::read_folder(&config.scripts, &[".rhai"], "scripts").map_err(io)?);
    if files.iter().any(|f| f.name.ends_with(".bpmn")) {
        for d in store
            .deploy("processes", &files, Some("startup"), None, Utc::now())
            .await?
        {
            tracing::info!(key = %d.key, version = d.version, created = d.created, "process deployed at start");
        }
    }
    // The utility's reference data beside the processes: rows already there
    // (an administrator's edits) stay as they are.
    let data = config.processes.join("reference-data.json");
    if data.is_file() {
        let text = std::fs::read_to_string(&data).map_err(io)?;
        let loaded = store
            .load_reference_data(&data.display().to_string(), &text)
            .await?;
        let rows: u64 = loaded.values().sum();
        tracing::info!(file = %data.display(), new_rows = rows, "reference data loaded");
    }
    let mut state = AppState::new(store.clone(), &config.node_id).with_processes(&config.processes);
    let (stop_tx, stop_rx) = watch::channel(false);
    let worker = {
        let mut w = Worker::new(store.clone(), format!("{}-worker", config.node_id));
        w.lease = config.job_lease;
        state.jobs = w.counters.clone();
        tokio::spawn(async move { w.run(Utc::now, stop_rx).await })
    };
    // Sessions past their idle or absolute expiry are refused when used; this
    // removes the ones never used again, and ended instances past their
    // process's history time to live, every 5 minutes (every node may: DELETEs).
    let sessions = {
        let (store, mut stop) = (store.clone(), stop_tx.subscribe());
        tokio::spawn(async move {
            loop {
                let now = Utc::now();
                let expiry = store
                    .expire_sessions(now - auth::IDLE_EXPIRY, now - auth::ABSOLUTE_EXPIRY)
                    .await;
                if let Err(e) = expiry {
                    tracing::warn!(error = %e, "removing expired sessions failed");
                }
                // History past its process's time to live goes too (batched
                // deletes: nodes doing it at once only find less to remove).
                match store.clean_history(now).await {
                    Ok(cleaned) => {
                        for c in cleaned {
                            tracing::info!(process = %c.key, version = c.version, instances = c.instances, "history cleaned");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "the history cleanup failed"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(300)) => {}
                    _ = stop.changed() => return,
                }
            }
        })
    };
    let mailer = config.mail.clone().map(|m| {
        let (store, stop) = (store.clone(), stop_tx.subscribe());
        tokio::spawn(crate::mail::run(store, m, stop))
    });
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|e| ServeError::Io(format!("binding {}: {e}", config.bind)))?;
    let bound = listener
        .local_addr()
        .map_err(|e| ServeError::Io(e.to_string()))?;
    println!(
        "millrace listening on http://{bound} (node {})",
        config.node_id
    );
    crate::listen::serve(listener, router(state), async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        return;
                    }
                };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    })
    .await;
    let _ = stop_tx.send(true);
    let _ = sessions.await;
    if let Some(m) = mailer {
        let _ = m.await;
    }
    match worker.await {
        Ok(result) => result?,
        Err(e) => tracing::error!(error = %e, "the worker task ended abnormally"),
    }
    tracing::info!("stopped; leases released");
    Ok(())
}
