//! Instance modification: moving tokens by hand, all or nothing.

use chrono::DateTime;
use millrace_engine::instance::TokenState;
use millrace_engine::{
    executor, Command, CommandError, Effect, HistoryEvent, Instance, InstanceState, Modification,
    ProcessDefinition,
};
use millrace_model::Model;
use millrace_script::Rhai;
use proptest::prelude::*;

mod common;
use common::{complete, open_tasks, start};

fn compile(body: &str) -> ProcessDefinition {
    let xml = format!(
        "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" id=\"D\" targetNamespace=\"t\">\
         <process id=\"P\" isExecutable=\"true\">{body}</process></definitions>"
    );
    let model = Model::import(xml.as_bytes()).expect("imports");
    ProcessDefinition::compile_all(&model, &Rhai::new(), 1)
        .expect("compiles")
        .remove(0)
}

fn modify(
    def: &ProcessDefinition,
    inst: &mut Instance,
    instructions: Vec<Modification>,
) -> Result<Vec<Effect>, CommandError> {
    executor::step(
        def,
        inst,
        Command::Modify { instructions },
        DateTime::UNIX_EPOCH,
    )
}

fn cancel(e: &str) -> Modification {
    Modification::Cancel { element: e.into() }
}
fn before(e: &str) -> Modification {
    Modification::StartBefore { element: e.into() }
}
fn after(e: &str) -> Modification {
    Modification::StartAfter { element: e.into() }
}

const LINE: &str = r#"<startEvent id="S"/><userTask id="A"/><userTask id="B"/><userTask id="C"/><endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="A"/><sequenceFlow id="f2" sourceRef="A" targetRef="B"/>
<sequenceFlow id="f3" sourceRef="B" targetRef="C"/><sequenceFlow id="f4" sourceRef="C" targetRef="E"/>"#;

#[test]
fn a_token_moves_from_one_task_to_another_and_the_flow_goes_on_from_there() {
    let def = compile(LINE);
    let mut inst = start(&def);
    assert_eq!(open_tasks(&def, &inst), ["A"]);
    let effects = modify(&def, &mut inst, vec![cancel("A"), before("C")]).expect("moves");
    assert_eq!(open_tasks(&def, &inst), ["C"]);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::TaskEnded {
            completed: false,
            ..
        }
    )));
    assert!(effects
        .iter()
        .any(|e| matches!(e, Effect::TaskCreated(t) if t.node_id == "C")));
    complete(&def, &mut inst, "C");
    assert_eq!(inst.state, InstanceState::Completed);
}

#[test]
fn starting_after_an_element_takes_its_outgoing_flows() {
    let def = compile(LINE);
    let mut inst = start(&def);
    modify(&def, &mut inst, vec![cancel("A"), after("A")]).expect("skips A");
    assert_eq!(open_tasks(&def, &inst), ["B"]);
}

#[test]
fn a_second_path_can_be_started_beside_the_first() {
    let def = compile(LINE);
    let mut inst = start(&def);
    modify(&def, &mut inst, vec![before("C")]).expect("starts");
    assert_eq!(open_tasks(&def, &inst), ["A", "C"]);
    complete(&def, &mut inst, "C");
    assert_eq!(inst.state, InstanceState::Active, "A still runs");
}

#[test]
fn cancelling_every_token_terminates_the_instance() {
    let def = compile(LINE);
    let mut inst = start(&def);
    modify(&def, &mut inst, vec![cancel("A")]).expect("cancels");
    assert_eq!(inst.state, InstanceState::Terminated);
}

#[test]
fn a_refused_instruction_refuses_the_whole_modification_and_changes_nothing() {
    let def = compile(LINE);
    let mut inst = start(&def);
    let unchanged = inst.clone();
    for (instructions, why) in [
        (
            vec![cancel("A"), before("Nowhere")],
            "instruction 2 (Nowhere): the process has no such element",
        ),
        (
            vec![cancel("B")],
            "instruction 1 (B): no token is at this element",
        ),
        (vec![], "it has no instruction"),
    ] {
        let refused = modify(&def, &mut inst, instructions);
        assert_eq!(refused, Err(CommandError::Modification(why.to_string())));
        assert_eq!(inst, unchanged, "{why}");
    }
}

const SUB: &str = r#"<startEvent id="S"/><subProcess id="Sub"><startEvent id="SS"/><userTask id="A"/><userTask id="B"/><endEvent id="SE"/>
<sequenceFlow id="s1" sourceRef="SS" targetRef="A"/><sequenceFlow id="s2" sourceRef="A" targetRef="B"/><sequenceFlow id="s3" sourceRef="B" targetRef="SE"/></subProcess>
<userTask id="After"/><endEvent id="E"/><subProcess id="Other"><startEvent id="OS"/><userTask id="X"/><sequenceFlow id="o1" sourceRef="OS" targetRef="X"/></subProcess>
<sequenceFlow id="f1" sourceRef="S" targetRef="Sub"/><sequenceFlow id="f2" sourceRef="Sub" targetRef="After"/><sequenceFlow id="f3" sourceRef="After" targetRef="E"/>"#;

#[test]
fn a_move_inside_a_sub_process_keeps_the_sub_process_and_its_completion() {
    let def = compile(SUB);
    let mut inst = start(&def);
    modify(&def, &mut inst, vec![cancel("A"), before("B")]).expect("moves");
    assert_eq!(open_tasks(&def, &inst), ["B"]);
    complete(&def, &mut inst, "B");
    assert_eq!(
        open_tasks(&def, &inst),
        ["After"],
        "the sub-process completed normally"
    );
}

