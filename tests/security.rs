//! Security and robustness against a real `millrace serve`: who may see and
//! move an instance, where tasks may go, when sessions end, bounded inputs.
//! Each test reproduces a finding of the security review (issue 15).

use serde_json::{json, Value};

mod common;

use common::server::*;

const FIXTURES: &str = "tests/fixtures/security";

/// The instance's state as the administrator sees it.
fn active(admin: &Client, id: &str) -> Value {
    let (s, b) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(s, 200, "{b}");
    b["activeActivities"].clone()
}

fn listed(c: &Client, id: &str) -> bool {
    let (s, b) = c.call("GET", "/api/process-instances?limit=500", None);
    assert_eq!(s, 200, "{b}");
    b.as_array().expect("a list").iter().any(|i| i["id"] == id)
}

fn audited(admin: &Client, actor: &str, action: &str, outcome: &str) -> bool {
    let (_, audit) = admin.call("GET", "/api/audit", None);
    audit
        .as_array()
        .expect("audit")
        .iter()
        .any(|a| a["actor"] == actor && a["action"] == action && a["outcome"] == outcome)
}

#[test]
fn only_those_who_may_read_an_instance_see_it_and_only_those_who_may_act_move_it() {
    let server = start_server_with(FIXTURES);
    let admin = admin(&server);
    let cara = Client::login(
        &server,
        "cara",
        &add_user(&admin, "cara", "staff", &["call-centre-representatives"]),
    );
    let rex = Client::login(
        &server,
        "rex",
        &add_user(&admin, "rex", "staff", &["recovery-executives"]),
    );
    let olga = Client::login(
        &server,
        "olga",
        &add_user(&admin, "olga", "staff", &["billing-specialists"]),
    );
    let sys = Client::login(
        &server,
        "payments",
        &add_user(&admin, "payments", "system", &[]),
    );

    // Starting: the process names call-centre representatives as its starters.
    let (s, b) = olga.call(
        "POST",
        "/api/process-definitions/disconnection/start",
        Some(json!({ "businessKey": "ACC-1" })),
    );
    assert_eq!(s, 403, "olga's group may not start it: {b}");
    assert!(audited(&admin, "olga", "start", "denied"));
    let (s, b) = cara.call(
        "POST",
        "/api/process-definitions/disconnection/start",
        Some(json!({ "businessKey": "ACC-1", "variables": { "iban": "DE89370400440532013000", "phone": "+1 555 0100" } })),
    );
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().expect("id").to_string();

    // Reading: not the other group's staff, not the future task's group yet;
    // the starter and the administrator do.
    let (s, missing) = olga.call("GET", "/api/process-instances/no-such-instance", None);
    assert_eq!(s, 404);
    for path in [
        format!("/api/process-instances/{id}"),
        format!("/api/process-instances/{id}/history"),
        format!("/api/process-instances/{id}/comments"),
    ] {
        let (s, b) = olga.call("GET", &path, None);
        assert_eq!(s, 404, "{path}: {b}");
        assert_eq!(b["error"], missing["error"], "a refusal looks like absence");
        assert!(!b.to_string().contains("DE89"), "{b}");
    }
    let (s, _) = olga.call(
        "POST",
        &format!("/api/process-instances/{id}/comments"),
        Some(json!({ "text": "hello" })),
    );
    assert_eq!(s, 404, "no comments on what one may not read");
    assert!(!listed(&olga, &id));
    assert!(!listed(&rex, &id));
    assert!(listed(&cara, &id));
    let (s, b) = cara.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(
        (s, &b["variables"]["iban"]),
        (200, &json!("DE89370400440532013000"))
    );
    assert!(
        audited(&admin, "cara", "instance.read", "ok"),
        "who saw the customer's data is recorded"
    );
    assert!(audited(&admin, "olga", "instance.read", "denied"));

    // Acting: a message by business key from staff without `act` reaches nothing.
    let paid = json!({ "name": "Paid", "businessKey": "ACC-1" });
    let (s, b) = olga.call("POST", "/api/messages", Some(paid.clone()));
    assert_eq!((s, b["error"].as_str()), (422, Some("no_match")), "{b}");
    assert_eq!(
        active(&admin, &id),
        json!(["Wait_Paid"]),
        "the instance did not move"
    );
    assert!(audited(&admin, "olga", "message", "denied"));
    let (s, b) = sys.call("POST", "/api/messages", Some(paid));
    assert_eq!(
        (s, b["instanceId"].as_str()),
        (200, Some(id.as_str())),
        "{b}"
    );
    assert_eq!(active(&admin, &id), json!(["Task_Disconnect"]));

    // A task's candidate group may read the instance from now on.
    assert!(listed(&rex, &id));
    let (s, _) = rex.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(s, 200);
    // A signal from someone without `act` reaches nothing either.
    let (s, b) = olga.call("POST", "/api/signals", Some(json!({ "name": "Storm" })));
    assert_eq!((s, &b["delivered"]), (200, &json!(0)), "{b}");

    // A grant to a group: given, used, audited, taken back.
    let grant =
        json!({ "key": "disconnection", "permission": "read", "group": "billing-specialists" });
    let (s, b) = rex.call("POST", "/api/grants", Some(grant.clone()));
    assert_eq!(s, 403, "only administrators grant: {b}");
    let (s, b) = admin.call("POST", "/api/grants", Some(grant));
    assert_eq!(s, 201, "{b}");
    let (s, grants) = admin.call("GET", "/api/grants?key=disconnection", None);
    assert_eq!(
        (s, grants[0]["group"].as_str()),
        (200, Some("billing-specialists"))
    );
    assert!(listed(&olga, &id));
    let (s, _) = olga.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(s, 200);
    assert!(audited(&admin, "admin", "grant.add", "ok"));
    let (s, b) = admin.call(
        "DELETE",
        "/api/grants?key=disconnection&permission=read&group=billing-specialists",
        None,
    );
    assert_eq!(s, 204, "{b}");
    assert!(audited(&admin, "admin", "grant.remove", "ok"));
    assert!(!listed(&olga, &id));

    // Operating: reading is not enough to cancel; an `operate` grant is,
    // even without `read` (an operator need not see the customer's data).
    let cancel = format!("/api/process-instances/{id}/cancel");
    let (s, _) = olga.call("POST", &cancel, None);
    assert_eq!(s, 404, "one who may not read it is not told it exists");
    let (s, _) = cara.call("POST", &cancel, None);
    assert_eq!(s, 403);
    let (s, b) = admin.call(
        "POST",
        "/api/grants",
        Some(json!({ "key": "*", "permission": "operate", "user": "olga" })),
    );
    assert_eq!(s, 201, "{b}");
    let (s, b) = olga.call("POST", &cancel, None);
    assert_eq!(s, 204, "{b}");
    let (_, b) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(b["state"], "terminated");
}

