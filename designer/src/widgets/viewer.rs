//! bpmn-js's navigated viewer (`designer/js/src/viewer.js`, global
//! `MillraceViewer`): a version's diagram, read-only, each element's state
//! marked and token counts on it. Loaded by the pages that show one.

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(js_namespace = MillraceViewer)]
    extern "C" {
        #[wasm_bindgen(catch)]
        pub fn mount(container: &web_sys::HtmlElement, slot: &str) -> Result<(), JsValue>;
        #[wasm_bindgen(catch)]
        pub async fn load(xml: &str, slot: &str) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch)]
        pub fn mark(states: &str, counts: &str, slot: &str) -> Result<(), JsValue>;
        #[wasm_bindgen(catch, js_name = onClick)]
        pub fn on_click(callback: &js_sys::Function, slot: &str) -> Result<(), JsValue>;
        #[wasm_bindgen(catch)]
        pub fn heat(nodes: &str, flows: &str, slot: &str) -> Result<(), JsValue>;
        pub fn destroy();
    }
}

#[cfg(feature = "hydrate")]
const SCRIPT: &str = "/assets/js/viewer.js";
#[cfg(feature = "hydrate")]
const STYLES: &[&str] = &["/assets/vendor/camunda-platform-modeler.css"];

/// A flow node of the diagram shown, for pages that let one pick an element.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct DiagramNode {
    /// The BPMN id.
    pub id: String,
    /// Its name, empty when it has none.
    pub name: String,
    /// Its BPMN type without the prefix (`UserTask`, `ExclusiveGateway`).
    #[serde(rename = "type")]
    pub kind: String,
}

impl DiagramNode {
    /// How a picker lists it: the name and the id, or the type and the id.
    pub fn label(&self) -> String {
        if self.name.trim().is_empty() {
            format!("{} ({})", self.id, self.kind)
        } else {
            format!("{} ({})", self.name.trim(), self.id)
        }
    }
}

/// Shows `xml` in `container`, each element of `states` (id → `active`,
/// `completed` or `incident`) marked and each of `counts` (id → tokens)
/// badged. Answers the diagram's flow nodes.
#[cfg(feature = "hydrate")]
pub async fn show(
    container: &web_sys::HtmlElement,
    xml: &str,
    states: &std::collections::BTreeMap<String, &'static str>,
    counts: &std::collections::BTreeMap<String, usize>,
) -> Result<Vec<DiagramNode>, String> {
    show_in(MAIN, container, xml, states, counts).await
}

/// The viewer a page shows when it shows one.
#[cfg(feature = "hydrate")]
const MAIN: &str = "main";

/// [`show`] in the viewer named `slot`, for pages that show several
/// diagrams side by side (each slot its own viewer; [`destroy`] removes all).
#[cfg(feature = "hydrate")]
pub async fn show_in(
    slot: &str,
    container: &web_sys::HtmlElement,
    xml: &str,
    states: &std::collections::BTreeMap<String, &'static str>,
    counts: &std::collections::BTreeMap<String, usize>,
) -> Result<Vec<DiagramNode>, String> {
    super::require(SCRIPT, STYLES).await?;
    js::mount(container, slot).map_err(super::describe)?;
    let nodes = js::load(xml, slot).await.map_err(super::describe)?;
    let nodes: Vec<DiagramNode> = nodes
        .as_string()
        .and_then(|n| serde_json::from_str(&n).ok())
        .unwrap_or_default();
    let states = serde_json::to_string(states).map_err(|e| e.to_string())?;
    let counts = serde_json::to_string(counts).map_err(|e| e.to_string())?;
    js::mark(&states, &counts, slot).map_err(super::describe)?;
    Ok(nodes)
}

/// Runs `callback` with an element's id whenever a flow node of the shown
/// diagram is clicked.
#[cfg(feature = "hydrate")]
pub fn on_click(callback: impl Fn(String) + 'static) -> Result<(), String> {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    let click = Closure::<dyn Fn(String)>::new(callback);
    let r = js::on_click(click.as_ref().unchecked_ref(), MAIN).map_err(super::describe);
    // The viewer holds the callback until the page destroys it.
    click.forget();
    r
}

/// A heatmap over the shown diagram: `nodes` is element id → (heat 0 to 5,
/// badge text, tooltip), `flows` sequence flow id → times taken.
#[cfg(feature = "hydrate")]
pub fn heat(
    nodes: &std::collections::BTreeMap<String, (u8, String, String)>,
    flows: &std::collections::BTreeMap<String, i64>,
) -> Result<(), String> {
    let nodes: serde_json::Map<String, serde_json::Value> = nodes
        .iter()
        .map(|(id, (heat, text, title))| {
            (
                id.clone(),
                serde_json::json!({ "heat": heat, "text": text, "title": title }),
            )
        })
        .collect();
    let nodes = serde_json::Value::Object(nodes).to_string();
    let flows = serde_json::to_string(flows).map_err(|e| e.to_string())?;
    js::heat(&nodes, &flows, MAIN).map_err(super::describe)
}

/// Removes every viewer the page shows.
pub fn destroy() {
    #[cfg(feature = "hydrate")]
    js::destroy();
}
