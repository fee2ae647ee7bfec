//! Settings (administrators): the reference data the processes read as their
//! rules — reasons, time slots, checklist items, SLA targets, settings,
//! holidays — edited row by row and saved together; the server checks every
//! row and refuses the change whole, naming the row, when one is wrong.

use leptos::prelude::*;
use millrace_api::{ReferenceChanged, ReferenceRows, ReferenceTable};
use serde_json::{Map, Value};

use crate::app::Session;
use crate::http;

/// One row as edited: its cells as text, and whether it is new.
#[derive(Debug, Clone, PartialEq)]
struct EditedRow {
    cells: Vec<String>,
    original: Option<Map<String, Value>>,
}

/// A cell's text as the server gave it.
fn cell_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// A cell's text as the value to send: empty is null, and a column that held
/// whole numbers (in any row) takes a whole number when the text is one.
fn cell_value(text: &str, numeric: bool) -> Value {
    let t = text.trim();
    if t.is_empty() {
        return Value::Null;
    }
    match t.parse::<i64>() {
        Ok(n) if numeric => Value::from(n),
        _ => Value::String(t.to_string()),
    }
}

/// The rows that differ from what was read (and every new one), as the API
/// takes them, each with its place on the page.
fn changed_rows(columns: &[String], rows: &[EditedRow]) -> Vec<(usize, Map<String, Value>)> {
    let numeric: Vec<bool> = columns
        .iter()
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.original.as_ref()?.get(c))
                .any(Value::is_i64)
        })
        .collect();
    rows.iter()
        .enumerate()
        .filter(|(_, r)| match &r.original {
            None => r.cells.iter().any(|c| !c.trim().is_empty()),
            Some(o) => columns
                .iter()
                .zip(&r.cells)
                .any(|(c, text)| cell_text(o.get(c)) != text.trim()),
        })
        .map(|(i, r)| {
            let row = columns
                .iter()
                .zip(&r.cells)
                .zip(&numeric)
                .map(|((c, text), n)| (c.clone(), cell_value(text, *n)))
                .collect();
            (i, row)
        })
        .collect()
}

/// The server's `rows[n]` (the n-th row sent) as the row people see: "row 3".
fn row_named(field: Option<&str>, sent: &[usize]) -> String {
    field
        .and_then(|f| {
            f.strip_prefix("rows[")?
                .strip_suffix(']')?
                .parse::<usize>()
                .ok()
        })
        .and_then(|n| sent.get(n))
        .map_or_else(|| "a row".to_string(), |i| format!("row {}", i + 1))
}