#[test]
fn a_task_goes_only_to_someone_who_may_work_it() {
    let server = start_server_with(FIXTURES);
    let admin = admin(&server);
    let cara_pw = add_user(&admin, "cara", "staff", &["call-centre-representatives"]);
    let cara = Client::login(&server, "cara", &cara_pw);
    let rex = Client::login(
        &server,
        "rex",
        &add_user(&admin, "rex", "staff", &["recovery-executives"]),
    );
    add_user(&admin, "rita", "staff", &["recovery-executives"]);
    add_user(&admin, "olga", "staff", &["billing-specialists"]);
    add_user(&admin, "robot", "system", &[]);
    let (s, b) = cara.call(
        "POST",
        "/api/process-definitions/disconnection/start",
        Some(json!({ "businessKey": "ACC-2" })),
    );
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().expect("id").to_string();
    let (s, b) = admin.call(
        "POST",
        "/api/messages",
        Some(json!({ "name": "Paid", "businessKey": "ACC-2" })),
    );
    assert_eq!(s, 200, "{b}");
    let (_, tasks) = rex.call("GET", &format!("/api/tasks?instanceId={id}"), None);
    let task = tasks[0]["id"]
        .as_str()
        .expect("rex sees the task")
        .to_string();
    let (s, _) = rex.call("POST", &format!("/api/tasks/{task}/claim"), None);
    assert_eq!(s, 204);
    let assign = format!("/api/tasks/{task}/assign");
    for outsider in ["olga", "robot"] {
        let (s, b) = rex.call("POST", &assign, Some(json!({ "user": outsider })));
        assert_eq!(
            (s, b["field"].as_str()),
            (400, Some("user")),
            "{outsider}: {b}"
        );
    }
    let (_, t) = admin.call("GET", &format!("/api/tasks?instanceId={id}"), None);
    assert!(
        t.as_array().is_some_and(Vec::is_empty),
        "admin is no candidate: {t}"
    );
    let (s, b) = rex.call("POST", &assign, Some(json!({ "user": "rita" })));
    assert_eq!(s, 204, "a colleague of the candidate group: {b}");

    // A task that names no candidates goes to any person, never to a system account.
    let (s, b) = cara.call(
        "POST",
        "/api/process-definitions/open-task/start",
        Some(json!({})),
    );
    assert_eq!(s, 201, "cara is a candidate starter by name: {b}");
    let open = format!("{}:", b["id"].as_str().expect("id"));
    let (_, instance) = admin.call(
        "GET",
        &format!("/api/process-instances/{}", b["id"].as_str().expect("id")),
        None,
    );
    assert_eq!(instance["activeActivities"], json!(["O_Task"]));
    // Its task id: the instance's first local id that names a task.
    let open_task = (1..10)
        .map(|n| format!("{open}{n}"))
        .find(|t| {
            admin
                .call(
                    "POST",
                    &format!("/api/tasks/{t}/assign"),
                    Some(json!({ "user": "robot" })),
                )
                .0
                == 400
        })
        .expect("the open task refuses a system account");
    let (s, b) = admin.call(
        "POST",
        &format!("/api/tasks/{open_task}/assign"),
        Some(json!({ "user": "olga" })),
    );
    assert_eq!(s, 204, "{b}");
}

