//! Every BPMN file made by other tools (../shared/conformance) imports,
//! validates with no structural error, and round-trips: the export means the
//! same XML as the input and re-imports to an equal model.

use std::path::{Path, PathBuf};

use millrace_model::validate::{validate, Options, ScriptChecker, ScriptFault, ScriptKind};
use millrace_model::{Diagnostic, Model, Severity};

fn conformance_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
}

fn bpmn_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("conformance folder is readable") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "bpmn") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Structure-only validation never compiles a script.
struct Unreachable;
impl ScriptChecker for Unreachable {
    fn check(&self, _: ScriptKind, text: &str) -> Result<(), ScriptFault> {
        panic!("structure-only validation compiled {text:?}")
    }
    fn resource(&self, name: &str) -> Result<String, String> {
        panic!("structure-only validation read {name:?}")
    }
}

fn structure(model: &Model) -> Vec<Diagnostic> {
    validate(model, &Unreachable, Options { execution: false })
}

fn round_trip(path: &Path) -> Model {
    let bytes = std::fs::read(path).expect("readable");
    let model = Model::import(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let out = model.export();
    let again = Model::import(out.as_bytes())
        .unwrap_or_else(|e| panic!("{} re-import: {e}", path.display()));
    assert_eq!(
        model.definitions,
        again.definitions,
        "{}: model changed by round trip",
        path.display()
    );
    if let Some(diff) =
        millrace_model::xml::semantic_diff(&model.document.root, &again.document.root)
    {
        panic!("{}: round trip changed the XML: {diff}", path.display());
    }
    model
}

fn errors(diags: &[Diagnostic]) -> Vec<&Diagnostic> {
    diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

#[test]
fn every_miwg_reference_model_imports_validates_and_round_trips() {
    let files = bpmn_files(&conformance_dir().join("miwg"));
    assert_eq!(files.len(), 21, "the MIWG set has 21 models");
    for path in files {
        let model = round_trip(&path);
        let diags = structure(&model);
        let errs = errors(&diags);
        assert!(errs.is_empty(), "{}: {:#?}", path.display(), errs);
        assert!(
            !model.definitions.diagrams.is_empty(),
            "{}: diagrams kept",
            path.display()
        );
    }
}

#[test]
fn every_bpmn_js_fixture_imports_except_the_two_fatal_ones() {
    let dir = conformance_dir().join("bpmn-js");
    let files = bpmn_files(&dir);
    assert_eq!(files.len(), 44, "the bpmn-js set has 44 files");
    for path in files {
        let name = path
            .strip_prefix(&dir)
            .expect("below dir")
            .to_string_lossy()
            .replace('\\', "/");
        let bytes = std::fs::read(&path).expect("readable");
        if name.ends_with("error/missing-namespace.bpmn") {
            let err = Model::import(&bytes).expect_err("no-namespace root is fatal");
            assert!(
                err.to_string().contains("not a BPMN 2.0 <definitions>"),
                "{err}"
            );
            continue;
        }
        let model = round_trip(&path);
        if name.ends_with("empty-definitions.bpmn") {
            assert!(
                model.definitions.diagrams.is_empty(),
                "empty-definitions has no diagram"
            );
        }
    }
}

fn findings(file: &str) -> Vec<String> {
    let path = conformance_dir().join("bpmn-js").join(file);
    let model = Model::import(&std::fs::read(&path).expect("readable")).expect("imports");
    structure(&model)
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .map(|d| d.render(file))
        .collect()
}

#[test]
fn bpmn_js_defects_are_reported_naming_the_element() {
    let cases: &[(&str, &[&str])] = &[
        (
            "fixtures/bpmn/error/duplicate-ids.bpmn",
            &["test: error[E002]"],
        ),
        (
            "fixtures/bpmn/import/error/boundaryEvent-invalidAttachToRef.bpmn",
            &["BoundaryEvent_1: error[E003]: attachedToRef points to \"NON_EXISTING_TASK\""],
        ),
        (
            "fixtures/bpmn/error/di-plane-no-bpmn-element.bpmn",
            &["BPMNPlane_1: warning[W016]"],
        ),
        (
            "fixtures/bpmn/import/error/multiple-dis.bpmn",
            &["warning[W017]: \"InclusiveGateway_1\" is drawn twice"],
        ),
        (
            "fixtures/bpmn/error/categoryValue.bpmn",
            &["warning[W002]: <categoryValue>"],
        ),
        (
            "fixtures/bpmn/draw/events.bpmn",
            &["warning[W001]: the prefix \"bpmn\" is used but never declared"],
        ),
    ];
    for (file, expected) in cases {
        let got = findings(file);
        for e in *expected {
            assert!(
                got.iter().any(|g| g.contains(e)),
                "{file}: expected {e:?} in {got:#?}"
            );
        }
    }
}

/// The MANIFEST says these import with no warning; validation may still
/// remark on the drawing (a start with no end), but finds no error.
#[test]
fn clean_bpmn_js_fixtures_import_without_warnings() {
    for file in [
        "fixtures/bpmn/import/data-store.outside-participant.dangling.bpmn",
        "fixtures/bpmn/import/error/dangling-process-message-flow.bpmn",
        "spec/import/sequenceFlow-missingWaypoints.bpmn",
        "spec/import/missing-di-plane.bpmn",
        "fixtures/bpmn/import/labels/external-no-di.bpmn",
    ] {
        let path = conformance_dir().join("bpmn-js").join(file);
        let model = Model::import(&std::fs::read(&path).expect("readable")).expect("imports");
        assert_eq!(model.import_diagnostics, Vec::new(), "{file}");
        let errs: Vec<_> = structure(&model)
            .into_iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert_eq!(errs, Vec::new(), "{file}");
    }
}

#[test]
fn qname_references_resolve_and_a_lane_naming_no_element_is_only_a_warning() {
    let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:tns="urn:x" id="D" targetNamespace="urn:x">
  <message id="newInvoice" name="New invoice"/>
  <signal id="storm" name="Storm"/>
  <process id="p" isExecutable="true">
    <laneSet id="ls"><lane id="l"><flowNodeRef>s</flowNodeRef><flowNodeRef>GONE</flowNodeRef></lane></laneSet>
    <startEvent id="s"><messageEventDefinition messageRef="tns:newInvoice"/></startEvent>
    <intermediateCatchEvent id="c"><signalEventDefinition signalRef="tns:storm"/></intermediateCatchEvent>
    <endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="c"/>
    <sequenceFlow id="f2" sourceRef="c" targetRef="e"/>
  </process>
</definitions>"#;
    let model = Model::import(xml.as_bytes()).expect("imports");
    let found: Vec<String> = structure(&model)
        .iter()
        .filter(|d| d.severity != Severity::Info)
        .map(|d| d.render("x.bpmn"))
        .collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(found[0].contains("l: warning[W018]"), "{found:#?}");
}
