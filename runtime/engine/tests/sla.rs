//! SLAs: clocks a process or activity declares, started, met, breached and
//! escalated as the instance moves.

use chrono::{DateTime, Duration, Utc};
use millrace_engine::sla::SlaStatus;
use millrace_engine::{
    executor, Command, Effect, HistoryEvent, JobKind, ProcessDefinition, Value, Variables,
};
use millrace_model::Model;
use millrace_script::Rhai;

mod common;
use common::{complete_at, open_tasks, start_at};

fn compile(process_properties: &str, body: &str) -> Result<ProcessDefinition, String> {
    let xml = format!(
        "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" xmlns:camunda=\"http://camunda.org/schema/1.0/bpmn\" id=\"D\" targetNamespace=\"t\">\
         <escalation id=\"Esc\" escalationCode=\"late\"/>\
         <process id=\"P\" isExecutable=\"true\"><extensionElements><camunda:properties>{process_properties}</camunda:properties></extensionElements>{body}</process></definitions>"
    );
    let model = Model::import(xml.as_bytes()).map_err(|e| format!("{e:?}"))?;
    ProcessDefinition::compile_all(&model, &Rhai::new(), 1)
        .map(|mut d| d.remove(0))
        .map_err(|e| e.to_string())
}

fn prop(name: &str, value: &str) -> String {
    props(&[(name, value)])
}

fn props(list: &[(&str, &str)]) -> String {
    list.iter()
        .map(|(name, value)| format!("<camunda:property name=\"{name}\" value=\"{value}\"/>"))
        .collect()
}

fn at(s: &str) -> DateTime<Utc> {
    millrace_model::timer::parse_date(s).expect("date")
}

/// The SLA jobs the effects schedule, with their due times.
fn sla_jobs(effects: &[Effect]) -> Vec<(u64, DateTime<Utc>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::JobScheduled {
                job,
                kind: JobKind::SlaDue,
                due,
            } => Some((*job, *due)),
            _ => None,
        })
        .collect()
}

const ACK_LINE: &str = r#"<startEvent id="S"/><userTask id="Task_Ack" name="Acknowledge"/><userTask id="Task_Work"/><endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="Task_Ack"/><sequenceFlow id="f2" sourceRef="Task_Ack" targetRef="Task_Work"/>
<sequenceFlow id="f3" sourceRef="Task_Work" targetRef="E"/>
<subProcess id="Esp" triggeredByEvent="true"><startEvent id="EspStart" isInterrupting="false"><escalationEventDefinition escalationRef="Esc"/></startEvent>
<userTask id="Task_Review" camunda:candidateGroups="supervisors"/><endEvent id="EspEnd"/>
<sequenceFlow id="e1" sourceRef="EspStart" targetRef="Task_Review"/><sequenceFlow id="e2" sourceRef="Task_Review" targetRef="EspEnd"/></subProcess>"#;

#[test]
fn a_process_sla_met_in_time_records_the_hours_it_took_and_cancels_its_breach() {
    let props = props(&[
        ("sla.ack", "2"),
        ("sla.ack.metBy", "Task_Ack"),
        ("sla.resolution", "PT24H"),
    ]);
    let def = compile(&props, ACK_LINE).expect("compiles");
    let t0 = at("2024-12-02T09:00:00Z");
    let (mut inst, effects) = start_at(&def, t0, Variables::new());
    let jobs = sla_jobs(&effects);
    assert_eq!(jobs.len(), 2, "{effects:?}");
    assert_eq!(jobs[0].1, t0 + Duration::hours(2));
    assert_eq!(jobs[1].1, t0 + Duration::hours(24));
    assert_eq!(
        inst.slas[0].status(t0 + Duration::hours(1)),
        SlaStatus::OnTrack
    );

    let effects = complete_at(&def, &mut inst, "Task_Ack", t0 + Duration::minutes(75));
    assert!(effects.contains(&Effect::JobCancelled { job: jobs[0].0 }));
    assert!(effects.iter().any(|e| matches!(e,
        Effect::History(HistoryEvent::SlaMet { name, hours, late: false, .. }) if name == "ack" && hours == "1.25")));
    let ack = &inst.slas[0];
    assert_eq!(ack.achieved_seconds, Some(4500));
    assert_eq!(ack.status(t0 + Duration::hours(5)), SlaStatus::Met);
    // The resolution runs on until the instance completes.
    assert_eq!(
        inst.slas[1].status(t0 + Duration::hours(5)),
        SlaStatus::OnTrack
    );
    complete_at(&def, &mut inst, "Task_Work", t0 + Duration::hours(30));
    assert_eq!(
        inst.slas[1].status(t0 + Duration::hours(31)),
        SlaStatus::MetLate
    );
    assert_eq!(inst.slas[1].achieved_seconds, Some(30 * 3600));
}

#[test]
fn a_breach_throws_the_declared_escalation_that_the_bpmn_catches_once() {
    let props = props(&[
        ("sla.ack", "2"),
        ("sla.ack.metBy", "Task_Ack"),
        ("sla.ack.escalation", "late"),
    ]);
    let def = compile(&props, ACK_LINE).expect("compiles");
    let t0 = at("2024-12-02T09:00:00Z");
    let (mut inst, effects) = start_at(&def, t0, Variables::new());
    let (job, due) = sla_jobs(&effects)[0];
    let effects = executor::step(&def, &mut inst, Command::RunJob { job }, due).expect("runs");
    assert!(effects.iter().any(
        |e| matches!(e, Effect::History(HistoryEvent::SlaBreached { name, .. }) if name == "ack")
    ));
    assert_eq!(open_tasks(&def, &inst), ["Task_Ack", "Task_Review"]);
    assert_eq!(inst.slas[0].status(due), SlaStatus::Breached);
    // The same job delivered twice (at least once) does not escalate again.
    executor::step(&def, &mut inst, Command::RunJob { job }, due).expect("runs again");
    assert_eq!(open_tasks(&def, &inst), ["Task_Ack", "Task_Review"]);
    // Met late: no job left to cancel.
    let effects = complete_at(&def, &mut inst, "Task_Ack", due + Duration::hours(1));
    assert!(!effects
        .iter()
        .any(|e| matches!(e, Effect::JobCancelled { .. })));
    assert_eq!(
        inst.slas[0].status(due + Duration::hours(2)),
        SlaStatus::MetLate
    );
}

