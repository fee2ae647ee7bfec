//! Command-line flags, as DESIGN.md's command-line contract gives them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Millrace: a BPMN 2.0 process runtime.
#[derive(Debug, Parser)]
#[command(name = "millrace", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check BPMN files: errors and warnings as file:line:column: element-id: reason.
    Validate(ValidateArgs),
    /// Print a BPMN file as the model writes it back (lossless).
    Export(ExportArgs),
    /// Run scenario tests (*.scenario.json); exit 1 on failure.
    Test(TestArgs),
    /// Run N instances of a BPMN file to their end and print one JSON line.
    Bench(BenchArgs),
    /// Run the server: HTTP API, job worker, web app; SQLite under ./data by default.
    Serve(ServeArgs),
    /// Manage API tokens.
    Token(TokenArgs),
    /// Deploy BPMN files (with the scripts folder) to a database.
    Deploy(DeployArgs),
    /// Run the job worker against a database; optionally start instances as it goes.
    Worker(WorkerArgs),
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// BPMN files, or folders to search for *.bpmn.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// The database (an SQLite file path, sqlite:// URL or postgres:// URL).
    #[arg(long, env = "DATABASE_URL", default_value = "data/millrace.db")]
    pub database: String,
    /// Where `camunda:resource` scripts are found.
    #[arg(long, default_value = "scripts")]
    pub scripts: PathBuf,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The database (an SQLite file path, sqlite:// URL or postgres:// URL).
    #[arg(long, env = "DATABASE_URL", default_value = "data/millrace.db")]
    pub database: String,
    /// Start instances of this process key while working (load generation).
    #[arg(long)]
    pub start: Option<String>,
    /// How many instances to start.
    #[arg(long, default_value_t = 0)]
    pub count: u64,
    /// Exit once nothing is left to start and no job is pending.
    #[arg(long)]
    pub until_idle: bool,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Scenario files, or folders to search for *.scenario.json.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print each scenario's final state as JSON.
    #[arg(long)]
    pub json: bool,
    /// Run each scenario in a new schema of this PostgreSQL database instead
    /// of a new SQLite file (`postgres://user@host:port/db`).
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Run each scenario in memory, through the engine alone (no database):
    /// the same BPMN decisions, in about a millisecond a scenario.
    #[arg(long, conflicts_with = "postgres")]
    pub in_memory: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The BPMN file.
    pub file: PathBuf,
    /// How many instances.
    pub n: u64,
    /// Start variables, as a JSON object.
    #[arg(long)]
    pub vars: Option<String>,
    /// Set this variable to the instance's index 0..N-1.
    #[arg(long)]
    pub index_var: Option<String>,
    /// Variables every instance must end with, as a JSON object.
    #[arg(long)]
    pub expect: Option<String>,
    /// Measure the executor alone, without the store.
    #[arg(long)]
    pub in_memory: bool,
    /// Instances per transaction on the durable store (group commit).
    #[arg(long, default_value_t = 500)]
    pub batch: u64,
    /// Where `camunda:resource` scripts are found.
    #[arg(long, default_value = "scripts")]
    pub scripts: PathBuf,
    /// Run durably on a new schema of this PostgreSQL database instead of a new SQLite file.
    #[arg(long, value_name = "URL")]
    pub postgres: Option<String>,
    /// Measure a batch migration instead: start N instances of FILE (left at
    /// their first wait state), deploy this file as the next version, and
    /// time the batch that migrates them all (elements mapped by id).
    #[arg(long, value_name = "FILE", conflicts_with = "in_memory")]
    pub migrate_to: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// BPMN files, or folders to search for *.bpmn.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Where `camunda:resource` scripts are found.
    #[arg(long, default_value = "scripts")]
    pub scripts: PathBuf,
    /// Check structure only, not whether Millrace can run the processes.
    #[arg(long)]
    pub structure_only: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The BPMN file.
    pub file: PathBuf,
}

