//! Sign-in.

use leptos::prelude::*;
use millrace_api::{LoginRequest, Me};

use crate::http;

/// The sign-in form; on success, to `next`.
#[component]
pub fn Login(next: String, notice: Option<String>) -> impl IntoView {
    // Read from the fields at submit, not bound to signals: what was typed
    // (or filled in by a password manager) before the page hydrated stays.
    let username = NodeRef::<leptos::html::Input>::new();
    let password = NodeRef::<leptos::html::Input>::new();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let next_field = next.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let next = next.clone();
        let value = |field: NodeRef<leptos::html::Input>| {
            field.get_untracked().map(|f| f.value()).unwrap_or_default()
        };
        let req = LoginRequest {
            username: value(username),
            password: value(password),
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            match http::send::<_, Me>("POST", "/api/login", &req, "").await {
                Ok(_) => http::navigate(if next.starts_with('/') { &next } else { "/" }),
                Err(f) => {
                    error.set(Some(f.reason()));
                    busy.set(false);
                }
            }
        });
    };
    view! {
        <section class="login" aria-labelledby="login-title">
            <h1 id="login-title">"Sign in to Millrace"</h1>
            {notice.map(|n| view! { <p class="banner info" role="status">{n}</p> })}
            // Without the page's script (or before it has loaded) the form posts
            // to the server, never as a query string.
            <form method="post" action="/login" on:submit=submit>
                <input type="hidden" name="next" value=next_field/>
                <label for="username">"User name"</label>
                <input id="username" name="username" autocomplete="username" required node_ref=username/>
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required
                    node_ref=password/>
                <Show when=move || error.get().is_some()>
                    <p class="banner error" role="alert">{move || error.get().unwrap_or_default()}</p>
                </Show>
                <button type="submit" class="primary" disabled=move || busy.get()>"Sign in"</button>
            </form>
        </section>
    }
}
