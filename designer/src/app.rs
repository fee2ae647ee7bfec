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
    /// The user's tasks, filtered as the address says.
    Inbox {
        /// The filter and page (`/inbox?process=…&mine=1&page=2`).
        filter: InboxFilter,
    },
    /// One task with its form.
    Task {
        /// The task's id.
        id: String,
    },
    /// A request as staff see it: header, quick actions, tabs.
    Request {
        /// The instance's id.
        id: String,
    },
    /// Finding a request by number, customer name, account number or phone.
    Requests {
        /// What was searched for (`?q=`).
        q: String,
    },
    /// Starting a process: its start event's form.
    Start {
        /// Process key.
        key: String,
    },
    /// Operations: instances, filtered as the address says.
    Operations {
        /// The filter and page (`/operations?process=…&state=active&incident=1`).
        filter: InstanceFilter,
    },
    /// One instance: its diagram, variables, history and incidents.
    Instance {
        /// The instance's id.
        id: String,
    },
    /// Open incidents across instances, filtered as the address says
    /// (`/operations/incidents?process=…&element=…&error=…`).
    Incidents {
        /// The filter as the address gives it.
        filter: std::collections::BTreeMap<String, String>,
    },
    /// A process's dashboard over a period (`?from=…&to=…`; empty: the last 30 days).
    Dashboard {
        /// Process key.
        key: String,
        /// First day, as the address gives it.
        from: String,
        /// Last day, as the address gives it.
        to: String,
    },
    /// A version's heatmap over a period (`?from=2026-11-01&to=2026-11-30`;
    /// empty: the server's default, the last 30 days).
    Heatmap {
        /// Process key.
        key: String,
        /// Version.
        version: i64,
        /// First day, as the address gives it.
        from: String,
        /// Last day, as the address gives it.
        to: String,
    },
    /// Migrating the running instances of one version of a process to
    /// another (`/operations/migrate/{key}?from=1&to=2`; absent: the oldest
    /// version with running instances, and the newest).
    Migration {
        /// Process key.
        key: String,
        /// The version the instances run on.
        from: Option<i64>,
        /// The version they move to.
        to: Option<i64>,
    },
    /// The latest batch operations.
    Batches,
    /// One batch operation: progress and each item's result.
    Batch {
        /// The batch's id.
        id: String,
    },
    /// Settings: one reference-data table the processes read as their rules.
    Settings {
        /// The table (`time_slots`).
        table: String,
    },
    /// Users and their groups, and API tokens (administrators).
    Users,
    /// The audit trail, filtered as the address says
    /// (`/admin/audit?actor=…&action=…&outcome=…&from=…&to=…`).
    Audit {
        /// The filter as the address gives it.
        filter: std::collections::BTreeMap<String, String>,
    },
    /// Reports: the list, or one report run with the parameters in the
    /// address (`/reports/{key}/{name}?monthStart=2026-12-01`).
    Reports {
        /// The report, by process key and query name; none: the list.
        report: Option<(String, String)>,
        /// Its parameters as the address gives them.
        input: std::collections::BTreeMap<String, String>,
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

/// The inbox's filter, as its address holds it: shareable, and the same on
/// the server's render and in the browser.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InboxFilter {
    /// Only tasks of this process.
    pub process: Option<String>,
    /// Only tasks offered to this group.
    pub group: Option<String>,
    /// Only tasks assigned to the reader.
    pub mine: bool,
    /// Only tasks of requests whose number holds this text (any case).
    #[serde(default)]
    pub request: Option<String>,
    /// Only tasks of requests whose status holds this text (any case).
    #[serde(default)]
    pub status: Option<String>,
    /// Only tasks of requests with this process variable (`variable`)…
    #[serde(default)]
    pub variable: Option<String>,
    /// …holding exactly this value (`value`).
    #[serde(default)]
    pub value: Option<String>,
    /// Only tasks whose SLA is `breached`, or `onTrack`.
    #[serde(default)]
    pub sla: Option<String>,
    /// The page, from 1.
    pub page: u32,
}

impl InboxFilter {
    /// Tasks per page.
    pub const PAGE_SIZE: u32 = 50;

