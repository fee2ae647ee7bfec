//! The executor: BPMN token semantics as a pure state machine.
//!
//! `step(definition, instance, command, now)` moves the instance on to its
//! next wait states and returns the effects to carry out (tasks, jobs,
//! messages, history). No I/O, no clock: time is an argument, so a step
//! replays the same way every time.

pub mod calendar;
pub mod cascade;
pub mod definition;
pub mod deployment;
pub mod effect;
pub mod executor;
pub mod instance;
pub mod memory;
pub mod script;
pub mod sla;
pub mod value;

pub use cascade::{Cascade, Next};
pub use definition::{DeployError, ProcessDefinition};
pub use effect::{Command, CommandError, Effect, HistoryEvent, JobKind, Modification, TaskInfo};
pub use executor::{check_mapping, migrate, start, step, ElementMapping, MigrationRefused};
pub use instance::{Instance, InstanceState};
pub use value::{Value, Variables};
