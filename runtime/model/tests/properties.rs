//! Properties of reading and writing: any document we can read, we write
//! back so that it reads the same; no input makes the reader panic.

use millrace_model::xml::{self, Attr, Document, Element, Limits, Node};
use millrace_model::Model;
use proptest::prelude::*;

const BPMN: &str = "http://www.omg.org/spec/BPMN/20100524/MODEL";

fn text() -> impl Strategy<Value = String> {
    // Markup characters, whitespace and non-ASCII, which escaping must survive.
    proptest::string::string_regex("[a-zA-Z0-9 &<>\"'\\n\\t\\r=é€_-]{0,12}").expect("regex")
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("task".to_string()),
        Just("process".to_string()),
        Just("sequenceFlow".to_string()),
        Just("startEvent".to_string()),
        Just("extensionElements".to_string()),
        "[a-z][a-zA-Z]{0,6}",
    ]
}

fn element(depth: u32) -> BoxedStrategy<Element> {
    let attrs = || proptest::collection::btree_map("[a-z][a-zA-Z]{0,5}", text(), 0..4);
    let leaf = (name(), attrs()).prop_map(|(local, attrs)| make(local, attrs, Vec::new()));
    if depth == 0 {
        return leaf.boxed();
    }
    let child = prop_oneof![
        element(depth - 1).prop_map(Node::Element),
        text()
            .prop_filter("non-empty", |t| !t.is_empty())
            .prop_map(Node::Text),
        "[a-z ]{0,8}".prop_map(Node::Comment),
    ];
    (name(), attrs(), proptest::collection::vec(child, 0..4))
        .prop_map(|(local, attrs, children)| make(local, attrs, merge_text(children)))
        .boxed()
}

/// Adjacent text nodes read back as one, so the generator joins them too.
fn merge_text(children: Vec<Node>) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::new();
    for c in children {
        match (out.last_mut(), c) {
            (Some(Node::Text(prev)), Node::Text(t)) => prev.push_str(&t),
            (_, c) => out.push(c),
        }
    }
    out
}

fn make(
    local: String,
    attrs: std::collections::BTreeMap<String, String>,
    children: Vec<Node>,
) -> Element {
    Element {
        qname: format!("bpmn:{local}"),
        ns: Some(BPMN.into()),
        local,
        attrs: attrs
            .into_iter()
            .map(|(k, v)| Attr {
                qname: k.clone(),
                ns: None,
                local: k,
                value: v,
            })
            .collect(),
        children,
        pos: Default::default(),
    }
}

fn document(depth: u32) -> impl Strategy<Value = Document> {
    element(depth).prop_map(|mut root| {
        root.qname = "bpmn:definitions".into();
        root.local = "definitions".into();
        root.attrs.insert(
            0,
            Attr {
                qname: "xmlns:bpmn".into(),
                ns: None,
                local: "bpmn".into(),
                value: BPMN.into(),
            },
        );
        Document {
            declaration: None,
            prolog: Vec::new(),
            root,
            epilog: Vec::new(),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn write_then_read_gives_the_same_tree_and_model(doc in document(3)) {
        let written = xml::write(&doc);
        let model = Model::import(written.as_bytes()).expect("a written document reads back");
        prop_assert_eq!(xml::semantic_diff(&doc.root, &model.document.root), None);
        let again = Model::import(model.export().as_bytes()).expect("reads back twice");
        prop_assert_eq!(&model.definitions, &again.definitions);
        // Writing is a fixed point after one round.
        prop_assert_eq!(model.export(), again.export());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Model::import(&bytes);
    }

    #[test]
    fn mangled_bpmn_never_panics(cut in 0usize..4000, junk in "[<>&;/a-z\"= ]{0,6}") {
        let src = include_str!("../../../tests/fixtures/invalid/12-unsupported-elements.bpmn");
        let at = cut.min(src.len());
        let at = (0..=at).rev().find(|i| src.is_char_boundary(*i)).unwrap_or(0);
        let mangled = format!("{}{}{}", &src[..at], junk, &src[at..]);
        if let Ok(model) = Model::import(mangled.as_bytes()) {
            let _ = model.export();
        }
    }

    #[test]
    fn limits_are_errors_not_panics(depth in 1usize..300) {
        let doc = format!("<bpmn:definitions xmlns:bpmn=\"{BPMN}\">{}{}</bpmn:definitions>", "<a>".repeat(depth), "</a>".repeat(depth));
        let limits = Limits::default();
        let result = Model::import_with(doc.as_bytes(), &limits);
        prop_assert_eq!(result.is_ok(), depth < limits.max_depth);
    }
}