#[test]
fn sessions_end_when_the_password_or_role_changes_or_the_user_goes() {
    let server = start_server_with(FIXTURES);
    let admin = admin(&server);
    let pw = add_user(&admin, "bea", "staff", &["billing-specialists"]);
    let bea = Client::login(&server, "bea", &pw);
    assert_eq!(bea.call("GET", "/api/me", None).0, 200);

    // A new password (or role, or groups: the same request) ends the old session.
    let (s, b) = admin.call(
        "POST",
        "/api/users",
        Some(json!({ "name": "bea", "password": "a-new-password-1", "role": "analyst" })),
    );
    assert_eq!(s, 204, "{b}");
    assert_eq!(bea.call("GET", "/api/me", None).0, 401);
    let bea = Client::login(&server, "bea", "a-new-password-1");
    assert_eq!(bea.call("GET", "/api/me", None).1["role"], "analyst");

    // Disabled: the session ends and signing in fails.
    let (s, _) = admin.call(
        "POST",
        "/api/users",
        Some(json!({ "name": "bea", "password": "a-new-password-1", "role": "analyst", "disabled": true })),
    );
    assert_eq!(s, 204);
    assert_eq!(bea.call("GET", "/api/me", None).0, 401);
    let (s, _) = Client::new(&server).call(
        "POST",
        "/api/login",
        Some(json!({ "username": "bea", "password": "a-new-password-1" })),
    );
    assert_eq!(s, 401);

    // Removed: gone, with every session.
    let pw = add_user(&admin, "ben", "staff", &[]);
    let ben = Client::login(&server, "ben", &pw);
    let (s, _) = admin.call("DELETE", "/api/users/ben", None);
    assert_eq!(s, 204);
    assert_eq!(ben.call("GET", "/api/me", None).0, 401);
    let (s, _) = admin.call("DELETE", "/api/users/ben", None);
    assert_eq!(s, 404);
}

/// `[[[ … ]]]`, `levels` deep.
fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

