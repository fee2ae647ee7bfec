//! One module per page.

pub mod action;
pub mod admin;
pub mod batches;
pub mod dashboard;
pub mod designer;
pub mod errors;
pub mod inbox;
pub mod library;
pub mod login;
pub mod notes;
pub mod operations;
pub mod reports;
pub mod request;
pub mod settings;
pub mod start;
pub mod task;

use leptos::prelude::*;

/// The process keys deployed, read once the page has hydrated (for a filter's
/// process choice).
pub(crate) fn load_process_keys(into: RwSignal<Vec<String>>) {
    leptos::task::spawn_local(async move {
        if let Ok(list) =
            crate::http::get::<Vec<millrace_api::DefinitionOut>>("/api/process-definitions").await
        {
            let mut keys: Vec<String> = list.into_iter().map(|d| d.key).collect();
            keys.dedup();
            into.set(keys);
        }
    });
}

/// A filter form's process choice (`name="process"`): "Any", and every key
/// deployed, `chosen` selected (kept even before the keys have arrived).
pub(crate) fn process_select(chosen: String, processes: RwSignal<Vec<String>>) -> impl IntoView {
    view! {
        <label for="filter-process">"Process"</label>
        <select id="filter-process" name="process">
            <option value="" selected=chosen.is_empty()>"Any"</option>
            {move || {
                let chosen = chosen.clone();
                let mut keys = processes.get();
                if !chosen.is_empty() && !keys.contains(&chosen) {
                    keys.push(chosen.clone());
                }
                keys.into_iter()
                    .map(|k| {
                        let selected = k == chosen;
                        view! { <option value=k.clone() selected=selected>{k.clone()}</option> }
                    })
                    .collect_view()
            }}
        </select>
    }
}
