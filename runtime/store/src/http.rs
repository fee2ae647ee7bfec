//! The `http` connector: a process calls a host an administrator allowed
//! (`--http-allow`), with a timeout, the job's id as `Idempotency-Key`, and
//! the answer mapped back by output parameters. The worker makes the call
//! before it opens the job's unit, so a slow host never holds the database.
//!
//! Inputs: `url` (required, `http://` — this build has no TLS), `method`
//! (`GET` unless given: `GET`, `POST`, `PUT`, `PATCH`, `DELETE`), `headers`
//! (a map of strings), `payload` (a string sent as it is, or a map or list
//! sent as JSON), `timeout` (seconds, 1 to 30, 10 unless given). The answer:
//! `statusCode`, `response` (the body as text, up to 1 MiB), `headers`
//! (names in lower case) and, for a JSON body, `json` (the body read).
//! A status of 500 or more, a timeout or a refused connection is an
//! incident with the host's message; any other status is the process's to
//! decide on. Redirects are not followed: one could leave the allowed hosts.

use std::time::Duration;

use millrace_engine::{Value, Variables};
use ureq::http;

use crate::connector::ConnectorError;

/// The longest body read back.
const BODY_LIMIT: u64 = 1 << 20;
/// The timeout when the task gives none, and the most it may give.
const TIMEOUT_DEFAULT: u64 = 10;
const TIMEOUT_MAX: u64 = 30;

/// A call ready to make: checked against the allow-list.
#[derive(Debug)]
pub(crate) struct HttpCall {
    method: http::Method,
    url: http::Uri,
    headers: Vec<(String, String)>,
    body: Option<(Vec<u8>, &'static str)>,
    timeout: Duration,
}

/// Whether `allow` lets a call reach `host` on `port`: an entry is a host
/// (any port) or `host:port`; names compare in any case.
fn allowed(allow: &[String], host: &str, port: u16) -> bool {
    allow.iter().any(|entry| {
        let entry = entry.trim().to_ascii_lowercase();
        match entry.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() => {
                h == host.to_ascii_lowercase() && p.parse() == Ok(port)
            }
            _ => entry == host.to_ascii_lowercase(),
        }
    })
}

fn text_input<'a>(input: &'a Variables, name: &str) -> Result<Option<&'a str>, ConnectorError> {
    match input.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(other) => Err(ConnectorError::Call(format!(
            "the http connector's {name} input is text, not {}",
            other.to_json()
        ))),
    }
}

/// Reads a task's inputs into a call, refusing a host not on `allow`.
pub(crate) fn prepare(input: &Variables, allow: &[String]) -> Result<HttpCall, ConnectorError> {
    let call = |m: String| ConnectorError::Call(m);
    let url_text = text_input(input, "url")?
        .ok_or_else(|| call("the http connector was given no url (input parameter url)".into()))?;
    let url: http::Uri = url_text
        .trim()
        .parse()
        .map_err(|e| call(format!("the url {url_text:?} does not read: {e}")))?;
    match url.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(call(format!(
                "{url_text}: this build of Millrace calls http:// hosts only (no TLS); \
                 put a TLS-terminating proxy on an allowed host in front of it"
            )))
        }
        _ => return Err(call(format!("{url_text}: the url must start with http://"))),
    }
    let host = url
        .host()
        .ok_or_else(|| call(format!("{url_text}: the url names no host")))?;
    let port = url.port_u16().unwrap_or(80);
    if !allowed(allow, host, port) {
        return Err(call(format!(
            "{host}:{port} is not among the hosts an administrator allowed (--http-allow)"
        )));
    }
    let method = match text_input(input, "method")?.map(|m| m.trim().to_ascii_uppercase()) {
        None => http::Method::GET,
        Some(m) => match m.as_str() {
            "GET" => http::Method::GET,
            "POST" => http::Method::POST,
            "PUT" => http::Method::PUT,
            "PATCH" => http::Method::PATCH,
            "DELETE" => http::Method::DELETE,
            _ => {
                return Err(call(format!(
                    "the http connector's method {m:?} is not GET, POST, PUT, PATCH or DELETE"
                )))
            }
        },
    };
    let headers = match input.get("headers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Map(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k.clone(), s.clone()),
                other => (k.clone(), other.to_json().to_string()),
            })
            .collect(),
        Some(_) => {
            return Err(call(
                "the http connector's headers input is a map of names to text".into(),
            ))
        }
    };
    let body = match input.get("payload") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some((s.clone().into_bytes(), "text/plain; charset=utf-8")),
        Some(v) => Some((v.to_json().to_string().into_bytes(), "application/json")),
    };
    if body.is_some() && matches!(method, http::Method::GET | http::Method::DELETE) {
        return Err(call(format!(
            "a {method} call sends no payload; use POST, PUT or PATCH"
        )));
    }
    let timeout = match input.get("timeout") {
        None | Some(Value::Null) => TIMEOUT_DEFAULT,
        Some(Value::Int(n)) if (1..=TIMEOUT_MAX as i64).contains(n) => *n as u64,
        Some(other) => {
            return Err(call(format!(
                "the http connector's timeout is whole seconds from 1 to {TIMEOUT_MAX}, not {}",
                other.to_json()
            )))
        }
    };
    Ok(HttpCall {
        method,
        url,
        headers,
        body,
        timeout: Duration::from_secs(timeout),
    })
}

