//! Every scenario of the catalogue (`tests/scenarios/`) and of the shipped
//! processes (`processes/`) runs in memory, through the pure engine, under
//! `cargo test`; `tests/run.sh` runs the same files on SQLite and PostgreSQL.
//! And the runner itself: a scenario whose expectation is wrong fails,
//! naming the step and what differed, on both kinds of backend.

use std::path::{Path, PathBuf};

use millrace_scenario::{run_file, run_file_in_memory, ScenarioError};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scenarios_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            scenarios_under(&path, out);
        } else if path.to_string_lossy().ends_with(".scenario.json") {
            out.push(path);
        }
    }
}

#[tokio::test]
async fn every_scenario_passes_in_memory() {
    let mut files = Vec::new();
    scenarios_under(&workspace().join("tests/scenarios"), &mut files);
    scenarios_under(&workspace().join("processes"), &mut files);
    files.sort();
    assert!(
        files.len() > 50,
        "the catalogue was not found: {} files",
        files.len()
    );
    let mut failed = Vec::new();
    let mut store_only = 0;
    for file in &files {
        match run_file_in_memory(file).await {
            Ok(_) => {}
            // Reference data, named queries and the outbox live in a database:
            // tests/run.sh runs these on SQLite and PostgreSQL.
            Err(ScenarioError::NeedsStore(_)) => store_only += 1,
            Err(e) => failed.push(format!("{}: {e}", file.display())),
        }
    }
    assert!(failed.is_empty(), "in memory:\n{}", failed.join("\n"));
    assert!(
        files.len() - store_only > 50,
        "only {} scenarios ran in memory",
        files.len() - store_only
    );
}

/// Writes a scenario beside a copy of the user-task catalogue's process.
fn scenario(dir: &Path, steps: serde_json::Value) -> PathBuf {
    let source = workspace().join("tests/scenarios/user-task");
    let bpmn = std::fs::read_dir(&source)
        .expect("the user-task folder")
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "bpmn"))
        .expect("a BPMN file");
    let name = bpmn.file_name().expect("a name").to_owned();
    std::fs::copy(&bpmn, dir.join(&name)).expect("copied");
    let path = dir.join("wrong.scenario.json");
    let json = serde_json::json!({
        "process": name.to_string_lossy(),
        "steps": steps,
    });
    std::fs::write(&path, json.to_string()).expect("written");
    path
}

async fn both(path: &Path) -> Vec<Result<millrace_scenario::Outcome, ScenarioError>> {
    vec![run_file_in_memory(path).await, run_file(path).await]
}

#[tokio::test]
async fn a_wrong_expectation_fails_naming_the_step_and_the_difference() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = scenario(
        dir.path(),
        serde_json::json!([
            { "expectState": "active" },
            { "expectWaiting": ["NoSuchTask"] },
        ]),
    );
    for result in both(&path).await {
        match result {
            Err(ScenarioError::Failed {
                step, what, reason, ..
            }) => {
                assert_eq!(step, 2);
                assert_eq!(what, "expectWaiting");
                assert!(reason.contains("NoSuchTask"), "{reason}");
            }
            other => panic!("expected step 2 to fail, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn completing_a_task_that_is_not_open_fails_at_that_step() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = scenario(
        dir.path(),
        serde_json::json!([{ "complete": "NoSuchTask" }]),
    );
    for result in both(&path).await {
        match result {
            Err(ScenarioError::Failed {
                step, what, reason, ..
            }) => {
                assert_eq!((step, what.as_str()), (1, "complete"));
                assert!(reason.contains("NoSuchTask"), "{reason}");
            }
            other => panic!("expected step 1 to fail, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_unknown_step_is_refused_as_invalid() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = scenario(dir.path(), serde_json::json!([{ "teleport": "End" }]));
    for result in both(&path).await {
        match result {
            Err(ScenarioError::Invalid(reason)) => {
                assert!(
                    reason.contains("step 1") && reason.contains("teleport"),
                    "{reason}"
                )
            }
            other => panic!("expected an invalid scenario, got {other:?}"),
        }
    }
}
