//! Commands that scenarios do not drive: external tasks, incident retry,
//! cancellation, refused commands.

use chrono::DateTime;
use millrace_engine::instance::{TokenState, Wait};
use millrace_engine::{
    executor, Command, CommandError, Effect, Instance, InstanceState, JobKind, ProcessDefinition,
    Value, Variables,
};
use millrace_model::Model;
use millrace_script::Rhai;

fn compile(body: &str) -> ProcessDefinition {
    let xml = format!(
        "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" xmlns:camunda=\"http://camunda.org/schema/1.0/bpmn\" id=\"D\" targetNamespace=\"t\">\
         <process id=\"P\" isExecutable=\"true\">{body}</process></definitions>"
    );
    let model = Model::import(xml.as_bytes()).expect("imports");
    ProcessDefinition::compile_all(&model, &Rhai::new(), 1)
        .expect("compiles")
        .remove(0)
}

fn start(def: &ProcessDefinition, vars: Variables) -> (Instance, Vec<Effect>) {
    executor::start(
        def,
        "i".into(),
        None,
        None,
        Command::Start {
            variables: vars,
            start_node: None,
        },
        DateTime::UNIX_EPOCH,
    )
    .expect("starts")
}

fn vars(pairs: &[(&str, Value)]) -> Variables {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

const EXTERNAL: &str = r#"<startEvent id="S"/><serviceTask id="Charge" camunda:type="external" camunda:topic="billing"/><endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="Charge"/><sequenceFlow id="f2" sourceRef="Charge" targetRef="E"/>"#;

fn external_job(effects: &[Effect]) -> u64 {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::JobScheduled {
                job,
                kind: JobKind::External { topic },
                ..
            } if topic == "billing" => Some(*job),
            _ => None,
        })
        .expect("an external task for topic billing")
}

#[test]
fn external_task_completes_with_the_workers_variables() {
    let def = compile(EXTERNAL);
    let (mut inst, effects) = start(&def, Variables::new());
    let job = external_job(&effects);
    executor::step(
        &def,
        &mut inst,
        Command::CompleteExternalTask {
            job,
            variables: vars(&[("charged", Value::Bool(true))]),
        },
        DateTime::UNIX_EPOCH,
    )
    .expect("completes");
    assert_eq!(inst.state, InstanceState::Completed);
    assert_eq!(
        inst.root_variables().get("charged"),
        Some(&Value::Bool(true))
    );
}

#[test]
fn failed_external_task_is_an_incident_and_a_retry_waits_again() {
    let def = compile(EXTERNAL);
    let (mut inst, effects) = start(&def, Variables::new());
    let job = external_job(&effects);
    let effects = executor::step(
        &def,
        &mut inst,
        Command::FailExternalTask {
            job,
            message: "gateway down".into(),
        },
        DateTime::UNIX_EPOCH,
    )
    .expect("fails");
    let incident = effects
        .iter()
        .find_map(|e| match e {
            Effect::IncidentRaised {
                incident,
                node,
                message,
            } => {
                assert_eq!(
                    (node.as_str(), message.as_str()),
                    ("Charge", "gateway down")
                );
                Some(*incident)
            }
            _ => None,
        })
        .expect("an incident");
    assert!(inst.has_incident());
    let effects = executor::step(
        &def,
        &mut inst,
        Command::RetryIncident { incident },
        DateTime::UNIX_EPOCH,
    )
    .expect("retries");
    let again = external_job(&effects);
    assert_ne!(again, job, "a retry schedules a fresh job");
    assert!(inst
        .tokens
        .values()
        .any(|t| t.state == TokenState::Waiting(Wait::External { job: again })));
}

#[test]
fn a_failing_script_changes_no_variable_and_a_retry_after_fixing_data_succeeds() {
    let def = compile(
        r#"<startEvent id="S"/><scriptTask id="Fee" scriptFormat="rhai"><script>total = total + 10; let share = total / parts;</script></scriptTask><endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="Fee"/><sequenceFlow id="f2" sourceRef="Fee" targetRef="E"/>"#,
    );
    let (mut inst, effects) = start(
        &def,
        vars(&[("total", Value::Int(90)), ("parts", Value::Int(0))]),
    );
    let incident = effects
        .iter()
        .find_map(|e| match e {
            Effect::IncidentRaised { incident, .. } => Some(*incident),
            _ => None,
        })
        .expect("division by zero is an incident");
    assert_eq!(
        inst.root_variables().get("total"),
        Some(&Value::Int(90)),
        "the failed script wrote nothing"
    );
    executor::step(
        &def,
        &mut inst,
        Command::SetVariables {
            variables: vars(&[("parts", Value::Int(4))]),
        },
        DateTime::UNIX_EPOCH,
    )
    .expect("sets");
    executor::step(
        &def,
        &mut inst,
        Command::RetryIncident { incident },
        DateTime::UNIX_EPOCH,
    )
    .expect("retries");
    assert_eq!(inst.state, InstanceState::Completed);
    assert_eq!(inst.root_variables().get("share"), Some(&Value::Int(25)));
}

