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
