//! The server side: a page as a whole HTML document, and the files served
//! under `/assets/` (built by `build.rs`).

use leptos::prelude::*;
use leptos::tachys::view::RenderHtml;

use crate::app::{App, PageState};

mod table {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// Renders a page: the layout and the page's server-side HTML, the state the
/// browser hydrates from, and the scripts that page needs.
pub fn render_page(state: &PageState) -> String {
    let owner = Owner::new();
    let body = owner.with(|| {
        let state = state.clone();
        view! { <App state/> }.to_html()
    });
    // The state sits in a JSON script element; `</` cannot end it early.
    let json = serde_json::to_string(state)
        .unwrap_or_else(|_| "null".into())
        .replace("</", "<\\/");
    let title = escape(&state.page.title());
    let modeler = if state.page.uses_modeler() {
        concat!(
            r#"<link rel="stylesheet" href="/assets/vendor/camunda-platform-modeler.css">"#,
            r#"<link rel="stylesheet" href="/assets/vendor/bpmn-js-bpmnlint.css">"#,
            r#"<link rel="stylesheet" href="/assets/vendor/bpmn-js-token-simulation.css">"#,
            r#"<script src="/assets/vendor/camunda-platform-modeler.js" defer></script>"#,
            r#"<script src="/assets/js/modeler.js" defer></script>"#,
        )
    } else {
        ""
    };
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title} · Millrace</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/app.css">{modeler}<script id="{id}" type="application/json">{json}</script><script type="module">import init, {{ hydrate }} from '/assets/wasm/millrace_designer.js'; await init({{ module_or_path: '/assets/wasm/millrace_designer_bg.wasm' }}); hydrate();</script></head><body>{body}</body></html>"#,
        id = PageState::ELEMENT_ID,
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A file served under `/assets/`.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// Its bytes.
    pub bytes: &'static [u8],
    /// Its media type.
    pub content_type: &'static str,
}

/// The file at `path` below `/assets/`.
pub fn asset(path: &str) -> Option<Asset> {
    let bytes = table::FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(_, b)| *b)?;
    let content_type = match path.rsplit('.').next() {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("txt") => "text/plain; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    Some(Asset {
        bytes,
        content_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::Page;

    #[test]
    fn a_page_carries_its_state_and_cannot_be_broken_out_of() {
        let state = PageState {
            page: Page::NotFound {
                path: "/x</script><script>alert(1)</script>".into(),
            },
            me: None,
        };
        let html = render_page(&state);
        assert!(html.contains(r#"<script id="millrace-state" type="application/json">"#));
        assert!(!html.contains("</script><script>alert(1)"));
        assert!(html.contains("Not found"));
    }

    #[test]
    fn the_designer_page_loads_the_modeler_and_others_do_not() {
        let designer = PageState {
            page: Page::Designer { key: "p".into() },
            me: None,
        };
        assert!(render_page(&designer).contains("/assets/js/modeler.js"));
        let login = PageState {
            page: Page::Login {
                next: "/".into(),
                notice: None,
            },
            me: None,
        };
        assert!(!render_page(&login).contains("modeler.js"));
    }

    #[test]
    fn every_asset_the_pages_name_is_served() {
        for path in [
            "app.css",
            "vendor/camunda-platform-modeler.css",
            "vendor/camunda-platform-modeler.js",
            "vendor/bpmn-js-bpmnlint.css",
            "js/modeler.js",
            "js/code-editor.js",
            "vendor/bpmn-js-token-simulation.css",
            // Loaded when used: the code editor and the form editor (designer), the form viewer (a task's form).
            "js/form-editor.js",
            "vendor/form-js-editor.css",
            "js/form-viewer.js",
            "vendor/form-js.css",
            // The operations pages' diagram viewer.
            "js/viewer.js",
            "wasm/millrace_designer.js",
            "wasm/millrace_designer_bg.wasm",
        ] {
            assert!(asset(path).is_some_and(|a| !a.bytes.is_empty()), "{path}");
        }
        assert!(asset("../Cargo.toml").is_none());
    }
}
