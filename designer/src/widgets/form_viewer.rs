//! The form-js viewer for a task's form (`designer/js/src/form-viewer.js`,
//! global `MillraceFormViewer`), loaded when a task has a form-js form.

use std::collections::BTreeMap;

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(js_namespace = MillraceFormViewer)]
    extern "C" {
        #[wasm_bindgen(catch)]
        pub async fn mount(
            container: &web_sys::HtmlElement,
            schema: &str,
            data: &str,
            on_change: &js_sys::Function,
        ) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch)]
        pub fn submit() -> Result<String, JsValue>;
        #[wasm_bindgen(catch)]
        pub fn values() -> Result<String, JsValue>;
        #[wasm_bindgen(js_name = setError)]
        pub fn set_error(key: &str, message: &str) -> bool;
        pub fn destroy();
    }
}

#[cfg(feature = "hydrate")]
const SCRIPT: &str = "/assets/js/form-viewer.js";
#[cfg(feature = "hydrate")]
const STYLES: &[&str] = &["/assets/vendor/form-js.css"];

/// What the user entered, once the form's own rules are checked.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
pub struct Submitted {
    /// The values, by variable name.
    pub data: serde_json::Map<String, serde_json::Value>,
    /// The form's own findings, by variable name (empty: it may be sent).
    pub errors: BTreeMap<String, Vec<String>>,
}

/// Shows `schema` (form-js JSON) in `container`, filled from `data` (a JSON
/// object); `on_change` runs after every edit.
#[cfg(feature = "hydrate")]
pub async fn mount(
    container: &web_sys::HtmlElement,
    schema: &str,
    data: &str,
    on_change: impl Fn() + 'static,
) -> Result<(), String> {
    use wasm_bindgen::prelude::*;
    super::require(SCRIPT, STYLES).await?;
    let change = Closure::<dyn Fn()>::new(on_change);
    let mounted = js::mount(container, schema, data, change.as_ref().unchecked_ref()).await;
    // The viewer calls it until it is destroyed; one closure per mount is kept.
    change.forget();
    mounted.map(|_| ()).map_err(super::describe)
}

/// Checks the form's rules (showing any failure on its field) and returns what was entered.
pub fn submit() -> Result<Submitted, String> {
    #[cfg(feature = "hydrate")]
    {
        let json = js::submit().map_err(super::describe)?;
        serde_json::from_str(&json).map_err(|e| format!("the form gave no values: {e}"))
    }
    #[cfg(not(feature = "hydrate"))]
    Err("the form runs in the browser only".into())
}

/// What has been entered so far, by variable name (the form's rules not checked).
pub fn values() -> Result<serde_json::Map<String, serde_json::Value>, String> {
    #[cfg(feature = "hydrate")]
    {
        let json = js::values().map_err(super::describe)?;
        serde_json::from_str(&json).map_err(|e| format!("the form gave no values: {e}"))
    }
    #[cfg(not(feature = "hydrate"))]
    Err("the form runs in the browser only".into())
}

/// Shows the server's `message` on the field of variable `key`; false when the form has no such field.
pub fn set_error(key: &str, message: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        js::set_error(key, message)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (key, message);
        false
    }
}

/// Removes the form (nothing when it was never loaded).
pub fn destroy() {
    #[cfg(feature = "hydrate")]
    {
        let loaded = js_sys::Reflect::get(&js_sys::global(), &"MillraceFormViewer".into())
            .is_ok_and(|v| !v.is_undefined());
        if loaded {
            js::destroy();
        }
    }
}