#[test]
fn a_task_sla_in_business_hours_is_thrown_from_the_task_to_its_boundary_event() {
    let body = format!(
        r#"<startEvent id="S"/><userTask id="Task_Work" camunda:candidateGroups="billing"><extensionElements><camunda:properties>{}{}{}</camunda:properties></extensionElements></userTask><endEvent id="E"/>
<boundaryEvent id="B" attachedToRef="Task_Work" cancelActivity="false"><escalationEventDefinition escalationRef="Esc"/></boundaryEvent>
<userTask id="Task_Chase"/><endEvent id="E2"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="Task_Work"/><sequenceFlow id="f2" sourceRef="Task_Work" targetRef="E"/>
<sequenceFlow id="f3" sourceRef="B" targetRef="Task_Chase"/><sequenceFlow id="f4" sourceRef="Task_Chase" targetRef="E2"/>"#,
        prop("sla.response", "4"),
        prop("sla.response.hours", "business"),
        prop("sla.response.escalation", "late"),
    );
    let def = compile(&prop("sla.daysOff", "daysOff"), &body).expect("compiles");
    // Friday 15:00; Monday 9 December is a day off: 2 h on Friday, 2 h on Tuesday.
    let t0 = at("2024-12-06T15:00:00Z");
    let mut vars = Variables::new();
    vars.insert(
        "daysOff".into(),
        Value::List(vec![Value::String("2024-12-09".into())]),
    );
    let (mut inst, effects) = start_at(&def, t0, vars);
    let (job, due) = sla_jobs(&effects)[0];
    assert_eq!(due, at("2024-12-10T10:00:00Z"));
    assert_eq!(inst.slas[0].element.as_deref(), Some("Task_Work"));
    assert_eq!(inst.slas[0].group.as_deref(), Some("billing"));
    executor::step(&def, &mut inst, Command::RunJob { job }, due).expect("runs");
    assert_eq!(open_tasks(&def, &inst), ["Task_Chase", "Task_Work"]);
    complete_at(&def, &mut inst, "Task_Work", at("2024-12-10T11:30:00Z"));
    // 2 h on Friday, 3 h 30 on Tuesday, in working time.
    assert_eq!(inst.slas[0].achieved_seconds, Some(5 * 3600 + 1800));
}

#[test]
fn a_target_read_from_settings_starts_when_its_element_completes() {
    let props = props(&[
        ("sla.ack", "${targets.ack}"),
        ("sla.ack.startedBy", "Task_Ack"),
    ]);
    let def = compile(&props, ACK_LINE).expect("compiles");
    let t0 = at("2024-12-02T09:00:00Z");
    let mut targets = std::collections::BTreeMap::new();
    targets.insert("ack".to_string(), Value::Int(3));
    let mut vars = Variables::new();
    vars.insert("targets".into(), Value::Map(targets));
    let (mut inst, effects) = start_at(&def, t0, vars);
    assert!(
        sla_jobs(&effects).is_empty(),
        "not started with the instance"
    );
    let effects = complete_at(&def, &mut inst, "Task_Ack", t0 + Duration::hours(1));
    assert_eq!(sla_jobs(&effects)[0].1, t0 + Duration::hours(4));
    // No metBy: the instance's completion meets it.
    complete_at(&def, &mut inst, "Task_Work", t0 + Duration::hours(2));
    assert_eq!(inst.slas[0].achieved_seconds, Some(3600));
}

#[test]
fn a_cancelled_instance_stops_its_clocks_unmet() {
    let def = compile(&prop("sla.resolution", "24"), ACK_LINE).expect("compiles");
    let t0 = at("2024-12-02T09:00:00Z");
    let (mut inst, effects) = start_at(&def, t0, Variables::new());
    let (job, _) = sla_jobs(&effects)[0];
    let effects =
        executor::step(&def, &mut inst, Command::Cancel, t0 + Duration::hours(1)).expect("cancels");
    assert!(effects.contains(&Effect::JobCancelled { job }));
    assert_eq!(
        inst.slas[0].status(t0 + Duration::hours(30)),
        SlaStatus::Cancelled
    );
}

#[test]
fn bad_declarations_are_refused_at_deployment_naming_the_element_and_property() {
    let err = compile(
        &props(&[("sla.ack", "2"), ("sla.ack.metBy", "Task_Nope")]),
        ACK_LINE,
    )
    .expect_err("refused");
    assert!(
        err.contains("sla.ack.metBy") && err.contains("Task_Nope"),
        "{err}"
    );
    let err = compile(&prop("sla.ack", "two hours"), ACK_LINE).expect_err("refused");
    assert!(
        err.contains("process P") && err.contains("sla.ack"),
        "{err}"
    );
    let err =
        compile(&props(&[("sla.ack", "2"), ("sla.ack.due", "x")]), ACK_LINE).expect_err("refused");
    assert!(err.contains("\"due\""), "{err}");
}
