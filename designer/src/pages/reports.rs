//! Reports: the named queries the processes mark `-- report:` (the landing
//! KPIs, the takeover statistics, open invoices …) for whoever may read the
//! process's instances. One report is a plain GET form of its parameters
//! (the address is the report: bookmark it, share it), a bar chart of its
//! first numeric column when its rows have a label, the table, and the same
//! table as a CSV file.

use std::collections::BTreeMap;

use leptos::prelude::*;
use millrace_api::{ReportOut, ReportRun};
use serde_json::Value;

use crate::http;

/// The reports page: the list, or one report.
#[component]
pub fn Reports(report: Option<(String, String)>, input: BTreeMap<String, String>) -> impl IntoView {
    match report {
        Some((key, name)) => one_report(key, name, input).into_any(),
        None => report_list().into_any(),
    }
}

/// The address of a report with `input`, as JSON (`format` none) or CSV.
fn report_query(input: &BTreeMap<String, String>, format: Option<&str>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in input {
        if k != "format" && !v.trim().is_empty() {
            q.append_pair(k, v.trim());
        }
    }
    if let Some(f) = format {
        q.append_pair("format", f);
    }
    let q = q.finish();
    if q.is_empty() {
        String::new()
    } else {
        format!("?{q}")
    }
}

fn report_list() -> impl IntoView {
    let reports = RwSignal::new(None::<Result<Vec<ReportOut>, String>>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            let r = http::get::<Vec<ReportOut>>("/api/reports").await;
            reports.set(Some(r.map_err(|f| f.reason())));
        });
    });
    let body = move || match reports.get() {
        None => view! { <p role="status">"Loading the reports…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(list)) if list.is_empty() => view! {
            <p role="status">"No report of a process you may read."</p>
        }
        .into_any(),
        Some(Ok(list)) => {
            // Grouped by process, in the API's order (by key, then name).
            let mut groups: Vec<(String, Vec<ReportOut>)> = Vec::new();
            for r in list {
                let process = r.process_name.clone().unwrap_or(r.key.clone());
                match groups.last_mut() {
                    Some((p, l)) if *p == process => l.push(r),
                    _ => groups.push((process, vec![r])),
                }
            }
            groups
                .into_iter()
                .map(|(process, list)| {
                    let label = process.clone();
                    view! {
                        <section class="report-group" aria-label=label>
                            <h2>{process}</h2>
                            <ul class="report-list">
                                {list.into_iter().map(|r| view! {
                                    <li>
                                        <a href=format!("/reports/{}/{}", r.key, r.name)>{r.title}</a>
                                        {(!r.about.is_empty()).then(|| view! { <span class="hint">{format!(" — {}", r.about)}</span> })}
                                    </li>
                                }).collect_view()}
                            </ul>
                        </section>
                    }
                })
                .collect_view()
                .into_any()
        }
    };
    view! {
        <section aria-labelledby="reports-title" class="content">
            <h1 id="reports-title">"Reports"</h1>
            {body}
        </section>
    }
}

