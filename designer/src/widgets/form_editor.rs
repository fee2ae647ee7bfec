//! The form-js editor with a live preview (`designer/js/src/form-editor.js`,
//! global `MillraceFormEditor`), loaded the first time a form is opened.

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(js_namespace = MillraceFormEditor)]
    extern "C" {
        #[wasm_bindgen(catch)]
        pub async fn mount(
            container: &web_sys::HtmlElement,
            preview: &web_sys::HtmlElement,
            schema: &str,
            on_change: &js_sys::Function,
        ) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch)]
        pub fn save() -> Result<String, JsValue>;
        pub fn destroy();
    }
}

/// Where the editor's script and stylesheets are served.
#[cfg(feature = "hydrate")]
const SCRIPT: &str = "/assets/js/form-editor.js";
#[cfg(feature = "hydrate")]
const STYLES: &[&str] = &[
    "/assets/vendor/form-js.css",
    "/assets/vendor/form-js-editor.css",
];

/// Opens `schema` (form-js JSON) in the editor in `container`, its preview in
/// `preview`; `on_change` runs after every edit.
#[cfg(feature = "hydrate")]
pub async fn mount(
    container: &web_sys::HtmlElement,
    preview: &web_sys::HtmlElement,
    schema: &str,
    on_change: impl Fn() + 'static,
) -> Result<(), String> {
    use wasm_bindgen::prelude::*;
    super::require(SCRIPT, STYLES).await?;
    let change = Closure::<dyn Fn()>::new(on_change);
    let mounted = js::mount(container, preview, schema, change.as_ref().unchecked_ref()).await;
    // The editor calls it until it is destroyed; one closure per mount is kept.
    change.forget();
    mounted.map(|_| ()).map_err(super::describe)
}

/// The edited form as form-js JSON.
pub fn save() -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        js::save().map_err(super::describe)
    }
    #[cfg(not(feature = "hydrate"))]
    Err("the form editor runs in the browser only".into())
}

/// Removes the editor and its preview (nothing when it was never loaded).
pub fn destroy() {
    #[cfg(feature = "hydrate")]
    {
        let loaded = js_sys::Reflect::get(&js_sys::global(), &"MillraceFormEditor".into())
            .is_ok_and(|v| !v.is_undefined());
        if loaded {
            js::destroy();
        }
    }
}
