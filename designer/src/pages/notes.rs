//! A request's comments and attachments, on its task pages and its instance
//! page: whoever may read the request reads and adds both; the server checks
//! each file's type and size and says why it refuses one.

use leptos::prelude::*;
use millrace_api::{AttachmentOut, CommentIn, CommentOut};

use crate::app::{short_time, Session};
use crate::http;

/// What a file input offers (the server checks the bytes too).
const ACCEPT: &str = ".pdf,.png,.jpg,.jpeg,.gif,.txt,.csv,.docx,.xlsx";

fn size_text(bytes: i64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.0} KB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    }
}

/// Comments and attachments of instance `instance`; files and comments added
/// here are marked as coming from `task`, when given.
#[component]
pub fn RequestNotes(instance: String, task: Option<String>) -> impl IntoView {
    let session = expect_context::<Session>();
    let csrf = StoredValue::new(session.csrf());
    let instance = StoredValue::new(instance);
    let task = StoredValue::new(task);
    let comments = RwSignal::new(Vec::<CommentOut>::new());
    let files = RwSignal::new(Vec::<AttachmentOut>::new());
    let text = RwSignal::new(String::new());
    let notice = RwSignal::new(None::<(bool, String)>);
    let busy = RwSignal::new(false);
    let picker = NodeRef::<leptos::html::Input>::new();
    let reload = move || {
        leptos::task::spawn_local(async move {
            let id = instance.get_value();
            if let Ok(c) =
                http::get::<Vec<CommentOut>>(&format!("/api/process-instances/{id}/comments")).await
            {
                comments.set(c);
            }
            if let Ok(a) =
                http::get::<Vec<AttachmentOut>>(&format!("/api/process-instances/{id}/attachments"))
                    .await
            {
                files.set(a);
            }
        });
    };
    Effect::new(move |_| reload());
    let add_comment = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = CommentIn {
            text: text.get_untracked(),
        };
        if body.text.trim().is_empty() {
            notice.set(Some((false, "Write the comment first.".into())));
            return;
        }
        busy.set(true);
        leptos::task::spawn_local(async move {
            let url = format!("/api/process-instances/{}/comments", instance.get_value());
            let r: Result<serde_json::Value, _> =
                http::send("POST", &url, &body, &csrf.get_value()).await;
            busy.set(false);
            match r {
                Ok(_) => {
                    text.set(String::new());
                    notice.set(Some((true, "Comment added.".into())));
                    reload();
                }
                Err(f) => notice.set(Some((false, f.reason()))),
            }
        });
    };
    let attach = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        #[cfg(feature = "hydrate")]
        {
            let Some(file) = picker
                .get()
                .and_then(|input| input.files())
                .and_then(|list| list.get(0))
            else {
                notice.set(Some((false, "Choose a file first.".into())));
                return;
            };
            busy.set(true);
            leptos::task::spawn_local(async move {
                let mut q = form_urlencoded::Serializer::new(String::new());
                q.append_pair("name", &file.name());
                if let Some(t) = task.get_value() {
                    q.append_pair("taskId", &t);
                }
                let url = format!(
                    "/api/process-instances/{}/attachments?{}",
                    instance.get_value(),
                    q.finish()
                );
                let r: Result<AttachmentOut, _> =
                    http::upload(&url, &file, &csrf.get_value()).await;
                busy.set(false);
                match r {
                    Ok(a) => {
                        notice.set(Some((true, format!("{} attached.", a.name))));
                        if let Some(input) = picker.get() {
                            input.set_value("");
                        }
                        reload();
                    }
                    Err(f) => notice.set(Some((false, format!("Not attached: {}", f.reason())))),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (picker, task);
    };
    view! {
        <section class="notes" aria-labelledby="notes-title">
            <h2 id="notes-title">"Comments and attachments"</h2>
            {move || notice.get().map(|(ok, n)| {
                let class = if ok { "banner ok" } else { "banner error" };
                view! { <p class=class role="status">{n}</p> }
            })}
            <ul class="comments" aria-label="Comments">
                {move || comments.get().into_iter().map(|c| view! {
                    <li>
                        <span class="who">{c.user.clone()}</span>
                        " · " <span class="when">{short_time(&c.at)}</span>
                        <p>{c.text.clone()}</p>
                    </li>
                }).collect_view()}
            </ul>
            <form class="add-comment" aria-label="Add a comment" on:submit=add_comment>
                <label for="comment-text">"Comment"</label>
                <textarea id="comment-text" rows="2" maxlength="10000"
                    prop:value=move || text.get()
                    on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                <button type="submit" class="secondary" disabled=move || busy.get()>"Add comment"</button>
            </form>
            {move || {
                let list = files.get();
                (!list.is_empty()).then(|| view! {
                    <table class="grid" aria-label="Attachments">
                        <thead><tr><th>"File"</th><th>"Size"</th><th>"Added by"</th><th>"When"</th></tr></thead>
                        <tbody>
                            {list.into_iter().map(|a| view! {
                                <tr>
                                    <td><a href=a.url.clone() download=a.name.clone()>{a.name.clone()}</a></td>
                                    <td class="num">{size_text(a.size)}</td>
                                    <td>{a.added_by.clone()}</td>
                                    <td>{short_time(&a.created_at)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                })
            }}
            <form class="attach" aria-label="Attach a file" on:submit=attach>
                <label for="attach-file">"File"</label>
                <input id="attach-file" type="file" accept=ACCEPT node_ref=picker/>
                <button type="submit" class="secondary" disabled=move || busy.get()>"Attach"</button>
                <span class="hint">"PDF, PNG, JPEG, GIF, text, CSV, Word or Excel; at most 3 MiB."</span>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_the_unit_people_expect() {
        assert_eq!(size_text(512), "512 B");
        assert_eq!(size_text(2048), "2 KB");
        assert_eq!(size_text(3 * 1024 * 1024), "3.0 MB");
    }
}