#[test]
fn inputs_are_bounded_with_the_field_named_and_nothing_accepted_becomes_unreadable() {
    let server = start_server_with(FIXTURES);
    let admin = admin(&server);
    let start = "/api/process-definitions/disconnection/start";

    // 62 levels of nesting: refused, naming the variable (it used to be
    // accepted and then make every read of the instance fail).
    let (s, b) = admin.call(
        "POST",
        start,
        Some(json!({ "variables": { "x": nested(62) } })),
    );
    assert_eq!(s, 400, "{b}");
    assert!(
        b["field"]
            .as_str()
            .unwrap_or_default()
            .starts_with("variables.x"),
        "{b}"
    );
    let (s, b) = admin.call(
        "POST",
        start,
        Some(json!({ "variables": { "x": nested(20) } })),
    );
    assert_eq!(s, 201, "twenty levels are fine: {b}");
    let id = b["id"].as_str().expect("id").to_string();
    let (s, b) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
    assert_eq!(s, 200, "{b}");

    // NUL characters: in a variable's name, a map key, a business key.
    for body in [
        json!({ "variables": { "a\u{0}b": 1 } }),
        json!({ "variables": { "m": { "k\u{0}": 1 } } }),
        json!({ "businessKey": "ACC\u{0}1" }),
    ] {
        let (s, b) = admin.call("POST", start, Some(body.clone()));
        assert_eq!(s, 400, "{body}: {b}");
        assert!(
            b["reason"].as_str().unwrap_or_default().contains("NUL"),
            "{b}"
        );
    }

    // An error does not echo a megabyte of the input back.
    let long = "y".repeat(1024 * 1024);
    let (s, b) = admin.call("POST", start, Some(json!({ long.clone(): 1 })));
    assert_eq!(s, 422);
    assert!(b.to_string().len() < 2_000, "{} bytes", b.to_string().len());

    // A 3 MB signal payload (five variables each within their own limit) is
    // refused before it is copied into every instance that waits for it.
    let part = "z".repeat(600 * 1024);
    let (s, b) = admin.call(
        "POST",
        "/api/signals",
        Some(json!({ "name": "Storm", "variables": { "a": part, "b": part, "c": part, "d": part, "e": part } })),
    );
    assert_eq!((s, b["field"].as_str()), (413, Some("variables")), "{b}");

    // The document of the instance accepted above still reads, and its
    // administrator can cancel it.
    let (s, _) = admin.call("POST", &format!("/api/process-instances/{id}/cancel"), None);
    assert_eq!(s, 204);
}

#[test]
fn scripts_cannot_block_or_write_without_bound() {
    let server = start_server_with(FIXTURES);
    let admin = admin(&server);
    for (what, node, says) in [
        ("big", "S_Big", "weighs at most"),
        ("sleep", "S_Sleep", "sleep is not available"),
        ("deep", "S_Deep", "deep"),
    ] {
        let (s, b) = admin.call(
            "POST",
            "/api/process-definitions/scripted/start",
            Some(json!({ "variables": { "what": what } })),
        );
        assert_eq!(s, 201, "{what}: {b}");
        let id = b["id"].as_str().expect("id").to_string();
        let (_, inst) = admin.call("GET", &format!("/api/process-instances/{id}"), None);
        assert_eq!(inst["incidents"], json!([node]), "{what}: {inst}");
        assert!(
            inst["variables"].get("m").is_none(),
            "nothing was written: {inst}"
        );
        let (_, incidents) = admin.call("GET", "/api/incidents", None);
        let message = incidents
            .as_array()
            .expect("incidents")
            .iter()
            .find(|i| i["instanceId"] == id.as_str())
            .map(|i| i["message"].as_str().unwrap_or_default().to_string())
            .expect("an incident");
        assert!(message.contains(says), "{what}: {message}");
    }
}

