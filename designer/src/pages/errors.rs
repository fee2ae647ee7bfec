//! The pages for a refused or unknown address.

use leptos::prelude::*;

/// 403: signed in, but this page is not for this user's role.
#[component]
pub fn Forbidden(what: String) -> impl IntoView {
    view! {
        <section class="notice-page" aria-labelledby="err-title">
            <h1 id="err-title">"Not allowed"</h1>
            <p>"Your role may not open " <strong>{what}</strong> ". Ask an administrator if you need it."</p>
            <p><a href="/">"Back to the start page"</a></p>
        </section>
    }
}

/// 404.
#[component]
pub fn NotFound(path: String) -> impl IntoView {
    view! {
        <section class="notice-page" aria-labelledby="err-title">
            <h1 id="err-title">"Not found"</h1>
            <p>"There is no page at " <code>{path}</code> "."</p>
            <p><a href="/">"Back to the start page"</a></p>
        </section>
    }
}
