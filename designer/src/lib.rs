//! Millrace's web app, in Leptos: every page is rendered on the server
//! (`ssr`: [`render_page`]) and hydrated in the browser from wasm
//! (`hydrate`: [`hydrate`]). Pages are routed by the server, one URL one
//! [`Page`]; the page's state (which page, who is signed in, the CSRF token)
//! travels as JSON in the document, so the server's render and the browser's
//! hydration start from the same value. Data is fetched from `/api` by the
//! browser, with the types of `millrace-api`, so the two sides cannot drift.
//!
//! JavaScript widgets (the bpmn-js modeler) sit behind one small facade
//! each, bound in `widgets/`; the server renders an empty container for them.

// Leptos views are deeply nested types; the default limit is too low for a table.
#![recursion_limit = "256"]

mod app;
mod http;
mod pages;
mod widgets;

#[cfg(feature = "ssr")]
mod render;

pub use app::{InboxFilter, InstanceFilter, Page, PageState};
#[cfg(feature = "ssr")]
pub use render::{asset, render_page, Asset};

/// Browser entry point, called by the page's module script once the wasm is loaded.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    let state = app::PageState::from_document();
    leptos::mount::hydrate_body(move || leptos::prelude::view! { <app::App state/> });
}
