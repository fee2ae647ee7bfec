//! Calls to the server's `/api` from the browser: JSON in and out with the
//! shared `millrace-api` types, the session's CSRF header on every
//! state-changing call, and one place that sends an ended session to the
//! sign-in page. On the server (`ssr`) these never run: effects and event
//! handlers run only in the browser.

use millrace_api::ErrorBody;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// A refused or failed call: the HTTP status and the server's JSON error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// HTTP status (0: the server could not be reached).
    pub status: u16,
    /// What the server said.
    pub body: ErrorBody,
}

impl Failure {
    fn local(reason: impl Into<String>) -> Self {
        Failure {
            status: 0,
            body: ErrorBody {
                error: "network".into(),
                field: None,
                reason: reason.into(),
            },
        }
    }

    /// The reason, in words.
    pub fn reason(&self) -> String {
        self.body.reason.clone()
    }
}

/// `GET url`, read as JSON.
pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, Failure> {
    call("GET", url, None, "").await
}

/// `method url` with a JSON body, read as JSON.
pub async fn send<B: Serialize, T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: &B,
    csrf: &str,
) -> Result<T, Failure> {
    let text = serde_json::to_string(body).map_err(|e| Failure::local(e.to_string()))?;
    call(method, url, Some(text), csrf).await
}

/// `GET url`, read as text (a version's BPMN XML).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub async fn get_text(url: &str) -> Result<String, Failure> {
    fetch_text("GET", url, None, "").await
}

async fn call<T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: Option<String>,
    csrf: &str,
) -> Result<T, Failure> {
    let text = fetch_text(method, url, body, csrf).await?;
    let text = if text.is_empty() { "null" } else { &text };
    serde_json::from_str(text)
        .map_err(|e| Failure::local(format!("unexpected answer from {url}: {e}")))
}

#[cfg(not(feature = "hydrate"))]
async fn fetch_text(
    _method: &str,
    _url: &str,
    _body: Option<String>,
    _csrf: &str,
) -> Result<String, Failure> {
    Err(Failure::local("the API is called from the browser only"))
}

/// `method url`: the answer's text when it succeeded, else the error body.
#[cfg(feature = "hydrate")]
async fn fetch_text(
    method: &str,
    url: &str,
    body: Option<String>,
    csrf: &str,
) -> Result<String, Failure> {
    let body = body.map(|b| {
        (
            wasm_bindgen::JsValue::from_str(&b),
            "application/json".to_string(),
        )
    });
    fetch_raw(method, url, body, csrf).await
}

/// `POST url` with a file as the body, sent as its own type; the answer read as JSON.
#[cfg(feature = "hydrate")]
pub async fn upload<T: DeserializeOwned>(
    url: &str,
    file: &web_sys::File,
    csrf: &str,
) -> Result<T, Failure> {
    let kind = match file.type_() {
        t if t.is_empty() => "application/octet-stream".to_string(),
        t => t,
    };
    let text = fetch_raw("POST", url, Some((file.clone().into(), kind)), csrf).await?;
    serde_json::from_str(&text)
        .map_err(|e| Failure::local(format!("unexpected answer from {url}: {e}")))
}

/// `method url` with a body of the given content type: the answer's text when
/// it succeeded, else the error body.
#[cfg(feature = "hydrate")]
async fn fetch_raw(
    method: &str,
    url: &str,
    body: Option<(wasm_bindgen::JsValue, String)>,
    csrf: &str,
) -> Result<String, Failure> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;

    let init = web_sys::RequestInit::new();
    init.set_method(method);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    let headers = web_sys::Headers::new().map_err(js_failure)?;
    headers
        .set("accept", "application/json")
        .map_err(js_failure)?;
    if let Some((b, content_type)) = &body {
        headers
            .set("content-type", content_type)
            .map_err(js_failure)?;
        init.set_body(b);
    }
    if method != "GET" {
        headers.set("x-csrf-token", csrf).map_err(js_failure)?;
    }
    init.set_headers(&headers);
    let request = web_sys::Request::new_with_str_and_init(url, &init).map_err(js_failure)?;
    let window = web_sys::window().ok_or_else(|| Failure::local("no window"))?;
    let response: web_sys::Response = JsFuture::from(window.fetch_with_request(&request))
        .await
        .map_err(|_| Failure::local("the server cannot be reached; check your connection"))?
        .dyn_into()
        .map_err(js_failure)?;
    let status = response.status();
    let text = JsFuture::from(response.text().map_err(js_failure)?)
        .await
        .map_err(js_failure)?
        .as_string()
        .unwrap_or_default();
    if status == 401 {
        session_lost();
    }
    if (200..300).contains(&status) {
        Ok(text)
    } else {
        let body = serde_json::from_str::<ErrorBody>(&text).unwrap_or(ErrorBody {
            error: "http".into(),
            field: None,
            reason: format!("{url} answered {status}"),
        });
        Err(Failure { status, body })
    }
}

#[cfg(feature = "hydrate")]
fn js_failure(e: wasm_bindgen::JsValue) -> Failure {
    Failure::local(format!("{e:?}"))
}

/// Goes to `url` (a full page load: pages are routed by the server).
pub fn navigate(url: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_href(url);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}

/// The session ended: to the sign-in page, and back here afterwards.
#[cfg(feature = "hydrate")]
fn session_lost() {
    if let Some(w) = web_sys::window() {
        let here = w.location().pathname().unwrap_or_default();
        let next = js_sys::encode_uri_component(&here);
        navigate(&format!("/login?next={next}&ended=1"));
    }
}

/// Signs out and goes to the sign-in page.
pub fn sign_out(csrf: String) {
    leptos::task::spawn_local(async move {
        let _: Result<serde_json::Value, Failure> =
            send("POST", "/api/logout", &serde_json::json!({}), &csrf).await;
        navigate("/login");
    });
}
