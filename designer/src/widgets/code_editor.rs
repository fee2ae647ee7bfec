//! The code editor: CodeMirror 6 with a Rhai mode, or plain for named-query
//! files and document templates (`designer/js/src/code-editor.js`, global
//! `MillraceCodeEditor`), loaded the first time a script or file is opened.

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(js_namespace = MillraceCodeEditor)]
    extern "C" {
        pub fn mount(
            parent: &web_sys::HtmlElement,
            text: &str,
            label: &str,
            on_change: &js_sys::Function,
            language: &str,
        );
        #[wasm_bindgen(js_name = setProblems)]
        pub fn set_problems(json: &str);
    }
}

/// How the editor shows its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Rhai, highlighted.
    Rhai,
    /// Any other text (SQL, Typst), unhighlighted.
    Plain,
}

/// Mounts the editor in `parent` with `text`; `on_change` gets the text after every edit.
#[cfg(feature = "hydrate")]
pub async fn mount(
    parent: &web_sys::HtmlElement,
    text: &str,
    label: &str,
    language: Language,
    on_change: impl Fn(String) + 'static,
) -> Result<(), String> {
    use wasm_bindgen::prelude::*;
    super::require("/assets/js/code-editor.js", &[]).await?;
    let change = Closure::<dyn Fn(String)>::new(on_change);
    let language = match language {
        Language::Rhai => "rhai",
        Language::Plain => "plain",
    };
    js::mount(
        parent,
        text,
        label,
        change.as_ref().unchecked_ref(),
        language,
    );
    // The editor calls it until it is destroyed; one closure per mount is kept.
    change.forget();
    Ok(())
}

/// Marks where the text does not compile (replaces earlier marks).
pub fn set_problems(problems: &[millrace_api::ScriptProblem]) {
    #[cfg(feature = "hydrate")]
    {
        // Nothing to mark before the editor has been loaded.
        let loaded = js_sys::Reflect::get(&js_sys::global(), &"MillraceCodeEditor".into())
            .is_ok_and(|v| !v.is_undefined());
        if loaded {
            js::set_problems(&serde_json::to_string(problems).unwrap_or_else(|_| "[]".into()));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = problems;
}
