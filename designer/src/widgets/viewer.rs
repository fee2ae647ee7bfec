//! bpmn-js's navigated viewer (`designer/js/src/viewer.js`, global
//! `MillraceViewer`): a version's diagram, read-only, each element's state
//! marked and token counts on it. Loaded by the pages that show one.

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(js_namespace = MillraceViewer)]
    extern "C" {
        #[wasm_bindgen(catch)]
        pub fn mount(container: &web_sys::HtmlElement) -> Result<(), JsValue>;
        #[wasm_bindgen(catch)]
        pub async fn load(xml: &str) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch)]
        pub fn mark(states: &str, counts: &str) -> Result<(), JsValue>;
        pub fn destroy();
    }
}

#[cfg(feature = "hydrate")]
const SCRIPT: &str = "/assets/js/viewer.js";
#[cfg(feature = "hydrate")]
const STYLES: &[&str] = &["/assets/vendor/camunda-platform-modeler.css"];

/// Shows `xml` in `container`, each element of `states` (id → `active`,
/// `completed` or `incident`) marked and each of `counts` (id → tokens)
/// badged.
#[cfg(feature = "hydrate")]
pub async fn show(
    container: &web_sys::HtmlElement,
    xml: &str,
    states: &std::collections::BTreeMap<String, &'static str>,
    counts: &std::collections::BTreeMap<String, usize>,
) -> Result<(), String> {
    super::require(SCRIPT, STYLES).await?;
    js::mount(container).map_err(super::describe)?;
    js::load(xml).await.map_err(super::describe)?;
    let states = serde_json::to_string(states).map_err(|e| e.to_string())?;
    let counts = serde_json::to_string(counts).map_err(|e| e.to_string())?;
    js::mark(&states, &counts).map_err(super::describe)
}

/// Removes the viewer, if one is shown.
pub fn destroy() {
    #[cfg(feature = "hydrate")]
    js::destroy();
}
