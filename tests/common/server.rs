//! A real `millrace serve` on loopback with a fresh database, and an HTTP
//! client with its own session: what the HTTP and security tests share.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

pub struct Server {
    pub child: Child,
    pub base: String,
    pub db: String,
    pub _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `millrace serve` over the processes in `tests/fixtures/http`.
pub fn start_server() -> Server {
    start_server_with("tests/fixtures/http")
}

/// `millrace serve` over the processes in `processes` (relative to the repository).
pub fn start_server_with(processes: &str) -> Server {
    start_server_with_args(processes, &[])
}

/// `millrace serve` over `processes`, with more flags (`--smtp-url …`).
pub fn start_server_with_args(processes: &str, extra: &[&str]) -> Server {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = super::database(dir.path(), "http");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_millrace"));
    cmd.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--processes",
        processes,
        "--scripts",
        "scripts",
    ])
    .args(extra)
    .arg("--database")
    .arg(&db)
    .env("MILLRACE_ADMIN_PASSWORD", ADMIN_PASSWORD);
    spawn(cmd, db, dir)
}

/// Starts `millrace serve` as `cmd` says and waits until it listens.
pub fn spawn(mut cmd: Command, db: String, dir: tempfile::TempDir) -> Server {
    let mut child = cmd
        .env("RUST_LOG", "warn")
        .current_dir(repo())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("server starts");
    let base = super::listening_on(&mut child);
    Server {
        child,
        base,
        db,
        _dir: dir,
    }
}

/// A client with its own session.
pub struct Client {
    pub agent: ureq::Agent,
    pub base: String,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
}

impl Client {
    pub fn new(server: &Server) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Pages redirect; the tests look at the redirect itself.
            .max_redirects(0)
            .build()
            .into();
        Client {
            agent,
            base: server.base.clone(),
            cookie: None,
            csrf: None,
            bearer: None,
        }
    }

    pub fn login(server: &Server, user: &str, password: &str) -> Client {
        let mut c = Client::new(server);
        let (status, body, headers) = c.call_raw(
            "POST",
            "/api/login",
            Some(json!({ "username": user, "password": password })),
        );
        assert_eq!(status, 200, "login {user}: {body}");
        c.cookie = headers
            .into_iter()
            .find(|(k, _)| k == "set-cookie")
            .map(|(_, v)| v.split(';').next().unwrap_or_default().to_string());
        c.csrf = body["csrfToken"].as_str().map(str::to_string);
        c
    }

    /// Sends a request with this client's credentials; an error is a transport failure.
    #[allow(clippy::type_complexity)]
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value, Vec<(String, String)>), String> {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder().method(method).uri(&url);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        if let Some(b) = &self.bearer {
            req = req.header("authorization", format!("Bearer {b}"));
        }
        let text = body.map(|b| b.to_string()).unwrap_or_default();
        let req = req
            .header("content-type", "application/json")
            .body(text)
            .map_err(|e| e.to_string())?;
        let mut resp = self
            .agent
            .run(req)
            .map_err(|e| e.to_string().to_lowercase())?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    v.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, json, headers))
    }

    pub fn call_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value, Vec<(String, String)>) {
        self.send(method, path, body).expect("the server answers")
    }

    pub fn try_call(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        self.send(method, path, body).map(|(s, b, _)| (s, b))
    }

    /// GETs `path` as bytes (a PDF, say): the status, the body, the content type.
    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>, String) {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder().method("GET").uri(&url);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let Some(b) = &self.bearer {
            req = req.header("authorization", format!("Bearer {b}"));
        }
        let req = req.body(()).expect("a request");
        let mut resp = self.agent.run(req).expect("the server answers");
        let kind = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_vec()
            .expect("a body");
        (resp.status().as_u16(), body, kind)
    }

    /// POSTs raw bytes with a content type (a file upload): the status and the JSON answer.
    pub fn post_bytes(&self, path: &str, content_type: &str, bytes: Vec<u8>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let mut req = ureq::http::Request::builder().method("POST").uri(&url);
        if let Some(c) = &self.cookie {
            req = req.header("cookie", c);
        }
        if let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        if let Some(b) = &self.bearer {
            req = req.header("authorization", format!("Bearer {b}"));
        }
        let req = req
            .header("content-type", content_type)
            .body(bytes)
            .expect("a request");
        let mut resp = self.agent.run(req).expect("the server answers");
        let status = resp.status().as_u16();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let (s, b, _) = self.call_raw(method, path, body);
        (s, b)
    }
}

pub fn admin(server: &Server) -> Client {
    Client::login(server, "admin", ADMIN_PASSWORD)
}

pub fn add_user(admin: &Client, name: &str, role: &str, groups: &[&str]) -> String {
    let password = format!("{name}-password-123");
    let (s, b) = admin.call(
        "POST",
        "/api/users",
        Some(json!({ "name": name, "password": password, "role": role, "groups": groups })),
    );
    assert_eq!(s, 204, "{b}");
    password
}
