//! What the engine's integration tests share: starting an instance at its
//! none start event, the user tasks open in it, completing one by element.

use chrono::DateTime;
use millrace_engine::instance::{TokenState, Wait};
use millrace_engine::{executor, Command, Instance, ProcessDefinition, Variables};

/// Starts an instance (id `i`) at the none start event, at the epoch.
pub fn start(def: &ProcessDefinition) -> Instance {
    executor::start(
        def,
        "i".into(),
        None,
        None,
        Command::Start {
            variables: Variables::new(),
            start_node: None,
        },
        DateTime::UNIX_EPOCH,
    )
    .expect("starts")
    .0
}

/// The user tasks open in the instance, by BPMN id, sorted.
pub fn open_tasks(def: &ProcessDefinition, inst: &Instance) -> Vec<String> {
    let mut ids: Vec<String> = inst
        .tokens
        .values()
        .filter(|t| matches!(t.state, TokenState::Waiting(Wait::UserTask { .. })))
        .map(|t| def.node(t.node).id.clone())
        .collect();
    ids.sort();
    ids
}

/// Completes the open user task at `element`, with no variables.
pub fn complete(def: &ProcessDefinition, inst: &mut Instance, element: &str) {
    let task = inst
        .tokens
        .values()
        .find_map(|t| match t.state {
            TokenState::Waiting(Wait::UserTask { task }) if def.node(t.node).id == element => {
                Some(task)
            }
            _ => None,
        })
        .expect("the task is open");
    executor::step(
        def,
        inst,
        Command::CompleteTask {
            task,
            variables: Variables::new(),
        },
        DateTime::UNIX_EPOCH,
    )
    .expect("completes");
}