#[test]
fn moving_the_last_token_out_of_a_sub_process_cancels_the_sub_process() {
    let def = compile(SUB);
    let mut inst = start(&def);
    modify(&def, &mut inst, vec![cancel("A"), before("After")]).expect("moves");
    assert_eq!(open_tasks(&def, &inst), ["After"]);
    assert!(
        inst.tokens.values().all(|t| def.node(t.node).id == "After"),
        "nothing is left of Sub"
    );
    complete(&def, &mut inst, "After");
    assert_eq!(inst.state, InstanceState::Completed);
}

#[test]
fn an_element_in_a_sub_process_that_is_not_running_is_refused_with_the_way_to_do_it() {
    let def = compile(SUB);
    let mut inst = start(&def);
    let refused = modify(&def, &mut inst, vec![before("X")]);
    assert_eq!(
        refused,
        Err(CommandError::Modification(
            "instruction 1 (X): it stands in sub-process Other, which is not running; start before Other instead".into()
        ))
    );
    modify(&def, &mut inst, vec![before("Other")]).expect("starts the sub-process");
    assert_eq!(open_tasks(&def, &inst), ["A", "X"]);
}

const FORK: &str = r#"<startEvent id="S"/><parallelGateway id="G"/><userTask id="A"/><userTask id="B"/><endEvent id="EA"/><endEvent id="EB"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="G"/><sequenceFlow id="f2" sourceRef="G" targetRef="A"/><sequenceFlow id="f3" sourceRef="G" targetRef="B"/>
<sequenceFlow id="f4" sourceRef="A" targetRef="EA"/><sequenceFlow id="f5" sourceRef="B" targetRef="EB"/>"#;

#[test]
fn one_branch_is_cancelled_and_the_other_goes_on() {
    let def = compile(FORK);
    let mut inst = start(&def);
    assert_eq!(open_tasks(&def, &inst), ["A", "B"]);
    modify(&def, &mut inst, vec![cancel("B")]).expect("cancels B");
    assert_eq!(open_tasks(&def, &inst), ["A"]);
    complete(&def, &mut inst, "A");
    assert_eq!(inst.state, InstanceState::Completed);
}

#[test]
fn cancelling_both_branches_ends_the_instance_once() {
    let def = compile(FORK);
    let mut inst = start(&def);
    let effects = modify(&def, &mut inst, vec![cancel("A"), cancel("B")]).expect("cancels");
    assert_eq!(inst.state, InstanceState::Terminated);
    let ended = effects
        .iter()
        .filter(|e| matches!(e, Effect::InstanceEnded { .. }))
        .count();
    assert_eq!(ended, 1, "{effects:?}");
}

#[test]
fn a_token_started_after_an_element_has_its_start_recorded_with_its_completion() {
    let def = compile(LINE);
    let mut inst = start(&def);
    let effects = modify(&def, &mut inst, vec![cancel("A"), after("B")]).expect("skips");
    let of_b: Vec<&HistoryEvent> = effects
        .iter()
        .filter_map(|e| match e {
            Effect::History(
                h @ (HistoryEvent::ActivityStarted { node }
                | HistoryEvent::ActivityCompleted { node }),
            ) if node == "B" => Some(h),
            _ => None,
        })
        .collect();
    assert!(
        matches!(
            of_b.as_slice(),
            [
                HistoryEvent::ActivityStarted { .. },
                HistoryEvent::ActivityCompleted { .. }
            ]
        ),
        "{of_b:?}"
    );
    assert_eq!(open_tasks(&def, &inst), ["C"]);
}

#[test]
fn a_boundary_event_is_started_after_not_before() {
    let def = compile(
        r#"<startEvent id="S"/><userTask id="A"/><boundaryEvent id="Late" attachedToRef="A"><timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition></boundaryEvent>
<userTask id="Chase"/><endEvent id="E"/>
<sequenceFlow id="f1" sourceRef="S" targetRef="A"/><sequenceFlow id="f2" sourceRef="A" targetRef="E"/><sequenceFlow id="f3" sourceRef="Late" targetRef="Chase"/>"#,
    );
    let mut inst = start(&def);
    assert!(matches!(
        modify(&def, &mut inst, vec![before("Late")]),
        Err(CommandError::Modification(m)) if m.contains("start after it instead")
    ));
    modify(&def, &mut inst, vec![cancel("A"), after("Late")]).expect("escalates by hand");
    assert_eq!(open_tasks(&def, &inst), ["Chase"]);
    assert!(
        inst.subscriptions.is_empty(),
        "A's timer went with A: {:?}",
        inst.subscriptions
    );
}

proptest! {
    /// Whatever the instructions, a modification either refuses and leaves
    /// the instance as it was, or leaves every token at rest (never half-moved).
    #[test]
    fn a_modification_is_all_or_nothing(
        steps in prop::collection::vec((0..3u8, 0..9usize), 0..5)
    ) {
        let def = compile(SUB);
        let mut inst = start(&def);
        let elements = ["S", "Sub", "A", "B", "SE", "After", "E", "Other", "X"];
        let instructions: Vec<Modification> = steps
            .iter()
            .map(|&(kind, e)| match kind {
                0 => cancel(elements[e]),
                1 => before(elements[e]),
                _ => after(elements[e]),
            })
            .collect();
        let unchanged = inst.clone();
        match modify(&def, &mut inst, instructions) {
            Err(_) => prop_assert_eq!(&inst, &unchanged),
            Ok(_) => {
                prop_assert!(inst.tokens.values().all(|t| t.state != TokenState::Ready));
                if inst.state == InstanceState::Active {
                    prop_assert!(!inst.tokens.is_empty());
                } else {
                    prop_assert!(inst.tokens.is_empty());
                }
            }
        }
    }
}
