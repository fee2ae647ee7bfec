//! A process's dashboard (administrators): instances started and completed
//! per day as a column chart, how long completed ones took, incidents per
//! day, and open tasks per group with the oldest one's age — the server's
//! numbers, drawn as SVG here, every table also in the API as JSON.

use leptos::prelude::*;
use millrace_api::{DashboardOut, DayOut};

use crate::http;
use crate::pages::operations::human_duration;

/// The API address of a dashboard for the period the page's address gives.
pub fn dashboard_api(key: &str, from: &str, to: &str) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (name, v) in [("from", from), ("to", to)] {
        if !v.trim().is_empty() {
            q.append_pair(name, v.trim());
        }
    }
    let query = q.finish();
    let base = format!(
        "/api/process-definitions/{}/dashboard",
        form_urlencoded::byte_serialize(key.as_bytes()).collect::<String>()
    );
    if query.is_empty() {
        base
    } else {
        format!("{base}?{query}")
    }
}

/// Started and completed per day, two columns a day, with the day's date
/// under every seventh.
fn day_chart(days: &[DayOut]) -> impl IntoView {
    let top = days
        .iter()
        .map(|d| d.started.max(d.completed))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (height, base, slot) = (180.0, 160.0, 22.0);
    let width = 40.0 + slot * days.len() as f64;
    let title = format!(
        "Instances started and completed per day, {} to {}",
        days.first().map(|d| d.day.as_str()).unwrap_or(""),
        days.last().map(|d| d.day.as_str()).unwrap_or("")
    );
    view! {
        <figure class="report-chart">
            <svg role="img" aria-label=title.clone() width=width.to_string() height=(height + 24.0).to_string()
                viewBox=format!("0 0 {width} {}", height + 24.0)>
                <text x="0" y="12" class="chart-value">{top.to_string()}</text>
                <line x1="30" y1=base.to_string() x2=width.to_string() y2=base.to_string() class="chart-axis"></line>
                {days.iter().enumerate().map(|(i, d)| {
                    let x = 34.0 + slot * i as f64;
                    let h = |n: i64| (n as f64 / top * (base - 20.0)).max(if n > 0 { 1.0 } else { 0.0 });
                    let (hs, hc) = (h(d.started), h(d.completed));
                    let tip = format!("{}: {} started, {} completed", d.day, d.started, d.completed);
                    let label = (i % 7 == 0).then(|| {
                        let short = d.day.get(5..).unwrap_or(&d.day).to_string();
                        view! { <text x=x.to_string() y=(base + 16.0).to_string() class="chart-label">{short}</text> }
                    });
                    view! {
                        <g>
                            <title>{tip}</title>
                            <rect x=x.to_string() y=(base - hs).to_string() width="9" height=hs.to_string() class="chart-bar"></rect>
                            <rect x=(x + 9.0).to_string() y=(base - hc).to_string() width="9" height=hc.to_string() class="chart-bar completed"></rect>
                            {label}
                        </g>
                    }
                }).collect_view()}
            </svg>
            <figcaption>{title}" · "<span class="swatch chart-started"></span>" started "<span class="swatch chart-completed"></span>" completed"</figcaption>
        </figure>
    }
}