/// A value as the table shows it.
fn shown(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value as a number, for the chart (money arrives as text).
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The chart of a report: a bar per row, the first column whose every value
/// is a number against the columns before it as the label; none when the
/// rows have no label or no number, or are too many to read as bars.
fn bar_chart(run: &ReportRun) -> Option<impl IntoView> {
    const MAX_BARS: usize = 30;
    if run.rows.is_empty() || run.rows.len() > MAX_BARS {
        return None;
    }
    let value_column = (1..run.columns.len())
        .find(|&c| run.rows.iter().all(|r| r.get(c).and_then(number).is_some()))?;
    let bars: Vec<(String, f64, String)> = run
        .rows
        .iter()
        .map(|r| {
            let label = r[..value_column]
                .iter()
                .map(shown)
                .collect::<Vec<_>>()
                .join(" · ");
            let v = &r[value_column];
            (label, number(v).unwrap_or(0.0), shown(v))
        })
        .collect();
    let top = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max);
    let (label_width, bar_width, row_height) = (260.0, 360.0, 26.0);
    let height = row_height * bars.len() as f64 + 8.0;
    let title = format!(
        "{} by {}",
        run.columns[value_column],
        run.columns[..value_column].join(", ")
    );
    Some(view! {
        <figure class="report-chart">
            <svg role="img" aria-label=title.clone() width="680" height=height.to_string()
                viewBox=format!("0 0 680 {height}")>
                {bars.into_iter().enumerate().map(|(i, (label, v, text))| {
                    let y = 4.0 + row_height * i as f64;
                    let w = if top > 0.0 { (v / top * bar_width).max(1.0) } else { 1.0 };
                    view! {
                        <g>
                            <text x="0" y=(y + 17.0).to_string() class="chart-label">{label}</text>
                            <rect x=label_width.to_string() y=(y + 4.0).to_string() width=w.to_string()
                                height="18" class="chart-bar"></rect>
                            <text x=(label_width + w + 6.0).to_string() y=(y + 17.0).to_string()
                                class="chart-value">{text}</text>
                        </g>
                    }
                }).collect_view()}
            </svg>
            <figcaption>{title}</figcaption>
        </figure>
    })
}

fn one_report(key: String, name: String, input: BTreeMap<String, String>) -> impl IntoView {
    let url = format!("/api/reports/{key}/{name}{}", report_query(&input, None));
    let csv = format!(
        "/api/reports/{key}/{name}{}",
        report_query(&input, Some("csv"))
    );
    let run = RwSignal::new(None::<Result<ReportRun, String>>);
    Effect::new(move |_| {
        let url = url.clone();
        leptos::task::spawn_local(async move {
            let r = http::get::<ReportRun>(&url).await;
            run.set(Some(r.map_err(|f| f.reason())));
        });
    });
    let action = format!("/reports/{key}/{name}");
    let body = move || match run.get() {
        None => view! { <p role="status">"Running the report…"</p> }.into_any(),
        Some(Err(e)) => view! {
            <p class="banner error" role="alert">{e}</p>
            <p><a href="/reports">"All reports"</a></p>
        }
        .into_any(),
        Some(Ok(r)) => {
            let parameters = r.report.parameters.clone();
            let used = r.input.clone();
            let form = (!parameters.is_empty()).then(|| view! {
                <form class="report-parameters" method="get" action=action.clone() aria-label="Report parameters">
                    {parameters.into_iter().map(|p| {
                        let id = format!("param-{}", p.name);
                        let value = used.get(&p.name).cloned().unwrap_or_default();
                        view! {
                            <label for=id.clone()>{p.name.clone()}</label>
                            <input id=id name=p.name.clone() type="text" value=value
                                placeholder=p.default.clone().unwrap_or_default()/>
                        }
                    }).collect_view()}
                    <button type="submit">"Run"</button>
                </form>
            });
            let chart = bar_chart(&r);
            let table = if r.rows.is_empty() {
                view! { <p role="status">"No rows."</p> }.into_any()
            } else {
                view! {
                    <table class="grid" aria-label=r.report.title.clone()>
                        <thead><tr>{r.columns.iter().map(|c| view! { <th>{c.clone()}</th> }).collect_view()}</tr></thead>
                        <tbody>
                            {r.rows.iter().map(|row| view! {
                                <tr>{row.iter().map(|v| view! { <td>{shown(v)}</td> }).collect_view()}</tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                }
                .into_any()
            };
            view! {
                <h1 id="report-title">{r.report.title.clone()}</h1>
                <p class="hint">
                    {format!("{} · version {}", r.report.process_name.clone().unwrap_or(r.report.key.clone()), r.report.version)}
                    {(!r.report.about.is_empty()).then(|| format!(" — {}", r.report.about))}
                </p>
                {form}
                <p class="actions">
                    <a class="button" href=csv.clone() download="">"Download CSV"</a>
                    <a href="/reports">"All reports"</a>
                </p>
                {chart}
                {table}
            }
            .into_any()
        }
    };
    view! {
        <section aria-labelledby="report-title" class="content">
            {body}
        </section>
    }
}