    /// Reads `?process=…&group=…&request=…&status=…&mine=1&page=2`; anything else is ignored.
    pub fn from_query(query: &str) -> InboxFilter {
        let mut f = InboxFilter {
            page: 1,
            ..InboxFilter::default()
        };
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let v = v.trim().to_string();
            match k.as_ref() {
                "process" if !v.is_empty() => f.process = Some(v),
                "group" if !v.is_empty() => f.group = Some(v),
                "request" if !v.is_empty() => f.request = Some(v),
                "status" if !v.is_empty() => f.status = Some(v),
                "variable" if !v.is_empty() => f.variable = Some(v),
                "value" if !v.is_empty() => f.value = Some(v),
                "sla" if v == "breached" || v == "onTrack" => f.sla = Some(v),
                "mine" => f.mine = v == "1" || v == "on" || v == "true",
                "page" => f.page = v.parse().unwrap_or(1).max(1),
                _ => {}
            }
        }
        f
    }

    /// What this filter selects, to save it (the page is not kept).
    pub fn criteria(&self) -> millrace_api::FilterCriteria {
        millrace_api::FilterCriteria {
            process: self.process.clone(),
            group: self.group.clone(),
            mine: self.mine,
            request: self.request.clone(),
            status: self.status.clone(),
            variable: self.variable.clone(),
            value: self.value.clone(),
            sla: self.sla.clone(),
        }
    }

    /// The filter a saved one selects, at its first page.
    pub fn from_criteria(c: &millrace_api::FilterCriteria) -> InboxFilter {
        let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        InboxFilter {
            process: given(&c.process),
            group: given(&c.group),
            mine: c.mine,
            request: given(&c.request),
            status: given(&c.status),
            variable: given(&c.variable),
            value: given(&c.value),
            sla: given(&c.sla),
            page: 1,
        }
    }

    /// The address of this filter at another page.
    pub fn href(&self, page: u32) -> String {
        let query = self.query(page, "process", "group", "mine");
        if query.is_empty() {
            "/inbox".to_string()
        } else {
            format!("/inbox?{query}")
        }
    }

    /// The API's task query for this filter (`/api/tasks?…`), for reader `me`.
    pub fn api(&self, me: &str) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if self.mine {
            q.append_pair("assignee", me);
        }
        if let Some(p) = &self.process {
            q.append_pair("processKey", p);
        }
        if let Some(g) = &self.group {
            q.append_pair("candidateGroup", g);
        }
        if let Some(r) = &self.request {
            q.append_pair("request", r);
        }
        if let Some(s) = &self.status {
            q.append_pair("status", s);
        }
        if let (Some(n), Some(v)) = (&self.variable, &self.value) {
            q.append_pair("variableName", n);
            q.append_pair("variableValue", v);
        }
        if let Some(sla) = &self.sla {
            q.append_pair("sla", sla);
        }
        q.append_pair("limit", &Self::PAGE_SIZE.to_string());
        q.append_pair(
            "offset",
            &(self.page.saturating_sub(1) * Self::PAGE_SIZE).to_string(),
        );
        format!("/api/tasks?{}", q.finish())
    }

    fn query(&self, page: u32, process: &str, group: &str, mine: &str) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(p) = &self.process {
            q.append_pair(process, p);
        }
        if let Some(g) = &self.group {
            q.append_pair(group, g);
        }
        if let Some(r) = &self.request {
            q.append_pair("request", r);
        }
        if let Some(s) = &self.status {
            q.append_pair("status", s);
        }
        if let Some(v) = &self.variable {
            q.append_pair("variable", v);
        }
        if let Some(v) = &self.value {
            q.append_pair("value", v);
        }
        if let Some(sla) = &self.sla {
            q.append_pair("sla", sla);
        }
        if self.mine {
            q.append_pair(mine, "1");
        }
        if page > 1 {
            q.append_pair("page", &page.to_string());
        }
        q.finish()
    }
}

/// The operations page's filter, as its address holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceFilter {
    /// Only instances of this process.
    pub process: Option<String>,
    /// Only `active`, `completed` or `terminated` ones.
    pub state: Option<String>,
    /// Only the one with this business key.
    pub business_key: Option<String>,
    /// Only those with an open incident.
    pub incident: bool,
    /// Only those with this process variable (`variable`)…
    #[serde(default)]
    pub variable: Option<String>,
    /// …holding exactly this value (`value`).
    #[serde(default)]
    pub value: Option<String>,
    /// Only those started on or after this day (`from`, `YYYY-MM-DD`).
    #[serde(default)]
    pub from: Option<String>,
    /// Only those started on or before this day (`to`).
    #[serde(default)]
    pub to: Option<String>,
    /// The page, from 1.
    pub page: u32,
}

impl InstanceFilter {
    /// Instances per page.
    pub const PAGE_SIZE: u32 = 50;

