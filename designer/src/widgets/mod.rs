//! JavaScript widgets, one module per library, each bound with
//! `wasm_bindgen` to the small facade `designer/js/src/<name>.js` builds
//! (mount, load, save, set markers, destroy; strings and JSON across). On
//! the server these are inert: the page renders an empty container and the
//! browser mounts the widget after hydration.

pub mod code_editor;
pub mod modeler;
