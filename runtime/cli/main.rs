//! The `millrace` binary: one subcommand per file in this folder.

mod args;
mod bench;
mod files;
mod ops;
mod test;
mod validate;

use clap::Parser;

// The executor and the server allocate many small, short-lived values
// (effects, history rows, script scopes): mimalloc runs the in-memory
// linear10 benchmark about 20 % faster than the system allocator
// (docs/PERFORMANCE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    let result = match cli.command {
        args::Command::Validate(a) => validate::run(&a),
        args::Command::Export(a) => validate::export(&a),
        args::Command::Test(a) => test::run(&a),
        args::Command::Bench(a) => bench::run(&a),
        args::Command::Serve(a) => ops::serve(&a),
        args::Command::Token(a) => ops::token(&a),
        args::Command::Deploy(a) => ops::deploy(&a),
        args::Command::Worker(a) => ops::worker(&a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("millrace: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