/// Makes the call (on a blocking thread: the client is synchronous) and
/// reads the answer into the variables the output parameters map.
pub(crate) async fn make(
    call: HttpCall,
    idempotency_key: &str,
) -> Result<Variables, ConnectorError> {
    let key = idempotency_key.to_string();
    tokio::task::spawn_blocking(move || make_blocking(call, &key))
        .await
        .map_err(|e| ConnectorError::Http(format!("the call did not finish: {e}")))?
}

fn make_blocking(call: HttpCall, idempotency_key: &str) -> Result<Variables, ConnectorError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(call.timeout))
        .build()
        .into();
    let target = call.url.to_string();
    let mut builder = http::Request::builder()
        .method(call.method.clone())
        .uri(call.url)
        .header("idempotency-key", idempotency_key)
        .header("user-agent", "millrace");
    for (name, value) in &call.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let bad = |e: http::Error| ConnectorError::Call(format!("{target}: {e}"));
    let sent = match call.body {
        Some((bytes, content_type)) => {
            let request = builder
                .header("content-type", content_type)
                .body(bytes)
                .map_err(bad)?;
            agent.run(request)
        }
        None => agent.run(builder.body(()).map_err(bad)?),
    };
    let mut response = sent.map_err(|e| ConnectorError::Http(format!("{target}: {e}")))?;
    let status = response.status().as_u16();
    let mut headers = Variables::new();
    for (name, value) in response.headers() {
        headers.insert(
            name.as_str().to_string(),
            Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
        );
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_string()
        .map_err(|e| ConnectorError::Http(format!("{target}: the answer does not read: {e}")))?;
    if status >= 500 {
        let head: String = body.chars().take(300).collect();
        return Err(ConnectorError::Http(format!(
            "{target} answered {status}: {head}"
        )));
    }
    let is_json = headers
        .get("content-type")
        .is_some_and(|v| matches!(v, Value::String(t) if t.contains("json")));
    let mut out = Variables::new();
    out.insert("statusCode".into(), Value::Int(i64::from(status)));
    if is_json {
        let read = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|j| Value::from_json(&j).ok());
        if let Some(json) = read {
            out.insert("json".into(), json);
        }
    }
    out.insert("response".into(), Value::String(body));
    out.insert("headers".into(), Value::Map(headers));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(pairs: &[(&str, Value)]) -> Variables {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn url(u: &str) -> (&'static str, Value) {
        ("url", Value::String(u.into()))
    }

    fn refusal(input: &Variables, allow: &[&str]) -> String {
        let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
        match prepare(input, &allow) {
            Err(e) => e.to_string(),
            Ok(c) => panic!("prepared {c:?}"),
        }
    }

    #[test]
    fn only_allowed_hosts_and_ports_are_called() {
        let allow = vec!["billing.internal".to_string(), "127.0.0.1:8081".to_string()];
        for ok in [
            "http://billing.internal/api",
            "http://BILLING.internal:9000/x",
            "http://127.0.0.1:8081/",
        ] {
            assert!(prepare(&input(&[url(ok)]), &allow).is_ok(), "{ok}");
        }
        assert!(refusal(
            &input(&[url("http://127.0.0.1:8082/")]),
            &["127.0.0.1:8081"]
        )
        .contains("127.0.0.1:8082 is not among the hosts"));
        assert!(refusal(&input(&[url("http://evil.example/")]), &[]).contains("--http-allow"));
    }

    #[test]
    fn bad_inputs_are_refused_naming_the_input() {
        let allow = ["h"];
        assert!(refusal(&input(&[]), &allow).contains("no url"));
        assert!(refusal(&input(&[url("https://h/")]), &allow).contains("no TLS"));
        assert!(refusal(&input(&[url("ftp://h/")]), &allow).contains("http://"));
        assert!(refusal(
            &input(&[url("http://h/"), ("method", Value::String("TRACE".into()))]),
            &allow
        )
        .contains("method \"TRACE\""));
        assert!(refusal(
            &input(&[url("http://h/"), ("payload", Value::String("x".into()))]),
            &allow
        )
        .contains("a GET call sends no payload"));
        assert!(refusal(
            &input(&[url("http://h/"), ("timeout", Value::Int(90))]),
            &allow
        )
        .contains("1 to 30"));
    }

    #[test]
    fn a_map_payload_is_sent_as_json() {
        let mut body = Variables::new();
        body.insert("account".into(), Value::String("ACC-1".into()));
        let call = prepare(
            &input(&[
                url("http://h/bills"),
                ("method", Value::String("post".into())),
                ("payload", Value::Map(body)),
            ]),
            &["h".to_string()],
        )
        .expect("prepared");
        assert_eq!(call.method, http::Method::POST);
        let (bytes, content_type) = call.body.expect("a body");
        assert_eq!(content_type, "application/json");
        assert_eq!(
            String::from_utf8(bytes).expect("utf-8"),
            r#"{"account":"ACC-1"}"#
        );
    }
}
