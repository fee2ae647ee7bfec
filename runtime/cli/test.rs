//! `millrace test SCENARIO.json…`: run scenario tests.

use std::process::ExitCode;

use anyhow::Context;

use crate::args::TestArgs;
use crate::files;

/// Runs every scenario; exit status 1 when any fails.
pub fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let scenarios =
        files::expand(&args.files, ".scenario.json").context("listing the scenarios")?;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for file in &scenarios {
        let shown = file.display();
        let run = async {
            if args.in_memory {
                millrace_scenario::run_file_in_memory(file).await
            } else {
                millrace_scenario::run_file_on(file, args.postgres.as_deref()).await
            }
        };
        match runtime.block_on(run) {
            Ok(outcome) => {
                passed += 1;
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({ "scenario": shown.to_string(), "ok": true, "outcome": outcome.to_json() })
                    );
                } else {
                    println!("ok      {shown}");
                }
            }
            // In memory there is no database: a scenario that needs one is
            // not run here (tests/run.sh runs it on SQLite and PostgreSQL).
            Err(millrace_scenario::ScenarioError::NeedsStore(why)) if args.in_memory => {
                skipped += 1;
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({ "scenario": shown.to_string(), "ok": null, "skipped": why })
                    );
                } else {
                    println!("skipped {shown}: needs a store ({why})");
                }
            }
            Err(e) => {
                failed += 1;
                if args.json {
                    let outcome = match &e {
                        millrace_scenario::ScenarioError::Failed {
                            outcome: Some(o), ..
                        } => o.to_json(),
                        _ => serde_json::Value::Null,
                    };
                    println!(
                        "{}",
                        serde_json::json!({ "scenario": shown.to_string(), "ok": false, "error": e.to_string(), "outcome": outcome })
                    );
                } else {
                    println!("FAILED  {shown}: {e}");
                    if let millrace_scenario::ScenarioError::Failed {
                        outcome: Some(o), ..
                    } = &e
                    {
                        for (node, message) in &o.incident_messages {
                            println!("        incident at {node}: {message}");
                        }
                    }
                }
            }
        }
    }
    if !args.json {
        if skipped > 0 {
            println!("{passed} passed, {failed} failed, {skipped} skipped (need a store)");
        } else {
            println!("{passed} passed, {failed} failed");
        }
    }
    Ok(if failed > 0 || scenarios.is_empty() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
