//! JavaScript widgets, one module per library, each bound with
//! `wasm_bindgen` to the small facade `designer/js/src/<name>.js` builds
//! (mount, load, save, set markers, destroy; strings and JSON across). On
//! the server these are inert: the page renders an empty container and the
//! browser mounts the widget after hydration.

pub mod code_editor;
pub mod form_editor;
pub mod form_viewer;
pub mod modeler;
pub mod viewer;

/// Loads a widget's script (and its stylesheets) into the page the first time
/// a page asks for it, so a page carries a large library only when it is used
/// (the form editor is opened, a task has a form-js form).
#[cfg(feature = "hydrate")]
async fn require(script: &str, styles: &[&str]) -> Result<(), String> {
    use wasm_bindgen::prelude::*;
    use wasm_bindgen::JsCast;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let head = document.head().ok_or("the page has no head")?;
    for href in styles {
        let selector = format!("link[href=\"{href}\"]");
        if document.query_selector(&selector).ok().flatten().is_none() {
            let link = document
                .create_element("link")
                .map_err(|_| "cannot add a stylesheet")?;
            let _ = link.set_attribute("rel", "stylesheet");
            let _ = link.set_attribute("href", href);
            let _ = head.append_child(&link);
        }
    }
    let selector = format!("script[src=\"{script}\"]");
    if let Some(existing) = document.query_selector(&selector).ok().flatten() {
        if existing.get_attribute("data-loaded").is_some() {
            return Ok(());
        }
    }
    let element = document
        .create_element("script")
        .map_err(|_| "cannot add a script")?;
    let loaded = js_sys::Promise::new(&mut |resolve, reject| {
        let on_load = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let on_error = Closure::once_into_js(move || {
            let _ = reject.call0(&JsValue::NULL);
        });
        let _ = element.add_event_listener_with_callback("load", on_load.unchecked_ref());
        let _ = element.add_event_listener_with_callback("error", on_error.unchecked_ref());
    });
    let _ = element.set_attribute("src", script);
    let _ = head.append_child(&element);
    wasm_bindgen_futures::JsFuture::from(loaded)
        .await
        .map_err(|_| format!("{script} could not be loaded"))?;
    let _ = element.set_attribute("data-loaded", "");
    Ok(())
}

#[cfg(feature = "hydrate")]
fn describe(e: wasm_bindgen::JsValue) -> String {
    js_sys::Reflect::get(&e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