    /// Reads `?process=…&state=…&businessKey=…&incident=1&page=2`; anything else is ignored.
    pub fn from_query(query: &str) -> InstanceFilter {
        let mut f = InstanceFilter {
            page: 1,
            ..InstanceFilter::default()
        };
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let v = v.trim().to_string();
            match k.as_ref() {
                "process" if !v.is_empty() => f.process = Some(v),
                "state" if matches!(v.as_str(), "active" | "completed" | "terminated") => {
                    f.state = Some(v)
                }
                "businessKey" if !v.is_empty() => f.business_key = Some(v),
                "incident" => f.incident = v == "1" || v == "on" || v == "true",
                "variable" if !v.is_empty() => f.variable = Some(v),
                "value" if !v.is_empty() => f.value = Some(v),
                "from" if !v.is_empty() => f.from = Some(v),
                "to" if !v.is_empty() => f.to = Some(v),
                "page" => f.page = v.parse().unwrap_or(1).max(1),
                _ => {}
            }
        }
        f
    }

    /// The address of this filter at another page.
    pub fn href(&self, page: u32) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(p) = &self.process {
            q.append_pair("process", p);
        }
        if let Some(s) = &self.state {
            q.append_pair("state", s);
        }
        if let Some(b) = &self.business_key {
            q.append_pair("businessKey", b);
        }
        if self.incident {
            q.append_pair("incident", "1");
        }
        for (name, v) in [
            ("variable", &self.variable),
            ("value", &self.value),
            ("from", &self.from),
            ("to", &self.to),
        ] {
            if let Some(v) = v {
                q.append_pair(name, v);
            }
        }
        if page > 1 {
            q.append_pair("page", &page.to_string());
        }
        let query = q.finish();
        if query.is_empty() {
            "/operations".to_string()
        } else {
            format!("/operations?{query}")
        }
    }

    /// The API's instance query for this filter (`/api/process-instances?…`).
    pub fn api(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(p) = &self.process {
            q.append_pair("key", p);
        }
        if let Some(s) = &self.state {
            q.append_pair("state", s);
        }
        if let Some(b) = &self.business_key {
            q.append_pair("businessKey", b);
        }
        if self.incident {
            q.append_pair("incident", "true");
        }
        if let (Some(n), Some(v)) = (&self.variable, &self.value) {
            q.append_pair("variableName", n);
            q.append_pair("variableValue", v);
        }
        if let Some(d) = &self.from {
            q.append_pair("startedFrom", d);
        }
        if let Some(d) = &self.to {
            q.append_pair("startedTo", d);
        }
        q.append_pair("limit", &Self::PAGE_SIZE.to_string());
        q.append_pair(
            "offset",
            &(self.page.saturating_sub(1) * Self::PAGE_SIZE).to_string(),
        );
        format!("/api/process-instances?{}", q.finish())
    }
}

