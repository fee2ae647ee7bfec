//! The dependency line of docs/ARCHITECTURE.md, kept true: the BPMN model,
//! the engine and the script language know no database and no async runtime,
//! and the store knows no script language (it is handed one). Read from
//! `cargo metadata`, normal dependencies only (tests may use anything).

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use serde_json::Value;

/// Every package reached from `root` through normal (not dev or build)
/// dependencies, `root` included.
fn closure<'a>(
    graph: &'a HashMap<String, Vec<String>>,
    names: &'a HashMap<String, String>,
    root: &str,
) -> BTreeSet<&'a str> {
    let start = names
        .iter()
        .find(|(_, name)| name.as_str() == root)
        .map(|(id, _)| id.as_str())
        .unwrap_or_else(|| panic!("{root} is not in the workspace"));
    let mut seen = BTreeSet::new();
    let mut todo = vec![start];
    while let Some(id) = todo.pop() {
        if !seen.insert(id) {
            continue;
        }
        todo.extend(graph.get(id).into_iter().flatten().map(String::as_str));
    }
    seen.into_iter().map(|id| names[id].as_str()).collect()
}

#[test]
fn the_engine_knows_no_database_and_the_store_no_script_language() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let names: HashMap<String, String> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or_default().to_string(),
                p["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    // Edges of normal dependencies, on every target (`kind` null).
    let graph: HashMap<String, Vec<String>> = meta["resolve"]["nodes"]
        .as_array()
        .expect("a resolved graph")
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| d["pkg"].as_str().unwrap_or_default().to_string())
                .collect();
            (node["id"].as_str().unwrap_or_default().to_string(), deps)
        })
        .collect();
    for pure in ["millrace-model", "millrace-engine", "millrace-script"] {
        let reached = closure(&graph, &names, pure);
        for io in ["sqlx", "tokio", "axum", "hyper"] {
            assert!(!reached.contains(io), "{pure} depends on {io}");
        }
    }
    let engine = closure(&graph, &names, "millrace-engine");
    assert!(!engine.contains("rhai"), "the engine depends on rhai");
    let store = closure(&graph, &names, "millrace-store");
    for script in ["millrace-script", "rhai"] {
        assert!(!store.contains(script), "the store depends on {script}");
    }
    // The test reads what it means to: the store does reach the database.
    assert!(store.contains("sqlx") && store.contains("millrace-engine"));
}
