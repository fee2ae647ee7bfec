//! The page model shared by both sides, the layout, and the page dispatch.

use leptos::prelude::*;
use millrace_api::Me;
use serde::{Deserialize, Serialize};

use crate::pages;

/// Which page a URL shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "page", rename_all = "camelCase")]
pub enum Page {
    /// Sign-in, then back to `next`.
    Login {
        /// Where to go after signing in.
        next: String,
        /// Why the user is here (an ended session).
        notice: Option<String>,
    },
    /// The process library.
    Library,
    /// The modeler on one process's draft.
    Designer {
        /// Process key.
        key: String,
    },
    /// The user's tasks.
    Inbox,
    /// One task with its form.
    Task {
        /// The task's id.
        id: String,
    },
    /// Starting a process: its start event's form.
    Start {
        /// Process key.
        key: String,
    },
    /// The signed-in user may not see this page.
    Forbidden {
        /// What they tried to open.
        what: String,
    },
    /// No such page.
    NotFound {
        /// The path asked for.
        path: String,
    },
}

impl Page {
    /// The document title.
    pub fn title(&self) -> String {
        match self {
            Page::Login { .. } => "Sign in".into(),
            Page::Library => "Processes".into(),
            Page::Designer { key } => format!("{key} · Designer"),
            Page::Inbox => "Inbox".into(),
            Page::Task { .. } => "Task".into(),
            Page::Start { key } => format!("New {key}"),
            Page::Forbidden { .. } => "Not allowed".into(),
            Page::NotFound { .. } => "Not found".into(),
        }
    }

    /// Whether the page needs the bpmn-js modeler's scripts.
    pub fn uses_modeler(&self) -> bool {
        matches!(self, Page::Designer { .. })
    }
}

/// Everything a page starts from, the same on the server and in the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageState {
    /// The page.
    pub page: Page,
    /// Who is signed in, with the session's CSRF token.
    pub me: Option<Me>,
}

impl PageState {
    /// The id of the `<script type="application/json">` element that carries the state.
    pub const ELEMENT_ID: &'static str = "millrace-state";

    /// Reads the state the server wrote into the document.
    #[cfg(feature = "hydrate")]
    pub fn from_document() -> PageState {
        let text = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(Self::ELEMENT_ID))
            .and_then(|e| e.text_content())
            .unwrap_or_default();
        serde_json::from_str(&text).unwrap_or(PageState {
            page: Page::NotFound {
                path: "(the page's state is missing)".into(),
            },
            me: None,
        })
    }
}

/// An RFC 3339 time as a person reads it in a list: `2026-12-01 11:17` (UTC).
pub fn short_time(t: &str) -> String {
    t.get(..16).unwrap_or(t).replace('T', " ")
}

/// The signed-in user and CSRF token, for every component below the layout.
#[derive(Debug, Clone)]
pub struct Session(pub Option<Me>);

impl Session {
    /// The CSRF token of the signed-in session.
    pub fn csrf(&self) -> String {
        self.0
            .as_ref()
            .and_then(|m| m.csrf_token.clone())
            .unwrap_or_default()
    }
}

/// The root: layout around the page.
#[component]
pub fn App(state: PageState) -> impl IntoView {
    provide_context(Session(state.me.clone()));
    let page = state.page.clone();
    let body = match page.clone() {
        Page::Login { next, notice } => view! { <pages::login::Login next notice/> }.into_any(),
        Page::Library => view! { <pages::library::Library/> }.into_any(),
        Page::Designer { key } => view! { <pages::designer::Designer key/> }.into_any(),
        Page::Inbox => view! { <pages::inbox::Inbox/> }.into_any(),
        Page::Task { id } => view! { <pages::task::Task id/> }.into_any(),
        Page::Start { key } => view! { <pages::start::Start key/> }.into_any(),
        Page::Forbidden { what } => view! { <pages::errors::Forbidden what/> }.into_any(),
        Page::NotFound { path } => view! { <pages::errors::NotFound path/> }.into_any(),
    };
    view! {
        <Header me=state.me.clone() page/>
        <main id="main" class="page">{body}</main>
    }
}

/// The top bar: the product, the sections this user may use, who is signed in.
#[component]
fn Header(me: Option<Me>, page: Page) -> impl IntoView {
    let section = match page {
        Page::Library | Page::Designer { .. } => "designer",
        Page::Inbox | Page::Task { .. } | Page::Start { .. } => "inbox",
        _ => "",
    };
    let links = me
        .as_ref()
        .map(|me| {
            let mut l = Vec::new();
            if me.may_design() {
                l.push(("designer", "/designer", "Designer"));
            }
            if me.may_work_tasks() {
                l.push(("inbox", "/inbox", "Inbox"));
            }
            l
        })
        .unwrap_or_default();
    let nav = links
        .into_iter()
        .map(|(id, href, label)| {
            let current = (id == section).then_some("page");
            view! { <a href=href class="nav-link" aria-current=current>{label}</a> }
        })
        .collect_view();
    let user = me.map(|me| {
        let label = format!("{} ({})", me.user, me.role);
        let csrf = me.csrf_token.clone().unwrap_or_default();
        view! {
            <span class="who">{label}</span>
            <button type="button" class="link" on:click=move |_| crate::http::sign_out(csrf.clone())>
                "Sign out"
            </button>
        }
    });
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Millrace"</a>
            <nav aria-label="Sections">{nav}</nav>
            <div class="user">{user}</div>
        </header>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_shown_to_the_minute() {
        assert_eq!(
            super::short_time("2026-12-01T11:17:00.940572Z"),
            "2026-12-01 11:17"
        );
        assert_eq!(super::short_time("soon"), "soon");
    }
}
