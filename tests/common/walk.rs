//! Walking a process through the HTTP API as its users: the task a user sees,
//! completing it, and reading the reference data through the process's own
//! named queries afterwards.

use std::time::Duration;

use serde_json::{json, Value};

use super::server::Client;

/// The task of `instance` at element `node` that `who` sees in their inbox.
pub fn task_at(who: &Client, instance: &str, node: &str) -> Value {
    // The calls before a task are jobs: the answer that made them normally
    // waits for them, but a worker may hold one longer (a debug build on a
    // loaded machine): a wait, not a measure.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (s, tasks) = who.call("GET", &format!("/api/tasks?instanceId={instance}"), None);
        assert_eq!(s, 200, "{tasks}");
        if let Some(t) = tasks
            .as_array()
            .and_then(|l| l.iter().find(|t| t["elementId"] == node).cloned())
        {
            return t;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no task {node} for this user in {tasks}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The task at `node` after a completion answered `answer`: the answer's
/// next step when it is that task, otherwise the task once `who` sees it.
/// The server waits up to 10 s for the calls before a wizard's next step; on
/// a loaded machine (a debug build typesetting a PDF beside other tests) they
/// may finish later, and the person then finds the step in their inbox.
pub fn step_at(who: &Client, answer: &Value, instance: &str, node: &str) -> Value {
    if answer["elementId"] == node {
        return answer.clone();
    }
    task_at(who, instance, node)
}

/// Waits until `instance` has completed, as `who` reads it; its last state.
pub fn completed(who: &Client, instance: &str) -> Value {
    // The calls after the last task are jobs too: a wait, not a measure.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (_, inst) = who.call("GET", &format!("/api/process-instances/{instance}"), None);
        if inst["state"] == "completed" {
            return inst;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not completed: {inst}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Completes `task` as `who`; returns the next wizard step, if any.
pub fn complete(who: &Client, task: &Value, variables: Value) -> Value {
    let id = task["id"].as_str().expect("task id");
    let (s, b) = who.call("POST", &format!("/api/tasks/{id}/claim"), None);
    assert!(s == 204 || s == 200, "claim {}: {s} {b}", task["elementId"]);
    let (s, b) = who.call(
        "POST",
        &format!("/api/tasks/{id}/complete"),
        Some(json!({ "variables": variables })),
    );
    assert_eq!(s, 200, "complete {}: {b}", task["elementId"]);
    b["nextTask"].clone()
}

/// The rows a read-only named query of process `key` (its latest version) answers.
pub async fn named_rows(
    store: &millrace_store::Store,
    key: &str,
    query: &str,
    input: Value,
) -> Vec<Value> {
    let def = store.latest_definition(key).expect("deployed");
    let input = millrace_engine::value::variables_from_json(&input).expect("input");
    let out = store
        .read_named_query(key, def.version, query, &input)
        .await
        .expect("store")
        .expect("query");
    match out.get("rows").map(|r| r.to_json()) {
        Some(Value::Array(rows)) => rows,
        other => panic!("{query} returned {other:?}"),
    }
}

/// Runs `f` on a store opened on the server's database `db` (the reference
/// data afterwards), and closes it.
pub fn with_store<T>(db: &str, f: impl AsyncFnOnce(&millrace_store::Store) -> T) -> T {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store =
            millrace_store::Store::open(db, std::sync::Arc::new(millrace_script::RhaiLanguage))
                .await
                .expect("store");
        let out = f(&store).await;
        store.close().await;
        out
    })
}

/// A server deploying `processes/` whose mail goes to a real SMTP server
/// (aiosmtpd writing into a maildir), with its administrator signed in: what
/// each process walk starts from.
pub struct Office {
    /// The server (its database is `server.db`).
    pub server: super::server::Server,
    /// Its administrator.
    pub admin: Client,
    maildir: std::path::PathBuf,
    _smtp: super::smtp::Killed,
    _dir: tempfile::TempDir,
}

impl Office {
    /// Starts the SMTP server and the server.
    pub fn open() -> Office {
        let dir = tempfile::tempdir().expect("temp dir");
        let maildir = dir.path().join("maildir");
        let (smtp, port) = super::smtp::start(&maildir);
        let smtp_url = format!("smtp://127.0.0.1:{port}");
        let server = super::server::start_server_with_args("processes", &["--smtp-url", &smtp_url]);
        let admin = super::server::admin(&server);
        Office {
            server,
            admin,
            maildir,
            _smtp: smtp,
            _dir: dir,
        }
    }

    /// A new staff user in `groups`, signed in.
    pub fn staff(&self, name: &str, groups: &[&str]) -> Client {
        let password = super::server::add_user(&self.admin, name, "staff", groups);
        Client::login(&self.server, name, &password)
    }

    /// The mails received so far, once there are at least `n` (within 20 s).
    pub fn mails(&self, n: usize) -> Vec<String> {
        super::smtp::mails(&self.maildir, n, Duration::from_secs(20))
    }
}