/// The settings page at one table.
#[component]
pub fn Settings(table: String) -> impl IntoView {
    let session = expect_context::<Session>();
    let csrf = StoredValue::new(session.csrf());
    let table = StoredValue::new(table);
    let tables = RwSignal::new(Vec::<ReferenceTable>::new());
    let rows = RwSignal::new(None::<Result<Vec<EditedRow>, String>>);
    let notice = RwSignal::new(None::<(bool, String)>);
    let busy = RwSignal::new(false);
    let current = move || {
        tables
            .get()
            .into_iter()
            .find(|t| t.table == table.get_value())
    };
    let load = move || {
        leptos::task::spawn_local(async move {
            let listed = match http::get::<Vec<ReferenceTable>>("/api/reference").await {
                Ok(l) => l,
                Err(f) => return rows.set(Some(Err(f.reason()))),
            };
            let Some(t) = listed
                .iter()
                .find(|t| t.table == table.get_value())
                .cloned()
            else {
                tables.set(listed);
                return rows.set(Some(Err(format!(
                    "there is no settings table {:?}",
                    table.get_value()
                ))));
            };
            tables.set(listed);
            let url = format!("/api/reference/{}", t.table);
            let read = http::get::<Vec<Map<String, Value>>>(&url)
                .await
                .map_err(|f| f.reason())
                .map(|found| {
                    found
                        .into_iter()
                        .map(|o| EditedRow {
                            cells: t.columns.iter().map(|c| cell_text(o.get(c))).collect(),
                            original: Some(o),
                        })
                        .collect()
                });
            rows.set(Some(read));
        });
    };
    Effect::new(move |_| load());
    let add_row = move |_| {
        let width = current().map_or(0, |t| t.columns.len());
        rows.update(|r| {
            if let Some(Ok(list)) = r {
                list.push(EditedRow {
                    cells: vec![String::new(); width],
                    original: None,
                });
            }
        });
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(t), Some(Ok(edited))) = (current(), rows.get_untracked()) else {
            return;
        };
        let (sent, changed): (Vec<usize>, Vec<Map<String, Value>>) =
            changed_rows(&t.columns, &edited).into_iter().unzip();
        if changed.is_empty() {
            notice.set(Some((true, "Nothing changed.".into())));
            return;
        }
        leptos::task::spawn_local(async move {
            busy.set(true);
            let url = format!("/api/reference/{}", t.table);
            let body = ReferenceRows { rows: changed };
            let r = http::send::<_, ReferenceChanged>("PUT", &url, &body, &csrf.get_value()).await;
            busy.set(false);
            match r {
                Ok(done) => {
                    notice.set(Some((
                        true,
                        format!(
                            "Saved: {} row{} added or changed. New requests follow them.",
                            done.changed,
                            if done.changed == 1 { "" } else { "s" }
                        ),
                    )));
                    load();
                }
                Err(f) => {
                    let row = row_named(f.body.field.as_deref(), &sent);
                    // The server counts the rows it was sent; the page names its own.
                    let reason = f.reason();
                    let reason = reason
                        .strip_prefix(&format!("{} row ", t.table))
                        .and_then(|r| r.split_once(": "))
                        .map_or(reason.clone(), |(_, r)| r.to_string());
                    notice.set(Some((false, format!("Nothing was saved: {row}: {reason}"))));
                }
            }
        });
    };
    let tabs = move || {
        tables
            .get()
            .into_iter()
            .map(|t| {
                let here = (t.table == table.get_value()).then_some("page");
                view! { <a href=format!("/admin/settings/{}", t.table) class="tab" aria-current=here>{t.label}</a> }
            })
            .collect_view()
    };
    let grid = move || match (current(), rows.get()) {
        (_, None) => view! { <p role="status">"Loading…"</p> }.into_any(),
        (_, Some(Err(e))) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        (None, _) => view! { <p role="status">"Loading…"</p> }.into_any(),
        (Some(t), Some(Ok(list))) => {
            let label = t.label.clone();
            let form_label = format!("Edit {label}");
            let head = t
                .columns
                .iter()
                .map(|c| view! { <th scope="col">{c.clone()}</th> })
                .collect_view();
            let body = list
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    let cells = t
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(j, c)| {
                            // A row's key picks it out: fixed once saved.
                            let fixed = r.original.is_some() && t.keys.contains(c);
                            let value = r.cells.get(j).cloned().unwrap_or_default();
                            let name = format!("Row {} {c}", i + 1);
                            view! {
                                <td>
                                    <input type="text" aria-label=name value=value readonly=fixed
                                        on:input=move |ev| {
                                            let text = event_target_value(&ev);
                                            rows.update(|rs| {
                                                if let Some(Ok(list)) = rs {
                                                    if let Some(cell) = list.get_mut(i).and_then(|r| r.cells.get_mut(j)) {
                                                        *cell = text;
                                                    }
                                                }
                                            });
                                        }/>
                                </td>
                            }
                        })
                        .collect_view();
                    view! { <tr>{cells}</tr> }
                })
                .collect_view();
            view! {
                <form on:submit=save aria-label=form_label>
                    <table class="grid settings" aria-label=label>
                        <thead><tr>{head}</tr></thead>
                        <tbody>{body}</tbody>
                    </table>
                    <div class="actions">
                        <button type="button" class="secondary" on:click=add_row>"Add row"</button>
                        <button type="submit" class="primary" disabled=move || busy.get()>"Save"</button>
                    </div>
                </form>
            }
            .into_any()
        }
    };
    view! {
        <section class="content" aria-labelledby="settings-title">
            <h1 id="settings-title">"Settings"</h1>
            <p class="note">"The rules the processes read as data: a change applies to the next request, without a deployment. Every change is audited."</p>
            <nav class="tabs" aria-label="Settings tables">{tabs}</nav>
            {move || notice.get().map(|(ok, text)| {
                let class = if ok { "banner ok" } else { "banner error" };
                view! { <p class=class role="status">{text}</p> }
            })}
            {grid}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_and_new_rows_are_sent_with_numbers_where_the_column_holds_them() {
        let columns: Vec<String> = ["slot_id", "label", "position"]
            .iter()
            .map(|c| c.to_string())
            .collect();
        let read = |id: &str, label: &str, pos: i64| {
            let mut o = Map::new();
            o.insert("slot_id".into(), Value::from(id));
            o.insert("label".into(), Value::from(label));
            o.insert("position".into(), Value::from(pos));
            EditedRow {
                cells: vec![id.into(), label.into(), pos.to_string()],
                original: Some(o),
            }
        };
        let mut changed = read("SLOT-08", "08:00 – 10:00", 1);
        changed.cells[1] = "08:00 – 10:30".into();
        let rows = vec![
            read("SLOT-10", "10:00 – 12:00", 2),
            changed,
            EditedRow {
                cells: vec!["SLOT-18".into(), "18:00 – 20:00".into(), "6".into()],
                original: None,
            },
            EditedRow {
                cells: vec![String::new(); 3],
                original: None,
            },
        ];
        let sent = changed_rows(&columns, &rows);
        assert_eq!(sent.len(), 2, "{sent:?}");
        assert_eq!(sent[0].0, 1);
        assert_eq!(sent[0].1["label"], "08:00 – 10:30");
        assert_eq!(sent[1].0, 2);
        assert_eq!(sent[1].1["slot_id"], "SLOT-18");
        assert_eq!(sent[1].1["position"], Value::from(6));
        // The server names the second row sent: the page's third.
        assert_eq!(row_named(Some("rows[1]"), &[1, 2]), "row 3");
        assert_eq!(row_named(Some("rows"), &[1, 2]), "a row");
    }
}
