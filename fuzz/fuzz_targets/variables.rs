//! Fuzzes the API's variable decoding as the server does it: any bytes read
//! as a JSON body, its `variables` decoded and bounded
//! (`variables_from_json`, `check_variables`); whatever is accepted starts an
//! instance whose stored document reads back to the same instance. Nothing
//! accepted may become unreadable (the review found 62 levels of nesting
//! accepted and every later read failing).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use millrace_engine::value::{check_variables, variables_from_json};
use millrace_engine::{Command, Instance, ProcessDefinition};

const BPMN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="D" targetNamespace="x">
  <process id="p" isExecutable="true">
    <startEvent id="s"/><userTask id="t"/><endEvent id="e"/>
    <sequenceFlow id="f1" sourceRef="s" targetRef="t"/>
    <sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  </process>
</definitions>"#;

fn definition() -> &'static ProcessDefinition {
    static DEF: OnceLock<ProcessDefinition> = OnceLock::new();
    DEF.get_or_init(|| {
        let model = millrace_model::Model::import(BPMN.as_bytes()).expect("the fixture imports");
        ProcessDefinition::compile_all(&model, &millrace_script::Rhai::new(), 1)
            .expect("the fixture compiles")
            .remove(0)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Some(json) = body.get("variables") else {
        return;
    };
    let Ok(vars) = variables_from_json(json) else {
        return;
    };
    if check_variables(&vars).is_err() {
        return;
    }
    let Ok((instance, _)) = millrace_engine::start(
        definition(),
        "fuzz".into(),
        None,
        None,
        Command::Start {
            variables: vars,
            start_node: None,
        },
        chrono::DateTime::UNIX_EPOCH,
    ) else {
        return;
    };
    let stored = serde_json::to_string(&instance).expect("an accepted instance serialises");
    let read: Instance = serde_json::from_str(&stored).expect("an accepted instance reads back");
    assert_eq!(read.root_variables(), instance.root_variables());
});