/// A 5 MB tmpfs, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` when this user may not mount (the test then says so and stops).
    fn mount() -> Option<SmallDisk> {
        let dir = tempfile::tempdir().expect("temp dir");
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=5m", "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir })
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn the_writer_recovers_by_itself_after_a_full_disk_and_health_tells_the_truth() {
    if common::postgres().is_some() {
        return; // An SQLite file on a full disk; PostgreSQL's disk is not ours to fill.
    }
    let Some(disk) = SmallDisk::mount() else {
        eprintln!("SKIPPED: mounting a tmpfs needs root (tests/run.sh runs as root in CI)");
        return;
    };
    let filler = disk.dir.path().join("filler");
    // Leaves room for a fresh database with its migrations (about 2.1 MB with
    // its WAL, measured with `ls -l` after `serve` on an empty file); the
    // loop below fills the rest.
    std::fs::write(&filler, vec![0u8; 2000 * 1024]).expect("filler");
    let db = disk.dir.path().join("full.db").display().to_string();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_millrace"));
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--processes", FIXTURES])
        .arg("--database")
        .arg(&db)
        .env("MILLRACE_ADMIN_PASSWORD", ADMIN_PASSWORD);
    let server = spawn(cmd, db, tempfile::tempdir().expect("temp dir"));
    let admin = admin(&server);
    let health = || Client::new(&server).call("GET", "/health", None);
    assert_eq!(health().0, 200);

    let start = "/api/process-definitions/disconnection/start";
    let blob = "x".repeat(50_000);
    let mut full = false;
    for _ in 0..500 {
        let (s, b) = admin.call(
            "POST",
            start,
            Some(json!({ "variables": { "blob": blob } })),
        );
        if s != 201 {
            assert_eq!(
                s, 503,
                "a full disk is unavailability, not a server fault: {b}"
            );
            full = true;
            break;
        }
    }
    assert!(full, "the disk filled up");
    // Past the probe's one-second cache.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (s, b) = health();
    assert_eq!(
        s, 503,
        "health reports a database that cannot be written to: {b}"
    );
    assert!(
        b["reason"].as_str().unwrap_or_default().contains("written"),
        "{b}"
    );

    std::fs::remove_file(&filler).expect("space freed");
    // Every connection of the pool gets its turn: none is left stuck.
    for i in 0..8 {
        let (s, b) = admin.call(
            "POST",
            start,
            Some(json!({ "businessKey": format!("AFTER-{i}") })),
        );
        assert_eq!(s, 201, "start {i} after space was freed: {b}");
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(health().0, 200, "health sees writes succeed again");
}

#[test]
fn connections_that_never_finish_are_closed_and_do_not_hold_up_a_shutdown() {
    use std::io::{Read, Write};
    let mut server = start_server_with(FIXTURES);
    let addr = server.base.trim_start_matches("http://").to_string();

    // Headers that never come: the server closes the connection (after its
    // ten-second header timeout) instead of holding it open.
    let mut idle = std::net::TcpStream::connect(&addr).expect("connects");
    idle.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("timeout");
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .expect("writes");
    let mut buf = Vec::new();
    let read = idle.read_to_end(&mut buf);
    assert!(
        read.is_ok(),
        "the server closed the connection rather than the client timing out: {read:?}"
    );

    // A body that never finishes does not keep SIGTERM from stopping the server.
    let mut slow = std::net::TcpStream::connect(&addr).expect("connects");
    slow.write_all(
        b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"user",
    )
    .expect("writes");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let pid = server.child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = server.child.wait();
        let _ = done_tx.send(status.map(|s| s.success()));
        server
    });
    let exited = done_rx.recv_timeout(std::time::Duration::from_secs(60));
    assert!(
        matches!(exited, Ok(Ok(true))),
        "the server stopped, cleanly, with a request still sending its body: {exited:?}"
    );
    drop(waiter.join());
    drop(slow);
}

#[test]
fn wrong_passwords_slow_the_guesser_but_never_lock_the_real_user_out() {
    let server = start_server_with(FIXTURES);
    let admin = admin(&server);
    let pw = add_user(&admin, "bea", "staff", &[]);
    let anyone = Client::new(&server);
    for i in 0..6 {
        let (s, b) = anyone.call(
            "POST",
            "/api/login",
            Some(json!({ "username": "bea", "password": format!("guess-{i}") })),
        );
        assert_eq!(s, 401, "guess {i}: {b}");
    }
    // Six failures used to lock the account for 15 minutes, right password or not.
    let bea = Client::login(&server, "bea", &pw);
    assert_eq!(bea.call("GET", "/api/me", None).1["user"], "bea");
    assert!(audited(&admin, "bea", "login", "denied"));
}