/// The dashboard of one process.
#[component]
pub fn DashboardPage(key: String, from: String, to: String) -> impl IntoView {
    let api = StoredValue::new(dashboard_api(&key, &from, &to));
    let data = RwSignal::new(None::<Result<DashboardOut, String>>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            let r = http::get::<DashboardOut>(&api.get_value()).await;
            data.set(Some(r.map_err(|f| f.reason())));
        });
    });
    let body = move || match data.get() {
        None => view! { <p role="status">"Loading the dashboard…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="banner error" role="alert">{e}</p> }.into_any(),
        Some(Ok(d)) => {
            let total = |f: fn(&DayOut) -> i64| d.days.iter().map(f).sum::<i64>();
            let (started, completed, terminated, incidents) = (
                total(|x| x.started),
                total(|x| x.completed),
                total(|x| x.terminated),
                total(|x| x.incidents),
            );
            let most = d
                .durations
                .iter()
                .map(|b| b.count)
                .max()
                .unwrap_or(0)
                .max(1) as f64;
            let dur = |s: Option<f64>| s.map(human_duration).unwrap_or_else(|| "—".into());
            view! {
                <form class="inbox-filter" method="get" aria-label="Period">
                    <label for="dash-from">"From"</label>
                    <input id="dash-from" name="from" type="date" value=d.from.clone()/>
                    <label for="dash-to">"To"</label>
                    <input id="dash-to" name="to" type="date" value=d.to.clone()/>
                    <button type="submit">"Apply"</button>
                </form>
                <dl class="facts kpis" aria-label="In the period">
                    <dt>"Started"</dt><dd>{started}</dd>
                    <dt>"Completed"</dt><dd>{completed}</dd>
                    <dt>"Cancelled"</dt><dd>{terminated}</dd>
                    <dt>"Incidents raised"</dt><dd>{incidents}</dd>
                    <dt>"Median duration"</dt><dd>{dur(d.median_seconds)}</dd>
                    <dt>"90% within"</dt><dd>{dur(d.p90_seconds)}</dd>
                </dl>
                {day_chart(&d.days)}
                <h2>"How long completed instances took"</h2>
                <table class="grid" aria-label="Durations">
                    <thead><tr><th>"Duration"</th><th>"Instances"</th><th></th></tr></thead>
                    <tbody>
                        {d.durations.iter().map(|b| {
                            let w = (b.count as f64 / most * 240.0).max(if b.count > 0 { 1.0 } else { 0.0 });
                            view! {
                                <tr>
                                    <td>{b.label.clone()}</td>
                                    <td class="num">{b.count}</td>
                                    <td><svg width="250" height="14" aria-hidden="true"><rect x="0" y="2" width=w.to_string() height="10" class="chart-bar"></rect></svg></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <h2>"Open tasks by group"</h2>
                {if d.groups.is_empty() {
                    view! { <p>"No open task is offered to a group."</p> }.into_any()
                } else {
                    view! {
                        <table class="grid" aria-label="Open tasks by group">
                            <thead><tr><th>"Group"</th><th>"Open"</th><th>"Oldest waiting"</th></tr></thead>
                            <tbody>
                                {d.groups.iter().map(|g| view! {
                                    <tr>
                                        <td>{g.group.clone()}</td>
                                        <td class="num">{g.open}</td>
                                        <td class="num">{human_duration(g.oldest_hours * 3600.0)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
                <h2>"SLA compliance"</h2>
                {if d.slas.is_empty() {
                    view! { <p class="note">"No SLA of this process fell due in the period (a process declares them as sla.* properties)."</p> }.into_any()
                } else {
                    view! {
                        <table class="grid" aria-label="SLA compliance">
                            <thead><tr><th>"Month"</th><th>"SLA"</th><th>"Group"</th><th>"Met"</th><th>"Missed"</th><th>"Compliance"</th></tr></thead>
                            <tbody>
                                {d.slas.iter().map(|m| view! {
                                    <tr>
                                        <td>{m.month.clone()}</td>
                                        <td>{m.name.clone()}</td>
                                        <td>{m.group.clone().unwrap_or_else(|| "(whole request)".into())}</td>
                                        <td class="num">{m.met}</td>
                                        <td class="num">{m.missed}</td>
                                        <td class="num">{format!("{} %", m.compliance)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
                <h2>"By day"</h2>
                <table class="grid" aria-label="By day">
                    <thead><tr><th>"Day"</th><th>"Started"</th><th>"Completed"</th><th>"Cancelled"</th><th>"Incidents"</th></tr></thead>
                    <tbody>
                        {d.days.iter().filter(|x| x.started + x.completed + x.terminated + x.incidents > 0).map(|x| view! {
                            <tr>
                                <td>{x.day.clone()}</td>
                                <td class="num">{x.started}</td>
                                <td class="num">{x.completed}</td>
                                <td class="num">{x.terminated}</td>
                                <td class="num">{x.incidents}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            }
            .into_any()
        }
    };
    view! {
        <section aria-labelledby="dashboard-title" class="content">
            <p><a href=format!("/operations?process={key}")>"← Instances of "{key.clone()}</a></p>
            <h1 id="dashboard-title">"Dashboard · "{key.clone()}</h1>
            {body}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::dashboard_api;

    #[test]
    fn the_period_goes_to_the_api_when_given() {
        assert_eq!(
            dashboard_api("disconnection", "", ""),
            "/api/process-definitions/disconnection/dashboard"
        );
        assert_eq!(
            dashboard_api("disconnection", "2026-11-01", " 2026-11-30 "),
            "/api/process-definitions/disconnection/dashboard?from=2026-11-01&to=2026-11-30"
        );
    }
}
