//! The flow graph of a process as a petgraph graph: one node per flow node
//! (sub-processes' inner nodes included), one edge per sequence flow, plus
//! the implicit edges that BPMN control flow follows without a sequence flow
//! (a host activity to its boundary events, a sub-process to its start
//! events, a link throw to its catch).

use std::collections::HashMap;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::Dfs;

use crate::bpmn::{EventDefinitionKind, FlowNode, FlowNodeKind, Process, Scope};

/// Why an edge is in the graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EdgeKind {
    /// A sequence flow, by id.
    SequenceFlow(String),
    /// A host activity to one of its boundary events.
    Boundary,
    /// A sub-process to a start event of its inner scope.
    Enter,
    /// A link throw event to the catch event of the same link name.
    Link,
}

/// A process's flow graph.
#[derive(Debug, Clone)]
pub struct FlowGraph<'a> {
    /// The graph; node weights are the flow nodes.
    pub graph: DiGraph<&'a FlowNode, EdgeKind>,
    /// Node index by flow-node id.
    pub index: HashMap<&'a str, NodeIndex>,
}

impl<'a> FlowGraph<'a> {
    /// Builds the graph of one process.
    pub fn of(process: &'a Process) -> Self {
        let mut g = FlowGraph {
            graph: DiGraph::new(),
            index: HashMap::new(),
        };
        g.add_nodes(&process.scope);
        g.add_edges(&process.scope);
        g
    }

    fn add_nodes(&mut self, scope: &'a Scope) {
        for n in &scope.nodes {
            let ix = self.graph.add_node(n);
            self.index.entry(n.id.as_str()).or_insert(ix);
            if let Some(inner) = n.kind.scope() {
                self.add_nodes(inner);
            }
        }
    }

    fn add_edges(&mut self, scope: &'a Scope) {
        for f in &scope.flows {
            if let (Some(&a), Some(&b)) = (
                self.index.get(f.source.as_str()),
                self.index.get(f.target.as_str()),
            ) {
                self.graph
                    .add_edge(a, b, EdgeKind::SequenceFlow(f.id.clone()));
            }
        }
        let mut link_catch: HashMap<&str, NodeIndex> = HashMap::new();
        for n in &scope.nodes {
            if let FlowNodeKind::IntermediateCatchEvent { definitions } = &n.kind {
                for d in definitions {
                    if let EventDefinitionKind::Link { name: Some(name) } = &d.kind {
                        if let Some(&ix) = self.index.get(n.id.as_str()) {
                            link_catch.insert(name.as_str(), ix);
                        }
                    }
                }
            }
        }
        for n in &scope.nodes {
            let Some(&ix) = self.index.get(n.id.as_str()) else {
                continue;
            };
            match &n.kind {
                FlowNodeKind::BoundaryEvent { attached_to, .. } => {
                    if let Some(&host) = self.index.get(attached_to.as_str()) {
                        self.graph.add_edge(host, ix, EdgeKind::Boundary);
                    }
                }
                FlowNodeKind::IntermediateThrowEvent { definitions } => {
                    for d in definitions {
                        if let EventDefinitionKind::Link { name: Some(name) } = &d.kind {
                            if let Some(&target) = link_catch.get(name.as_str()) {
                                self.graph.add_edge(ix, target, EdgeKind::Link);
                            }
                        }
                    }
                }
                _ => {}
            }
            if let Some(inner) = n.kind.scope() {
                for start in inner
                    .nodes
                    .iter()
                    .filter(|s| matches!(s.kind, FlowNodeKind::StartEvent { .. }))
                {
                    if let Some(&s) = self.index.get(start.id.as_str()) {
                        self.graph.add_edge(ix, s, EdgeKind::Enter);
                    }
                }
                self.add_edges(inner);
            }
        }
    }

    /// The ids of the nodes reachable from `roots` (the roots included).
    pub fn reachable_from(&self, roots: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        let mut seen = vec![false; self.graph.node_count()];
        for r in roots {
            if let Some(&ix) = self.index.get(r) {
                let mut dfs = Dfs::new(&self.graph, ix);
                while let Some(n) = dfs.next(&self.graph) {
                    seen[n.index()] = true;
                }
            }
        }
        self.graph
            .node_indices()
            .filter(|ix| seen[ix.index()])
            .map(|ix| self.graph[ix].id.as_str())
            .collect()
    }
}