/// How a caller stands to the instance under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// Staff of an unrelated group.
    Stranger,
    /// Staff of the task's candidate group.
    Candidate,
    /// Staff the task is assigned to.
    Assignee,
    /// The person who started it.
    Starter,
    /// Staff of a group granted `read` on the process.
    GrantedGroup,
    /// A system account that did not start it.
    System,
    /// An administrator.
    Admin,
}

/// One endpoint of the matrix: what, method, path, body, the expectation by
/// relation, and the action a denial is audited as.
type Case = (
    &'static str,
    &'static str,
    String,
    Option<Value>,
    Box<dyn Fn(Relation) -> Expect>,
    &'static str,
);

/// What a request should get: allowed, or refused with this status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Refused(u16),
}

#[test]
fn every_endpoint_denies_by_default_by_role_and_relation_and_audits_each_denial() {
    use Relation::*;
    let server = start_server_with(FIXTURES);
    let admin = admin(&server);
    let users: Vec<(Relation, &str, &str, &[&str])> = vec![
        (Stranger, "sam", "staff", &["billing-specialists"]),
        (Candidate, "cleo", "staff", &["recovery-executives"]),
        (Assignee, "abe", "staff", &["recovery-executives"]),
        (Starter, "stan", "staff", &["call-centre-representatives"]),
        (GrantedGroup, "gus", "staff", &["auditors"]),
        (System, "bot", "system", &[]),
    ];
    let mut clients: Vec<(Relation, String, Client)> = users
        .iter()
        .map(|(rel, name, role, groups)| {
            let pw = add_user(&admin, name, role, groups);
            (*rel, name.to_string(), Client::login(&server, name, &pw))
        })
        .collect();
    let (s, b) = admin.call(
        "POST",
        "/api/grants",
        Some(json!({ "key": "disconnection", "permission": "read", "group": "auditors" })),
    );
    assert_eq!(s, 201, "{b}");
    let starter = &clients.iter().find(|c| c.0 == Starter).expect("starter").2;
    let (s, b) = starter.call(
        "POST",
        "/api/process-definitions/disconnection/start",
        Some(json!({ "businessKey": "MATRIX", "variables": { "phone": "+1 555 0199" } })),
    );
    assert_eq!(s, 201, "{b}");
    let id = b["id"].as_str().expect("id").to_string();
    let (s, b) = admin.call(
        "POST",
        "/api/messages",
        Some(json!({ "name": "Paid", "businessKey": "MATRIX" })),
    );
    assert_eq!(s, 200, "{b}");
    let candidate = &clients
        .iter()
        .find(|c| c.0 == Candidate)
        .expect("candidate")
        .2;
    let (_, tasks) = candidate.call("GET", &format!("/api/tasks?instanceId={id}"), None);
    let task = tasks[0]["id"].as_str().expect("the task").to_string();
    // The assignee: given the task by a colleague, as a hand-over.
    let (s, _) = candidate.call("POST", &format!("/api/tasks/{task}/claim"), None);
    assert_eq!(s, 204);
    let (s, b) = candidate.call(
        "POST",
        &format!("/api/tasks/{task}/assign"),
        Some(json!({ "user": "abe" })),
    );
    assert_eq!(s, 204, "{b}");
    clients.push((Admin, "admin".into(), admin));

    let reads = |r: Relation| matches!(r, Candidate | Assignee | Starter | GrantedGroup | Admin);
    let instance_detail = move |r: Relation| {
        if reads(r) {
            Expect::Allowed
        } else {
            Expect::Refused(404)
        }
    };
    fn rule(f: impl Fn(Relation) -> Expect + 'static) -> Box<dyn Fn(Relation) -> Expect> {
        Box::new(f)
    }
    let only = |allowed: &'static [Relation]| {
        rule(move |r| {
            if allowed.contains(&r) {
                Expect::Allowed
            } else {
                Expect::Refused(403)
            }
        })
    };
    // (what, method, path, body, expectation by relation, the action a denial is audited as)
    let cases: Vec<Case> = vec![
        (
            "read",
            "GET",
            format!("/api/process-instances/{id}"),
            None,
            rule(instance_detail),
            "instance.read",
        ),
        (
            "history",
            "GET",
            format!("/api/process-instances/{id}/history"),
            None,
            rule(instance_detail),
            "instance.history",
        ),
        (
            "comments",
            "GET",
            format!("/api/process-instances/{id}/comments"),
            None,
            rule(instance_detail),
            "comments.read",
        ),
        (
            "comment",
            "POST",
            format!("/api/process-instances/{id}/comments"),
            Some(json!({ "text": "seen" })),
            rule(instance_detail),
            "comment",
        ),
        (
            "cancel",
            "POST",
            format!("/api/process-instances/{id}/cancel"),
            None,
            rule(move |r| match r {
                Admin => Expect::Allowed, // run last: it ends the instance
                r if reads(r) => Expect::Refused(403),
                _ => Expect::Refused(404),
            }),
            "cancel",
        ),
        (
            "task",
            "GET",
            format!("/api/tasks/{task}"),
            None,
            only(&[Candidate, Assignee]),
            "task.read",
        ),
        (
            "start",
            "POST",
            "/api/process-definitions/disconnection/start".into(),
            Some(json!({})),
            only(&[Starter, System, Admin]),
            "start",
        ),
        (
            "users",
            "GET",
            "/api/users".into(),
            None,
            only(&[Admin]),
            "list users",
        ),
        (
            "grants",
            "GET",
            "/api/grants".into(),
            None,
            only(&[Admin]),
            "read grants",
        ),
        (
            "audit",
            "GET",
            "/api/audit".into(),
            None,
            only(&[Admin]),
            "read the audit",
        ),
    ];
    // A signal reaches the instance's boundary event only from those who may act on it.
    for (rel, name, client) in &clients {
        let (s, b) = client.call("POST", "/api/signals", Some(json!({ "name": "Storm" })));
        let acts = matches!(rel, System | Admin);
        assert_eq!(
            (s, &b["delivered"]),
            (200, &json!(u8::from(acts))),
            "signal as {rel:?}: {b}"
        );
        if !acts {
            assert!(
                audited(&clients.last().expect("admin").2, name, "signal", "denied"),
                "{name}'s withheld signal is audited"
            );
        }
    }
    let mut wrong = Vec::new();
    let mut denials: Vec<(String, &str)> = Vec::new();
    // Cancel last, so the instance is there for every other case.
    let (cancel, others): (Vec<_>, Vec<_>) = cases.iter().partition(|c| c.0 == "cancel");
    for case in others.into_iter().chain(cancel) {
        let (what, method, path, body, rule, action) = case;
        for (rel, name, client) in &clients {
            let expected = rule(*rel);
            let (s, b) = client.call(method, path, body.clone());
            let got = if (200..300).contains(&s) {
                Expect::Allowed
            } else {
                Expect::Refused(s)
            };
            if got != expected {
                wrong.push(format!(
                    "{what} as {rel:?}: expected {expected:?}, got {s} {b}"
                ));
            }
            if matches!(expected, Expect::Refused(_)) {
                denials.push((name.clone(), action));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    // Lists show only what the caller may read.
    let admin = &clients.iter().find(|c| c.0 == Admin).expect("admin").2;
    for (rel, _, client) in &clients {
        assert_eq!(
            listed(client, &id),
            reads(*rel),
            "{rel:?} lists the instance"
        );
    }
    // Every denial is in the audit, by actor and action.
    let (_, audit) = admin.call("GET", "/api/audit", None);
    let audit = audit.as_array().expect("audit");
    for (actor, action) in &denials {
        assert!(
            audit.iter().any(|a| a["actor"] == actor.as_str()
                && a["action"] == *action
                && a["outcome"] == "denied"),
            "the denial of {action} to {actor} is audited"
        );
    }
}