#[test]
fn cancel_terminates_and_later_commands_are_refused_without_change() {
    let def = compile(
        r#"<startEvent id="S"/><userTask id="U"/><endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="U"/><sequenceFlow id="f2" sourceRef="U" targetRef="E"/>"#,
    );
    let (mut inst, effects) = start(&def, Variables::new());
    let task = effects
        .iter()
        .find_map(|e| match e {
            Effect::TaskCreated(t) => Some(t.id),
            _ => None,
        })
        .expect("a task");
    let before = inst.clone();
    let refused = executor::step(
        &def,
        &mut inst,
        Command::CompleteTask {
            task: task + 100,
            variables: Variables::new(),
        },
        DateTime::UNIX_EPOCH,
    );
    assert_eq!(refused, Err(CommandError::NotFound("task", task + 100)));
    assert_eq!(inst, before, "a refused command changes nothing");
    let effects =
        executor::step(&def, &mut inst, Command::Cancel, DateTime::UNIX_EPOCH).expect("cancels");
    assert_eq!(inst.state, InstanceState::Terminated);
    assert!(effects.contains(&Effect::TaskEnded {
        task,
        completed: false
    }));
    let refused = executor::step(
        &def,
        &mut inst,
        Command::CompleteTask {
            task,
            variables: Variables::new(),
        },
        DateTime::UNIX_EPOCH,
    );
    assert_eq!(refused, Err(CommandError::Ended("terminated")));
}

#[test]
fn an_endless_loop_becomes_an_incident_instead_of_hanging() {
    let def = compile(
        r#"<startEvent id="S"/><exclusiveGateway id="G"/><scriptTask id="Spin" scriptFormat="rhai"><script>let n = 1;</script></scriptTask>
<sequenceFlow id="f1" sourceRef="S" targetRef="G"/><sequenceFlow id="f2" sourceRef="G" targetRef="Spin"/><sequenceFlow id="f3" sourceRef="Spin" targetRef="G"/>"#,
    );
    let (inst, effects) = start(&def, Variables::new());
    assert!(inst.has_incident());
    assert!(effects.iter().any(|e| matches!(e, Effect::IncidentRaised { message, .. } if message.contains("without reaching a wait state"))));
}

#[test]
fn a_failing_output_mapping_is_not_skipped_by_a_retry() {
    let def = compile(
        r#"<startEvent id="S"/><callActivity id="Call" calledElement="child"><extensionElements>
<camunda:out sourceExpression="total / parts" target="share"/></extensionElements></callActivity><endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="Call"/><sequenceFlow id="f2" sourceRef="Call" targetRef="E"/>"#,
    );
    let (mut inst, effects) = start(&def, Variables::new());
    let token = effects
        .iter()
        .find_map(|e| match e {
            Effect::CallStarted { token, .. } => Some(*token),
            _ => None,
        })
        .expect("the call starts a child");
    let child = vars(&[("total", Value::Int(90)), ("parts", Value::Int(0))]);
    let now = DateTime::UNIX_EPOCH;
    let effects = executor::step(
        &def,
        &mut inst,
        Command::CalledInstanceCompleted {
            token,
            variables: child,
        },
        now,
    )
    .expect("the child's end is taken");
    let incident = effects
        .iter()
        .find_map(|e| match e {
            Effect::IncidentRaised { incident, .. } => Some(*incident),
            _ => None,
        })
        .expect("a failing mapping is an incident");
    // The retry runs the mapping again on the kept variables: still failing, never skipped.
    let effects =
        executor::step(&def, &mut inst, Command::RetryIncident { incident }, now).expect("retries");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::IncidentRaised { .. })),
        "{effects:?}"
    );
    assert_eq!(inst.state, InstanceState::Active);
    assert_eq!(inst.root_variables().get("share"), None);
}

const ASSIGNED: &str = r##"<startEvent id="S"/>
<userTask id="Review" camunda:assignee="${initiator}" camunda:candidateGroups="auditors, ${region + &quot;-reviewers&quot;}" camunda:candidateUsers="#{backups}" camunda:dueDate="${due}"/>
<endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="Review"/><sequenceFlow id="f2" sourceRef="Review" targetRef="E"/>"##;

fn created_task(effects: &[Effect]) -> &millrace_engine::effect::TaskInfo {
    effects
        .iter()
        .find_map(|e| match e {
            Effect::TaskCreated(t) => Some(t),
            _ => None,
        })
        .expect("a task is created")
}

#[test]
fn assignment_expressions_are_evaluated_when_the_task_is_created() {
    let def = compile(ASSIGNED);
    let (_, effects) = start(
        &def,
        vars(&[
            ("initiator", Value::String("ana".into())),
            ("region", Value::String("north".into())),
            (
                "backups",
                Value::List(vec![Value::String("bo".into()), Value::String("cy".into())]),
            ),
            ("due", Value::String("P2D".into())),
        ]),
    );
    let task = created_task(&effects);
    assert_eq!(task.assignee.as_deref(), Some("ana"));
    assert_eq!(task.candidate_groups, ["auditors", "north-reviewers"]);
    assert_eq!(task.candidate_users, ["bo", "cy"]);
    assert_eq!(
        task.due,
        Some(DateTime::UNIX_EPOCH + chrono::Duration::days(2))
    );
}

#[test]
fn an_assignee_expression_that_is_not_a_name_is_an_incident() {
    let def = compile(ASSIGNED);
    let (inst, effects) = start(
        &def,
        vars(&[
            ("initiator", Value::Int(7)),
            ("region", Value::String("north".into())),
            ("backups", Value::Null),
            ("due", Value::Null),
        ]),
    );
    assert!(!effects.iter().any(|e| matches!(e, Effect::TaskCreated(_))));
    let message = inst
        .tokens
        .values()
        .find_map(|t| match &t.state {
            TokenState::Incident { message, .. } => Some(message.clone()),
            _ => None,
        })
        .expect("an incident");
    assert!(
        message.contains("camunda:assignee ${initiator} gave 7"),
        "{message}"
    );
}
