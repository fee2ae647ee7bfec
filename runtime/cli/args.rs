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
    /// The database (a SQLite file path or sqlite:// URL).
    #[arg(long, env = "DATABASE_URL", default_value = "data/millrace.db")]
    pub database: String,
    /// Where `camunda:resource` scripts are found.
    #[arg(long, default_value = "scripts")]
    pub scripts: PathBuf,
}

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The database (a SQLite file path or sqlite:// URL).
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

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The database (a SQLite file path or sqlite:// URL).
    #[arg(long, env = "DATABASE_URL", default_value = "data/millrace.db")]
    pub database: String,
    /// Where to listen.
    #[arg(long, env = "MILLRACE_BIND", default_value = "127.0.0.1:8080")]
    pub bind: std::net::SocketAddr,
    /// BPMN and form files deployed at start.
    #[arg(long, env = "MILLRACE_PROCESSES", default_value = "processes")]
    pub processes: PathBuf,
    /// Rhai scripts deployed with them.
    #[arg(long, env = "MILLRACE_SCRIPTS", default_value = "scripts")]
    pub scripts: PathBuf,
    /// This node's id in logs, metrics and job leases (default: host and process id).
    #[arg(long, env = "MILLRACE_NODE_ID")]
    pub node_id: Option<String>,
    /// The first administrator's name.
    #[arg(long, env = "MILLRACE_ADMIN_USER", default_value = "admin")]
    pub admin_user: String,
    /// The first administrator's password (generated and printed once when absent).
    #[arg(long, env = "MILLRACE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// Logs as JSON lines.
    #[arg(long, env = "MILLRACE_LOG_JSON")]
    pub log_json: bool,
    /// SMTP server for outgoing mail (smtp://host:port); without it mail stays in the outbox.
    #[arg(long, env = "MILLRACE_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The From address of outgoing mail.
    #[arg(long, env = "MILLRACE_MAIL_FROM", default_value = "millrace@localhost")]
    pub mail_from: String,
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
        /// The database (a SQLite file path or sqlite:// URL).
        #[arg(long, env = "DATABASE_URL", default_value = "data/millrace.db")]
        database: String,
    },
}
