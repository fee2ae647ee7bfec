//! `millrace deploy` and `millrace worker`: operating on a database directly.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use millrace_engine::Variables;
use millrace_store::{DeploymentFile, Store, Worker};

use crate::args::{DeployArgs, ServeArgs, TokenArgs, TokenCommand, WorkerArgs};

async fn open(database: &str) -> anyhow::Result<Store> {
    Store::open(database, std::sync::Arc::new(millrace_script::RhaiLanguage))
        .await
        .with_context(|| format!("opening {database}"))
}

/// The deployment files: the BPMN files named, the BPMN and form files of the
/// folders named (as `serve` deploys its processes folder), and every script
/// in the scripts folder.
pub fn deployment_files(
    bpmn: &[std::path::PathBuf],
    scripts: &std::path::Path,
) -> anyhow::Result<Vec<DeploymentFile>> {
    let mut out = Vec::new();
    for path in bpmn {
        if path.is_dir() {
            out.extend(DeploymentFile::read_folder(
                path,
                &[".bpmn", ".form", ".sql", ".typ"],
                "",
            )?);
            continue;
        }
        let content =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(DeploymentFile { name, content });
    }
    out.extend(DeploymentFile::read_folder(scripts, &[".rhai"], "scripts")?);
    Ok(out)
}

/// Deploys files to the database; prints each key's version.
pub fn deploy(args: &DeployArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = open(&args.database).await?;
        let files = deployment_files(&args.files, &args.scripts)?;
        let deployed = store
            .deploy("cli", &files, None, None, chrono::Utc::now())
            .await?;
        for d in deployed {
            let what = if d.created { "deployed" } else { "unchanged" };
            println!("{} v{} {what}", d.key, d.version);
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs the job worker on the real clock. With `--start`, starts `--count`
/// instances as it goes and prints `ack ID` once each start has committed.
pub fn worker(args: &WorkerArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = Arc::new(open(&args.database).await?);
        let owner = format!("worker-{}", std::process::id());
        let worker = Worker::new(store.clone(), owner);
        let mut started = 0;
        let stdout = std::io::stdout();
        loop {
            if let (Some(key), true) = (&args.start, started < args.count) {
                let mut unit = store.begin(chrono::Utc::now(), Some("worker")).await?;
                let id = unit.start(key, Variables::new(), None, None).await?;
                unit.commit().await?;
                started += 1;
                let mut out = stdout.lock();
                writeln!(out, "ack {id}")?;
                out.flush()?;
            }
            let applied = worker.run_once(chrono::Utc::now()).await?;
            let starting = args.start.is_some() && started < args.count;
            if applied == 0 && !starting {
                if args.until_idle && store.pending_jobs().await? == 0 {
                    break;
                }
                tokio::time::sleep(worker.idle).await;
            }
        }
        store
            .release_leases(&format!("worker-{}", std::process::id()))
            .await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn serve(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = args.settings().context("reading the settings")?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if settings.log_json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let node_id = settings.node_id.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_else(|_| "node".into());
        format!("{}-{}", host.trim(), std::process::id())
    });
    let mail = match &settings.smtp_url {
        None => None,
        Some(url) => {
            let authorities = match &settings.smtp_ca {
                None => None,
                Some(path) => Some((
                    path.display().to_string(),
                    std::fs::read(path)
                        .with_context(|| format!("reading smtp_ca {}", path.display()))?,
                )),
            };
            Some(millrace_server::mail::MailConfig::new(
                url,
                &settings.mail_from,
                authorities
                    .as_ref()
                    .map(|(file, pem)| (file.as_str(), pem.as_slice())),
            )?)
        }
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        millrace_server::serve(millrace_server::ServeConfig {
            database: settings.database.clone(),
            bind: settings.bind,
            processes: settings.processes.clone(),
            scripts: settings.scripts.clone(),
            node_id,
            admin_user: settings.admin_user.clone(),
            admin_password: settings.admin_password.clone(),
            mail,
            job_lease: std::time::Duration::from_secs(settings.job_lease.max(1)),
            http_allow: settings
                .http_allow
                .iter()
                .flat_map(|hosts| hosts.split(','))
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_string)
                .collect(),
            http_ca: settings.http_ca.clone(),
        })
        .await?;
        Ok(ExitCode::SUCCESS)
    })
}

/// `millrace token create`: prints a new API token once; only its hash is stored.
pub fn token(args: &TokenArgs) -> anyhow::Result<ExitCode> {
    let TokenCommand::Create {
        user,
        label,
        database,
    } = &args.command;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let store = open(database).await?;
        let token = millrace_server::auth::random_token(32);
        store
            .create_api_token(
                &millrace_server::auth::token_hash(&token),
                user,
                label.as_deref(),
                chrono::Utc::now(),
            )
            .await?;
        println!("{token}");
        Ok(ExitCode::SUCCESS)
    })
}