impl Page {
    /// The document title.
    pub fn title(&self) -> String {
        match self {
            Page::Login { .. } => "Sign in".into(),
            Page::Library => "Processes".into(),
            Page::Designer { key } => format!("{key} · Designer"),
            Page::Inbox { .. } => "Inbox".into(),
            Page::Task { .. } => "Task".into(),
            Page::Request { .. } => "Request".into(),
            Page::Requests { .. } => "Find a request".into(),
            Page::Start { key } => format!("New {key}"),
            Page::Operations { .. } => "Operations".into(),
            Page::Instance { .. } => "Instance".into(),
            Page::Incidents { .. } => "Incidents".into(),
            Page::Dashboard { key, .. } => format!("{key} · Dashboard"),
            Page::Heatmap { key, version, .. } => format!("{key} v{version} · Heatmap"),
            Page::Migration { key, .. } => format!("{key} · Migrate"),
            Page::Batches => "Batch operations".into(),
            Page::Batch { .. } => "Batch operation".into(),
            Page::Settings { .. } => "Settings".into(),
            Page::Reports { .. } => "Reports".into(),
            Page::Users => "Users and tokens".into(),
            Page::Audit { .. } => "Audit trail".into(),
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

/// How long until (or since) an SLA falls due, as staff read it:
/// `3 h 05 m left`, `1 d 2 h over`.
pub fn sla_remaining(seconds: i64) -> String {
    let over = seconds < 0;
    let s = seconds.unsigned_abs();
    let (d, h, m) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60);
    let span = if s < 60 {
        "under a minute".to_string()
    } else if d > 0 {
        format!("{d} d {h} h")
    } else {
        format!("{h} h {m:02} m")
    };
    format!("{span} {}", if over { "over" } else { "left" })
}

/// An SLA status as staff read it, and the badge class that shows it.
pub fn sla_status_label(status: &str) -> (&'static str, &'static str) {
    match status {
        "onTrack" => ("On track", "ok"),
        "breached" => ("Breached", "error"),
        "met" => ("Met", "done"),
        "metLate" => ("Met late", "stopped"),
        "cancelled" => ("Stopped", "running"),
        _ => ("Unknown", "running"),
    }
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
        Page::Inbox { filter } => view! { <pages::inbox::Inbox filter/> }.into_any(),
        Page::Task { id } => view! { <pages::task::Task id/> }.into_any(),
        Page::Request { id } => view! { <pages::request::Request id/> }.into_any(),
        Page::Requests { q } => view! { <pages::request::Requests q/> }.into_any(),
        Page::Start { key } => view! { <pages::start::Start key/> }.into_any(),
        Page::Operations { filter } => view! { <pages::operations::Instances filter/> }.into_any(),
        Page::Instance { id } => view! { <pages::operations::Instance id/> }.into_any(),
        Page::Incidents { filter } => view! { <pages::operations::Incidents filter/> }.into_any(),
        Page::Dashboard { key, from, to } => {
            view! { <pages::dashboard::DashboardPage key from to/> }.into_any()
        }
        Page::Heatmap {
            key,
            version,
            from,
            to,
        } => view! { <pages::operations::HeatmapPage key version from to/> }.into_any(),
        Page::Migration { key, from, to } => {
            view! { <pages::batches::Migration key from to/> }.into_any()
        }
        Page::Batches => view! { <pages::batches::Batches/> }.into_any(),
        Page::Batch { id } => view! { <pages::batches::Batch id/> }.into_any(),
        Page::Settings { table } => view! { <pages::settings::Settings table/> }.into_any(),
        Page::Reports { report, input } => {
            view! { <pages::reports::Reports report input/> }.into_any()
        }
        Page::Users => view! { <pages::admin::Users/> }.into_any(),
        Page::Audit { filter } => view! { <pages::admin::Audit filter/> }.into_any(),
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
        Page::Inbox { .. } | Page::Task { .. } | Page::Start { .. } => "inbox",
        Page::Operations { .. }
        | Page::Instance { .. }
        | Page::Incidents { .. }
        | Page::Dashboard { .. }
        | Page::Heatmap { .. }
        | Page::Migration { .. }
        | Page::Batches
        | Page::Batch { .. } => "operations",
        Page::Settings { .. } => "settings",
        Page::Users | Page::Audit { .. } => "admin",
        Page::Reports { .. } => "reports",
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
                l.push(("reports", "/reports", "Reports"));
            }
            if me.may_operate() {
                l.push(("operations", "/operations", "Operations"));
                l.push(("settings", "/admin/settings", "Settings"));
                l.push(("admin", "/admin/users", "Admin"));
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

#[cfg(test)]
mod filter_tests {
    use super::InboxFilter;

    #[test]
    fn an_inbox_filter_round_trips_through_its_address_and_asks_the_api_for_its_page() {
        let f = InboxFilter::from_query(
            "process=support+case&group=back-office&request=SR-2026&status=fee+generated&mine=1&page=3&x=y",
        );
        assert_eq!(f.process.as_deref(), Some("support case"));
        assert_eq!(f.group.as_deref(), Some("back-office"));
        assert_eq!(f.request.as_deref(), Some("SR-2026"));
        assert_eq!(f.status.as_deref(), Some("fee generated"));
        assert!(f.mine);
        assert_eq!(f.page, 3);
        assert_eq!(
            f.href(2),
            "/inbox?process=support+case&group=back-office&request=SR-2026&status=fee+generated&mine=1&page=2"
        );
        assert_eq!(InboxFilter::from_query(&f.href(3)["/inbox?".len()..]), f);
        assert_eq!(
            f.api("bo"),
            "/api/tasks?assignee=bo&processKey=support+case&candidateGroup=back-office&request=SR-2026&status=fee+generated&limit=50&offset=100"
        );
        let none = InboxFilter::from_query("page=zero");
        assert_eq!((none.page, none.href(1)), (1, "/inbox".to_string()));
        let by_variable = InboxFilter::from_query("variable=accountNumber&value=ACC-2024-001789");
        assert_eq!(
            by_variable.api("bo"),
            "/api/tasks?variableName=accountNumber&variableValue=ACC-2024-001789&limit=50&offset=0"
        );
        assert_eq!(
            InboxFilter::from_query(&by_variable.href(1)["/inbox?".len()..]),
            by_variable
        );
    }

    #[test]
    fn an_instance_filter_asks_for_a_variables_value_and_the_days_started() {
        let f = super::InstanceFilter::from_query(
            "process=disconnection&variable=accountNumber&value=ACC-1&from=2026-11-01&to=2026-11-30",
        );
        assert_eq!(
            f.api(),
            "/api/process-instances?key=disconnection&variableName=accountNumber&variableValue=ACC-1&startedFrom=2026-11-01&startedTo=2026-11-30&limit=50&offset=0"
        );
        assert_eq!(
            super::InstanceFilter::from_query(&f.href(1)["/operations?".len()..]),
            f
        );
    }
}
