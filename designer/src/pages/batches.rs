//! Version migration and batch operations (administrators). The migration
//! page shows both versions side by side, maps the old version's elements
//! that hold tokens to the new one's (same ids at once, the rest by hand),
//! previews which instances can move and why the others cannot, and starts
//! the batch; the batch pages show progress and each item's result, live,
//! with a Stop button.

use std::collections::BTreeMap;

use leptos::prelude::*;
use millrace_api::{BatchDetail, BatchOut, DefinitionOut, MigrationPlanIn, MigrationPreview};

use crate::app::{short_time, Session};
use crate::http;

/// `/operations/migrate/{key}?from=1&to=2`.
#[component]
pub fn Migration(key: String, from: Option<i64>, to: Option<i64>) -> impl IntoView {
    let session = expect_context::<Session>();
    let csrf = StoredValue::new(session.csrf());
    let key = StoredValue::new(key);
    let versions = RwSignal::new(None::<Result<Vec<DefinitionOut>, String>>);
    let from_v = RwSignal::new(from);
    let to_v = RwSignal::new(to);
    // Only what the administrator chose by hand; the rest maps by id.
    let chosen = RwSignal::new(BTreeMap::<String, String>::new());
    let preview = RwSignal::new(None::<Result<MigrationPreview, String>>);
    let notice = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let left = NodeRef::<leptos::html::Div>::new();
    let right = NodeRef::<leptos::html::Div>::new();

    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            let url = format!(
                "/api/process-definitions?{}",
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("key", &key.get_value())
                    .finish()
            );
            let r = http::get::<Vec<DefinitionOut>>(&url).await;
            let r = r.map(|all| {
                let mut mine: Vec<DefinitionOut> = all
                    .into_iter()
                    .filter(|d| d.key == key.get_value())
                    .collect();
                mine.sort_by_key(|d| d.version);
                mine
            });
            if let Ok(list) = &r {
                // By default: from the oldest version with running instances to the newest.
                let newest = list.last().map(|d| d.version);
                if to_v.get_untracked().is_none() {
                    to_v.set(newest);
                }
                if from_v.get_untracked().is_none() {
                    let oldest_running = list
                        .iter()
                        .find(|d| d.running > 0 && Some(d.version) != newest)
                        .or_else(|| list.iter().rev().nth(1))
                        .map(|d| d.version);
                    from_v.set(oldest_running);
                }
            }
            versions.set(Some(r.map_err(|f| f.reason())));
        });
    });
    let plan = move || {
        Some(MigrationPlanIn {
            process_key: key.get_value(),
            from_version: from_v.get()?,
            to_version: to_v.get()?,
            mapping: chosen.get(),
            instance_ids: None,
        })
    };
    // The preview, read again whenever the versions or the mapping change.
    Effect::new(move |_| {
        let Some(p) = plan() else {
            return;
        };
        if p.from_version == p.to_version {
            preview.set(Some(Err("Choose two different versions.".into())));
            return;
        }
        leptos::task::spawn_local(async move {
            let r: Result<MigrationPreview, _> =
                http::send("POST", "/api/migrations/preview", &p, &csrf.get_value()).await;
            preview.set(Some(r.map_err(|f| f.reason())));
        });
    });
    // Both diagrams, drawn again when the versions change; the left one with
    // the running instances on its elements, the right one with where they go.
    Effect::new(move |_| {
        let (Some(l), Some(r), Some(f), Some(t), Some(Ok(p))) = (
            left.get(),
            right.get(),
            from_v.get(),
            to_v.get(),
            preview.get(),
        ) else {
            return;
        };
        let counts: BTreeMap<String, usize> = p
            .source_elements
            .iter()
            .filter(|e| e.instances > 0)
            .map(|e| (e.id.clone(), e.instances as usize))
            .collect();
        let states: BTreeMap<String, &'static str> =
            counts.keys().map(|id| (id.clone(), "active")).collect();
        let mut landing: BTreeMap<String, usize> = BTreeMap::new();
        for (source, target) in &p.mapping {
            *landing.entry(target.clone()).or_default() += counts.get(source).copied().unwrap_or(0);
        }
        let landed: BTreeMap<String, &'static str> =
            landing.keys().map(|id| (id.clone(), "active")).collect();
        let k = key.get_value();
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            for (slot, el, version, states, counts) in [
                ("from", l, f, states, counts),
                ("to", r, t, landed, landing),
            ] {
                let url = format!("/api/process-definitions/{k}/versions/{version}/xml");
                let shown = match http::get_text(&url).await {
                    Ok(xml) => {
                        crate::widgets::viewer::show_in(slot, &el, &xml, &states, &counts).await
                    }
                    Err(f) => Err(f.reason()),
                };
                if let Err(e) = shown {
                    notice.set(Some(format!("The diagram cannot be shown: {e}")));
                }
            }
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (l, r, f, t, states, counts, landed, landing, k);
    });
    on_cleanup(crate::widgets::viewer::destroy);

    let version_select = move |id: &'static str,
                               label: &'static str,
                               which: RwSignal<Option<i64>>| {
        view! {
            <label for=id>{label}</label>
            <select id=id on:change=move |ev| {
                which.set(event_target_value(&ev).parse().ok());
                chosen.set(BTreeMap::new());
            }>
                {move || match versions.get() {
                    Some(Ok(list)) => list.into_iter().map(|d| {
                        let v = d.version;
                        let text = format!(
                            "Version {v} · {} running{}",
                            d.running,
                            if d.retired { " · retired" } else { "" }
                        );
                        view! { <option value=v.to_string() selected=move || which.get() == Some(v)>{text}</option> }
                    }).collect_view().into_any(),
                    _ => ().into_any(),
                }}
            </select>
        }
    };
    let mapping_table = move || match preview.get() {
        Some(Ok(p)) => {
            let holding: Vec<_> = p
                .source_elements
                .iter()
                .filter(|e| e.instances > 0)
                .cloned()
                .collect();
            if holding.is_empty() {
                return view! { <p role="status">"No instance of this version is running: there is nothing to migrate."</p> }.into_any();
            }
            let targets = p.target_elements.clone();
            let full = p.mapping.clone();
            view! {
                <table class="grid" aria-label="Mapping">
                    <thead><tr><th>"Element of the old version"</th><th>"Instances there"</th><th>"Goes to"</th></tr></thead>
                    <tbody>
                        {holding.into_iter().map(|e| {
                            let source = e.id.clone();
                            let current = full.get(&source).cloned().unwrap_or_default();
                            let same_kind: Vec<_> = targets.iter().filter(|t| t.kind == e.kind).cloned().collect();
                            let label = match &e.name {
                                Some(n) => format!("{n} ({})", e.id),
                                None => format!("{} ({})", e.id, e.kind),
                            };
                            let select_id = format!("map-{}", e.id);
                            view! {
                                <tr>
                                    <td><label for=select_id.clone()>{label}</label></td>
                                    <td class="num">{e.instances}</td>
                                    <td>
                                        <select id=select_id on:change=move |ev| {
                                            let target = event_target_value(&ev);
                                            // "Not mapped" leaves it to the id, which the new version lacks.
                                            chosen.update(|m| {
                                                if target.is_empty() {
                                                    m.remove(&source);
                                                } else {
                                                    m.insert(source.clone(), target);
                                                }
                                            });
                                        }>
                                            <option value="" selected=current.is_empty()>"— not mapped —"</option>
                                            {same_kind.into_iter().map(|t| {
                                                let selected = t.id == current;
                                                let text = match &t.name {
                                                    Some(n) => format!("{n} ({})", t.id),
                                                    None => t.id.clone(),
                                                };
                                                view! { <option value=t.id.clone() selected=selected>{text}</option> }
                                            }).collect_view()}
                                        </select>
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }
        _ => ().into_any(),
    };
    let summary = move || match preview.get() {
        None => view! { <p role="status">"Working out which instances can move…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(p)) => {
            let listed = p.instances.len() as i64;
            let more = (p.movable + p.refused > listed)
                .then(|| view! { <p class="hint">{format!("The first {listed} are listed, those that cannot move first.")}</p> });
            view! {
                <p role="status" class="migration-summary">
                    <strong>{format!("{} can move", p.movable)}</strong>
                    {format!(" · {} cannot", p.refused)}
                </p>
                {more}
                <table class="grid" aria-label="Instances to migrate">
                    <thead><tr><th>"Instance"</th><th>"Business key"</th><th>"At"</th><th>"Outcome"</th></tr></thead>
                    <tbody>
                        {p.instances.into_iter().map(|c| {
                            let outcome = match c.refusal {
                                None => view! { <span class="badge ok">"can move"</span> }.into_any(),
                                Some(r) => view! { <span class="refusal">{r}</span> }.into_any(),
                            };
                            view! {
                                <tr>
                                    <td><a href=format!("/operations/instances/{}", c.id)><code>{c.id.clone()}</code></a></td>
                                    <td>{c.business_key.unwrap_or_default()}</td>
                                    <td>{c.at.join(", ")}</td>
                                    <td>{outcome}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }
    };
    let movable = move || {
        preview.with(|p| {
            p.as_ref()
                .and_then(|p| p.as_ref().ok())
                .map_or(0, |p| p.movable)
        })
    };
    let start = move |_| {
        let Some(p) = plan() else {
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let r: Result<BatchOut, _> =
                http::send("POST", "/api/migrations", &p, &csrf.get_value()).await;
            busy.set(false);
            match r {
                Ok(b) => http::navigate(&format!("/operations/batches/{}", b.id)),
                Err(f) => notice.set(Some(f.reason())),
            }
        });
    };
    view! {
        <section aria-labelledby="migration-title" class="content instance-page">
            <p>
                <a href=format!("/operations?process={}", key.get_value())>"← Instances of "{key.get_value()}</a>
                " · " <a href="/operations/batches">"Batches"</a>
            </p>
            <h1 id="migration-title">"Migrate · "{key.get_value()}</h1>
            <form class="inbox-filter" aria-label="Versions" on:submit=|ev| ev.prevent_default()>
                {version_select("migrate-from", "From", from_v)}
                {version_select("migrate-to", "To", to_v)}
            </form>
            {move || notice.get().map(|n| view! { <p class="banner error" role="alert">{n}</p> })}
            <div class="side-by-side">
                <figure>
                    <figcaption>{move || format!("Version {} · where instances stand", from_v.get().unwrap_or_default())}</figcaption>
                    <div class="instance-diagram" node_ref=left role="img" aria-label="The old version"></div>
                </figure>
                <figure>
                    <figcaption>{move || format!("Version {} · where they go", to_v.get().unwrap_or_default())}</figcaption>
                    <div class="instance-diagram" node_ref=right role="img" aria-label="The new version"></div>
                </figure>
            </div>
            <h2>"Mapping"</h2>
            <p class="hint">"Elements with the same id map to each other. Choose where the others go; an element maps only to one of its kind."</p>
            {mapping_table}
            <h2>"Preview"</h2>
            {summary}
            <p>
                <button type="button" class="primary" on:click=start
                    disabled=move || busy.get() || movable() == 0>
                    {move || format!("Migrate {} instance(s)", movable())}
                </button>
            </p>
        </section>
    }
}

fn progress(b: &BatchOut) -> impl IntoView {
    let worked = b.done + b.failed;
    view! {
        <progress max=b.total.max(1) value=worked aria-label="Progress"></progress>
        <span class="num">{format!(" {worked} of {}", b.total)}</span>
    }
}

/// `/operations/batches`: the latest batch operations.
#[component]
pub fn Batches() -> impl IntoView {
    let list = RwSignal::new(None::<Result<Vec<BatchOut>, String>>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            let r = http::get::<Vec<BatchOut>>("/api/batches").await;
            list.set(Some(r.map_err(|f| f.reason())));
        });
    });
    let rows = move || {
        match list.get() {
        None => view! { <p role="status">"Loading batch operations…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(items)) if items.is_empty() => view! {
            <p role="status">"No batch operation has run yet. A migration starts from a process's instances; cancelling many from the instance list."</p>
        }
        .into_any(),
        Some(Ok(items)) => view! {
            <table class="grid" aria-label="Batch operations">
                <thead><tr><th>"Operation"</th><th>"By"</th><th>"Started"</th><th>"State"</th><th>"Progress"</th><th>"Failed"</th></tr></thead>
                <tbody>
                    {items.into_iter().map(|b| view! {
                        <tr>
                            <td><a href=format!("/operations/batches/{}", b.id)>{b.description.clone()}</a></td>
                            <td>{b.created_by.clone()}</td>
                            <td>{short_time(&b.created_at)}</td>
                            <td>{b.state.clone()}</td>
                            <td>{progress(&b)}</td>
                            <td class="num">{b.failed}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
    }
    };
    view! {
        <section aria-labelledby="batches-title" class="content">
            <p><a href="/operations">"← Instances"</a></p>
            <h1 id="batches-title">"Batch operations"</h1>
            {rows}
        </section>
    }
}

/// `/operations/batches/{id}`: one batch's progress and results, read
/// again every second while it runs.
#[component]
pub fn Batch(id: String) -> impl IntoView {
    let session = expect_context::<Session>();
    let csrf = StoredValue::new(session.csrf());
    let id = StoredValue::new(id);
    let detail = RwSignal::new(None::<Result<BatchDetail, String>>);
    let failed_only = RwSignal::new(false);
    let notice = RwSignal::new(None::<String>);
    // Each read bumps the round: a poll of an older round stops, so a Stop or
    // a filter change never leaves two loops reading the same batch.
    let round = RwSignal::new(0u64);
    let load = move || {
        round.update(|r| *r += 1);
        poll(id, failed_only, detail, round, round.get_untracked());
    };
    Effect::new(move |_| {
        failed_only.track();
        load();
    });
    let stop = move |_| {
        leptos::task::spawn_local(async move {
            let r: Result<serde_json::Value, _> = http::send(
                "POST",
                &format!("/api/batches/{}/stop", id.get_value()),
                &serde_json::json!({}),
                &csrf.get_value(),
            )
            .await;
            if let Err(f) = r {
                notice.set(Some(f.reason()));
            }
            load();
        });
    };
    let body = move || match detail.get() {
        None => view! { <p role="status">"Loading the batch…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(d)) => {
            let b = d.batch.clone();
            let running = b.state == "running";
            let link = |target: &str, kind: &str| {
                // A retry's item is an incident: its instance is the part before the colon.
                let instance = if kind == "retry" {
                    target
                        .rsplit_once(':')
                        .map_or(target, |(i, _)| i)
                        .to_string()
                } else {
                    target.to_string()
                };
                format!("/operations/instances/{instance}")
            };
            let kind = b.kind.clone();
            view! {
                <h1 id="batch-title">{b.description.clone()}</h1>
                <p class="batch-state" role="status">
                    <span class=format!("badge {}", b.state)>{b.state.clone()}</span>
                    {format!(" · started by {} at {}", b.created_by, short_time(&b.created_at))}
                    {b.ended_at.clone().map(|e| format!(" · ended {}", short_time(&e)))}
                </p>
                <p>{progress(&b)}</p>
                <p class="batch-counts">
                    {format!("{} done · {} failed · {} pending", b.done, b.failed, b.pending)}
                </p>
                {running.then(|| view! {
                    <p><button type="button" on:click=stop>"Stop"</button>
                    <span class="hint">" What is not yet worked stays as it is."</span></p>
                })}
                <p class="batch-filter">
                    <label>
                        <input type="checkbox" prop:checked=move || failed_only.get()
                            on:change=move |ev| failed_only.set(event_target_checked(&ev))/>
                        " Failed only"
                    </label>
                </p>
                <table class="grid" aria-label="Items">
                    <thead><tr><th>"#"</th><th>"Item"</th><th>"Result"</th><th>"Why"</th><th>"At"</th></tr></thead>
                    <tbody>
                        {d.items.into_iter().map(|i| {
                            let href = link(&i.target, &kind);
                            view! {
                                <tr class=format!("item-{}", i.state)>
                                    <td class="num">{i.seq}</td>
                                    <td><a href=href><code>{i.target.clone()}</code></a></td>
                                    <td>{i.state.clone()}</td>
                                    <td>{i.message.clone().unwrap_or_default()}</td>
                                    <td>{i.done_at.as_deref().map(short_time).unwrap_or_default()}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }
    };
    view! {
        <section aria-labelledby="batch-title" class="content">
            <p><a href="/operations/batches">"← Batches"</a></p>
            {move || notice.get().map(|n| view! { <p class="banner error" role="alert">{n}</p> })}
            {body}
        </section>
    }
}

/// Reads the batch, and again a second later while it runs.
fn poll(
    id: StoredValue<String>,
    failed_only: RwSignal<bool>,
    detail: RwSignal<Option<Result<BatchDetail, String>>>,
    round: RwSignal<u64>,
    mine: u64,
) {
    leptos::task::spawn_local(async move {
        if round.try_get_untracked() != Some(mine) {
            return;
        }
        let only = if failed_only.get_untracked() {
            "&state=failed"
        } else {
            ""
        };
        let url = format!("/api/batches/{}?limit=1000{only}", id.get_value());
        let r = http::get::<BatchDetail>(&url).await;
        let running = matches!(&r, Ok(d) if d.batch.state == "running");
        // A page left behind stops polling: its signals are gone.
        if detail.try_set(Some(r.map_err(|f| f.reason()))).is_some() {
            return;
        }
        if running {
            set_timeout(
                move || poll(id, failed_only, detail, round, mine),
                std::time::Duration::from_secs(1),
            );
        }
    });
}
