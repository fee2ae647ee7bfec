//! The `millrace` binary: one subcommand per file in this folder.

mod args;
mod files;
mod validate;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Validate(a) => validate::run(&a),
        args::Command::Export(a) => validate::export(&a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("millrace: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