/// `serve`'s flags. Each also comes from the environment (`MILLRACE_BIND`,
/// `MILLRACE_SMTP_URL`, …; the database also from `DATABASE_URL`) and from a
/// TOML file (`--config`, or `millrace.toml` when present); a flag wins over
/// the environment, which wins over the file.
#[derive(Debug, Args, serde::Serialize)]
pub struct ServeArgs {
    /// A TOML file of settings (keys as the flags, with underscores).
    #[arg(long, env = "MILLRACE_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// The database (an SQLite file path, sqlite:// URL or postgres:// URL) [default: data/millrace.db].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Where to listen [default: 127.0.0.1:8080].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<std::net::SocketAddr>,
    /// BPMN and form files deployed at start [default: processes].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processes: Option<PathBuf>,
    /// Rhai scripts deployed with them [default: scripts].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scripts: Option<PathBuf>,
    /// This node's id in logs, metrics and job leases [default: host and process id].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// The first administrator's name [default: admin].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_user: Option<String>,
    /// The first administrator's password (generated and printed once when absent).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<String>,
    /// Logs as JSON lines.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub log_json: bool,
    /// SMTP relay for outgoing mail: smtp://host:port, smtp://user:password@host:587?tls=required (STARTTLS) or smtps://host:465; without it mail stays in the outbox.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_url: Option<String>,
    /// The From address of outgoing mail [default: millrace@localhost].
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_from: Option<String>,
    /// Seconds a node holds the jobs it claims; a node that dies holds them this long [default: 30].
    #[arg(long, value_name = "SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_lease: Option<u64>,
    /// Hosts the http connector may call, comma-separated: `host` (any port) or `host:port` [default: none].
    #[arg(long, value_name = "HOSTS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_allow: Option<String>,
    /// A PEM file of the certificate authorities https calls trust, instead of the public roots [default: the public roots].
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_ca: Option<PathBuf>,
    /// A PEM file of the certificate authorities the SMTP relay's certificate must come from, instead of the public roots.
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smtp_ca: Option<PathBuf>,
}

/// `serve`'s settings after flags, environment and file are merged.
#[derive(Debug, serde::Deserialize, serde::Serialize)]
pub struct ServeSettings {
    pub database: String,
    pub bind: std::net::SocketAddr,
    pub processes: PathBuf,
    pub scripts: PathBuf,
    pub node_id: Option<String>,
    pub admin_user: String,
    pub admin_password: Option<String>,
    pub log_json: bool,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    pub job_lease: u64,
    pub http_allow: Option<String>,
    pub http_ca: Option<PathBuf>,
    pub smtp_ca: Option<PathBuf>,
}

impl Default for ServeSettings {
    fn default() -> Self {
        ServeSettings {
            database: "data/millrace.db".into(),
            bind: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
            processes: "processes".into(),
            scripts: "scripts".into(),
            node_id: None,
            admin_user: "admin".into(),
            admin_password: None,
            log_json: false,
            smtp_url: None,
            mail_from: "millrace@localhost".into(),
            job_lease: 30,
            http_allow: None,
            http_ca: None,
            smtp_ca: None,
        }
    }
}

impl ServeArgs {
    /// Merges defaults, the TOML file, the environment and the flags.
    pub fn settings(&self) -> Result<ServeSettings, Box<figment::Error>> {
        use figment::providers::{Env, Format, Serialized, Toml};
        let file = match &self.config {
            Some(path) => {
                if !path.is_file() {
                    return Err(Box::new(figment::Error::from(format!(
                        "the config file {} does not exist",
                        path.display()
                    ))));
                }
                Toml::file_exact(path)
            }
            None => Toml::file("millrace.toml"),
        };
        figment::Figment::from(Serialized::defaults(ServeSettings::default()))
            .merge(file)
            .merge(Env::prefixed("MILLRACE_").ignore(&["config"]))
            .merge(
                Env::raw()
                    .only(&["DATABASE_URL"])
                    .map(|_| "database".into()),
            )
            .merge(Serialized::defaults(self))
            .extract()
            .map_err(Box::new)
    }
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(subcommand)]
    pub command: TokenCommand,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; the token is printed once.
    Create {
        /// The user the token acts as.
        #[arg(long)]
        user: String,
        /// A label to recognise it by.
        #[arg(long)]
        label: Option<String>,
        /// The database (an SQLite file path, sqlite:// URL or postgres:// URL).
        #[arg(long, env = "DATABASE_URL", default_value = "data/millrace.db")]
        database: String,
    },
}
