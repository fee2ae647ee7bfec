//! The bpmn-js modeler with the Camunda 7 properties panel
//! (`designer/js/src/modeler.js`, global `MillraceModeler`).

/// A diagram problem or change to mark on the canvas.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Marks<'a> {
    /// Validation findings (the badge shows the worst per element).
    pub problems: &'a [millrace_api::DiagnosticOut],
    /// Elements added or changed since the deployed version.
    pub diff: Option<&'a millrace_api::DiffOut>,
    /// The path one scenario took (completed flow nodes).
    pub path: &'a [String],
    /// Flow nodes no scenario reached.
    pub unreached: &'a [String],
}

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(js_namespace = MillraceModeler)]
    extern "C" {
        pub fn mount(
            canvas: &web_sys::HtmlElement,
            panel: &web_sys::HtmlElement,
            on_change: &js_sys::Function,
            on_select: &js_sys::Function,
        );
        #[wasm_bindgen(catch)]
        pub async fn load(xml: &str) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch)]
        pub async fn save() -> Result<JsValue, JsValue>;
        #[wasm_bindgen(js_name = setMarkers)]
        pub fn set_markers(json: &str) -> String;
        pub fn select(id: &str) -> bool;
        #[wasm_bindgen(js_name = scriptOf)]
        pub fn script_of(id: &str) -> String;
        #[wasm_bindgen(js_name = setScript)]
        pub fn set_script(id: &str, text: &str);
        #[wasm_bindgen(js_name = formOf)]
        pub fn form_of(id: &str) -> String;
        #[wasm_bindgen(js_name = setFormRef)]
        pub fn set_form_ref(id: &str, form_ref: &str) -> bool;
        pub fn destroy();
    }
}

/// Mounts the modeler into `canvas` with its properties panel in `panel`.
/// `on_change` runs after every edit; `on_select` gets the selected element's id.
#[cfg(feature = "hydrate")]
pub fn mount(
    canvas: &web_sys::HtmlElement,
    panel: &web_sys::HtmlElement,
    on_change: impl Fn() + 'static,
    on_select: impl Fn(String) + 'static,
) {
    use wasm_bindgen::prelude::*;
    let change = Closure::<dyn Fn()>::new(on_change);
    let select = Closure::<dyn Fn(String)>::new(on_select);
    js::mount(
        canvas,
        panel,
        change.as_ref().unchecked_ref(),
        select.as_ref().unchecked_ref(),
    );
    // The modeler calls these for as long as the page lives.
    change.forget();
    select.forget();
}

/// Shows `xml`; the import's warnings, or why it could not be shown.
pub async fn load(xml: &str) -> Result<Vec<String>, String> {
    #[cfg(feature = "hydrate")]
    {
        let warnings = js::load(xml).await.map_err(super::describe)?;
        Ok(serde_json::from_str(&warnings.as_string().unwrap_or_default()).unwrap_or_default())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = xml;
        Err("the modeler runs in the browser only".into())
    }
}

/// The diagram as BPMN XML.
pub async fn save() -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        let xml = js::save().await.map_err(super::describe)?;
        xml.as_string()
            .ok_or_else(|| "the modeler gave no XML".into())
    }
    #[cfg(not(feature = "hydrate"))]
    Err("the modeler runs in the browser only".into())
}

/// Replaces the marks on the canvas; returns the element ids not on the diagram.
pub fn set_marks(marks: &Marks<'_>) -> Vec<String> {
    #[cfg(feature = "hydrate")]
    {
        let json = serde_json::to_string(marks).unwrap_or_default();
        serde_json::from_str(&js::set_markers(&json)).unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = marks;
        Vec::new()
    }
}

/// Selects an element and scrolls to it; false when it is not on the diagram.
pub fn select(id: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        js::select(id)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = id;
        false
    }
}

/// The Rhai an element carries inline: a condition or a script task's script.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct InlineScript {
    /// `condition` or `script`.
    pub kind: String,
    /// Its text.
    pub text: String,
}

/// The inline Rhai of element `id`, if it has any.
pub fn script_of(id: &str) -> Option<InlineScript> {
    #[cfg(feature = "hydrate")]
    {
        serde_json::from_str(&js::script_of(id)).ok().flatten()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = id;
        None
    }
}

/// Replaces the inline Rhai of element `id` (one undoable edit).
pub fn set_script(id: &str, text: &str) {
    #[cfg(feature = "hydrate")]
    js::set_script(id, text);
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, text);
}

/// The form element `id` declares: `Some("")` for a user task or start event
/// without `camunda:formRef`, `None` for an element that cannot have a form.
pub fn form_of(id: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Declared {
        form_ref: String,
    }
    #[cfg(feature = "hydrate")]
    {
        serde_json::from_str::<Option<Declared>>(&js::form_of(id))
            .ok()
            .flatten()
            .map(|d| d.form_ref)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = id;
        None::<Declared>.map(|d| d.form_ref)
    }
}

/// Sets element `id`'s `camunda:formRef` (one undoable edit).
pub fn set_form_ref(id: &str, form_ref: &str) {
    #[cfg(feature = "hydrate")]
    js::set_form_ref(id, form_ref);
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, form_ref);
}
