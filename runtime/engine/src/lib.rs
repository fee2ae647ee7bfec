//! The executor: BPMN token semantics as a pure state machine.
//!
//! `step(definition, instance, command, now)` → the changed instance plus the
//! effects to carry out (tasks, jobs, messages, history). No I/O, no clock:
//! time is an argument, so a step replays the same way every time.

pub mod script;
pub mod value;
