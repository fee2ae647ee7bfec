//! What the engine's integration tests share: starting an instance at its
//! none start event, the user tasks open in it, completing one by element.

// Each test binary includes this module and uses a part of it.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use millrace_engine::instance::{TokenState, Wait};
use millrace_engine::{executor, Command, Effect, Instance, ProcessDefinition, Variables};

/// Starts an instance (id `i`) at the none start event, at the epoch.
pub fn start(def: &ProcessDefinition) -> Instance {
    start_at(def, DateTime::UNIX_EPOCH, Variables::new()).0
}

/// Starts an instance (id `i`) at the none start event at `now`, with
/// `variables`: the instance and the effects of its first step.
pub fn start_at(
    def: &ProcessDefinition,
    now: DateTime<Utc>,
    variables: Variables,
) -> (Instance, Vec<Effect>) {
    executor::start(
        def,
        "i".into(),
        None,
        None,
        Command::Start {
            variables,
            start_node: None,
        },
        now,
    )
    .expect("starts")
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

/// Completes the open user task at `element`, with no variables, at the epoch.
pub fn complete(def: &ProcessDefinition, inst: &mut Instance, element: &str) {
    complete_at(def, inst, element, DateTime::UNIX_EPOCH);
}

/// Completes the open user task at `element`, with no variables, at `now`:
/// the step's effects.
pub fn complete_at(
    def: &ProcessDefinition,
    inst: &mut Instance,
    element: &str,
    now: DateTime<Utc>,
) -> Vec<Effect> {
    let task = inst
        .tokens
        .values()
        .find_map(|t| match t.state {
            TokenState::Waiting(Wait::UserTask { task }) if def.node(t.node).id == element => {
                Some(task)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{element} is open"));
    executor::step(
        def,
        inst,
        Command::CompleteTask {
            task,
            variables: Variables::new(),
        },
        now,
    )
    .expect("completes")
}
