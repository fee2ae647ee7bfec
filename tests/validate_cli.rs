//! `millrace validate` and `millrace export`, run as a user runs them: the
//! built binary, real files.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn millrace(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_millrace"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("millrace runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One snapshot per broken file: the exact messages a modeler sees.
#[test]
fn broken_files_get_exact_messages() {
    let dir = repo().join("tests/fixtures/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert!(files.len() >= 20, "a broken file per rule");
    for file in files {
        let rel = file
            .strip_prefix(repo())
            .expect("inside repo")
            .to_string_lossy()
            .into_owned();
        let (code, stdout, _) =
            millrace(&["validate", "--scripts", "tests/fixtures/scripts", &rel]);
        let name = file
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let expected = if stdout.contains(": error[") { 1 } else { 0 };
        assert_eq!(
            code, expected,
            "{rel}: errors fail validation, warnings do not:\n{stdout}"
        );
        assert!(!stdout.is_empty(), "{rel} must have a finding");
        insta::assert_snapshot!(name, stdout);
    }
}

#[test]
fn benchmark_models_validate_clean() {
    let models = repo().join("../shared/bench/models");
    for name in [
        "linear10.rhai",
        "xor.rhai",
        "parallel10.rhai",
        "loop100.rhai",
        "usertask",
    ] {
        let path = models.join(format!("{name}.bpmn"));
        let (code, stdout, stderr) = millrace(&["validate", path.to_str().expect("utf-8 path")]);
        assert_eq!((code, stdout.as_str()), (0, ""), "{name}: {stderr}");
    }
}

#[test]
fn miwg_executable_models_are_refused_with_named_reasons_but_structure_is_clean() {
    let miwg = repo().join("../shared/conformance/miwg");
    let dir = miwg.to_str().expect("utf-8 path");
    let (code, stdout, _) = millrace(&["validate", "--structure-only", dir]);
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = millrace(&["validate", &format!("{dir}/C.9.0.bpmn")]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains(
            "SequenceFlow_Red: error[E014]: condition: this looks like a FEEL expression"
        ),
        "{stdout}"
    );
}

#[test]
fn export_round_trips_through_the_binary() {
    let file = repo().join("../shared/conformance/bpmn-js/spec/draw/BpmnRenderer.colors.bpmn");
    let (code, exported, stderr) = millrace(&["export", file.to_str().expect("utf-8 path")]);
    assert_eq!(code, 0, "{stderr}");
    let original =
        millrace_model::Model::import(&std::fs::read(&file).expect("readable")).expect("imports");
    let again = millrace_model::Model::import(exported.as_bytes()).expect("re-imports");
    assert_eq!(
        millrace_model::xml::semantic_diff(&original.document.root, &again.document.root),
        None
    );
    assert!(exported.contains("bioc:stroke") && exported.contains("color:background-color"));
    assert!(Path::new(&file).exists());
}
