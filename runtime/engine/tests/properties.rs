//! Properties of the executor on random block-structured processes: nested
//! parallel and inclusive splits and joins (inclusive branches with random
//! conditions), user and script tasks, worked in a random order. Every
//! instance completes, every task on a taken branch completes exactly once,
//! no task on a skipped branch runs, and no token is left behind.

use std::collections::{BTreeMap, VecDeque};

use chrono::DateTime;
use millrace_engine::{
    executor, Command, Effect, HistoryEvent, InstanceState, ProcessDefinition, Variables,
};
use millrace_model::Model;
use millrace_script::Rhai;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Block {
    /// A user task (waits) or a script task (runs at once).
    Task {
        user: bool,
    },
    Sequence(Vec<Block>),
    /// A parallel (`inclusive: false`) or inclusive split and join; for
    /// inclusive ones, whether each branch's condition holds.
    Split {
        inclusive: bool,
        branches: Vec<(bool, Block)>,
    },
}

fn block() -> impl Strategy<Value = Block> {
    let leaf = any::<bool>().prop_map(|user| Block::Task { user });
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Block::Sequence),
            (
                any::<bool>(),
                proptest::collection::vec((any::<bool>(), inner), 1..4)
            )
                .prop_map(|(inclusive, branches)| Block::Split {
                    inclusive,
                    branches
                }),
        ]
    })
}

/// Renders blocks as BPMN; returns the expected completion count per task id.
struct Render {
    xml: String,
    next: usize,
    expected: BTreeMap<String, usize>,
}

impl Render {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_{}", self.next)
    }

    fn flow(&mut self, from: &str, to: &str, condition: Option<bool>) {
        let id = self.id("F");
        match condition {
            Some(c) => self.xml.push_str(&format!(
                "<sequenceFlow id=\"{id}\" sourceRef=\"{from}\" targetRef=\"{to}\"><conditionExpression language=\"rhai\">{c}</conditionExpression></sequenceFlow>\n"
            )),
            None => self.xml.push_str(&format!("<sequenceFlow id=\"{id}\" sourceRef=\"{from}\" targetRef=\"{to}\"/>\n")),
        }
    }

    /// Emits `b`; returns its (entry, exit) node ids. `live` says whether it runs.
    fn emit(&mut self, b: &Block, live: bool) -> (String, String) {
        match b {
            Block::Task { user } => {
                let id = self.id("T");
                if *user {
                    self.xml.push_str(&format!("<userTask id=\"{id}\"/>\n"));
                } else {
                    self.xml
                        .push_str(&format!("<scriptTask id=\"{id}\" scriptFormat=\"rhai\"><script>let {id} = true;</script></scriptTask>\n"));
                }
                self.expected.insert(id.clone(), usize::from(live));
                (id.clone(), id)
            }
            Block::Sequence(items) => {
                let mut first = None;
                let mut last: Option<String> = None;
                for item in items {
                    let (entry, exit) = self.emit(item, live);
                    if let Some(prev) = &last {
                        self.flow(prev, &entry, None);
                    }
                    first.get_or_insert(entry);
                    last = Some(exit);
                }
                (first.unwrap_or_default(), last.unwrap_or_default())
            }
            Block::Split {
                inclusive,
                branches,
            } => {
                let kind = if *inclusive {
                    "inclusiveGateway"
                } else {
                    "parallelGateway"
                };
                let split = self.id("Split");
                let join = self.id("Join");
                // An inclusive split with no true condition takes its default flow,
                // which goes straight to the join.
                let any_true = branches.iter().any(|(c, _)| *c);
                let default = if *inclusive && !any_true {
                    Some(self.id("F"))
                } else {
                    None
                };
                match &default {
                    Some(d) => self
                        .xml
                        .push_str(&format!("<{kind} id=\"{split}\" default=\"{d}\"/>\n")),
                    None => self.xml.push_str(&format!("<{kind} id=\"{split}\"/>\n")),
                }
                self.xml.push_str(&format!("<{kind} id=\"{join}\"/>\n"));
                for (condition, branch) in branches {
                    let taken = live && (!*inclusive || *condition);
                    let (entry, exit) = self.emit(branch, taken);
                    self.flow(&split, &entry, inclusive.then_some(*condition));
                    self.flow(&exit, &join, None);
                }
                if let Some(d) = default {
                    self.xml.push_str(&format!(
                        "<sequenceFlow id=\"{d}\" sourceRef=\"{split}\" targetRef=\"{join}\"/>\n"
                    ));
                }
                self.expected.insert(split.clone(), usize::from(live));
                self.expected.insert(join.clone(), usize::from(live));
                (split, join)
            }
        }
    }
}

fn render(b: &Block) -> (String, BTreeMap<String, usize>) {
    let mut r = Render {
        xml: String::new(),
        next: 0,
        expected: BTreeMap::new(),
    };
    let (entry, exit) = r.emit(b, true);
    r.flow("Start", &entry, None);
    r.flow(&exit, "End", None);
    let xml = format!(
        "<definitions xmlns=\"http://www.omg.org/spec/BPMN/20100524/MODEL\" id=\"D\" targetNamespace=\"t\">\n\
         <process id=\"P\" isExecutable=\"true\">\n<startEvent id=\"Start\"/>\n<endEvent id=\"End\"/>\n{}</process>\n</definitions>\n",
        r.xml
    );
    (xml, r.expected)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn nested_splits_and_joins_complete_exactly_once(b in block(), order in proptest::collection::vec(any::<u8>(), 64)) {
        let (xml, expected) = render(&b);
        let model = Model::import(xml.as_bytes()).expect("generated BPMN imports");
        let host = Rhai::new();
        let defs = ProcessDefinition::compile_all(&model, &host, 1).expect("generated BPMN compiles");
        let def = &defs[0];
        let now = DateTime::UNIX_EPOCH;
        let (mut inst, effects) = executor::start(def, "i".into(), None, None, Command::Start { variables: Variables::new(), start_node: None }, now).expect("starts");
        let mut history = Vec::new();
        let mut open_tasks: VecDeque<u64> = VecDeque::new();
        let mut record = |effects: Vec<Effect>, open: &mut VecDeque<u64>| {
            for e in effects {
                match e {
                    Effect::TaskCreated(t) => open.push_back(t.id),
                    Effect::History(HistoryEvent::ActivityCompleted { node }) => history.push(node),
                    Effect::IncidentRaised { message, .. } => panic!("incident: {message}"),
                    _ => {}
                }
            }
        };
        record(effects, &mut open_tasks);
        // Work the open tasks in an order the test chose.
        let mut pick = order.into_iter().cycle();
        while !open_tasks.is_empty() {
            let i = pick.next().unwrap_or(0) as usize % open_tasks.len();
            let task = open_tasks.remove(i).expect("index in range");
            let effects = executor::step(def, &mut inst, Command::CompleteTask { task, variables: Variables::new() }, now).expect("task completes");
            record(effects, &mut open_tasks);
        }
        prop_assert_eq!(inst.state, InstanceState::Completed, "{}", xml);
        prop_assert!(inst.tokens.is_empty(), "tokens left: {:?}", inst.tokens);
        prop_assert!(inst.subscriptions.is_empty());
        let mut got: BTreeMap<String, usize> = BTreeMap::new();
        for node in history {
            *got.entry(node).or_default() += 1;
        }
        for (node, n) in &expected {
            prop_assert_eq!(got.get(node).copied().unwrap_or(0), *n, "{} in\n{}", node, xml);
        }
        prop_assert_eq!(got.get("End").copied(), Some(1));
    }
}
