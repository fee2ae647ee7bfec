//! The `http` connector: a process calls a host an administrator allowed
//! (`--http-allow`), with a timeout, the job's id as `Idempotency-Key`, and
//! the answer mapped back by output parameters. The worker makes the call
//! before it opens the job's unit, so a slow host never holds the database.
//!
//! Inputs: `url` (required, `http://` or `https://`), `method`
//! (`GET` unless given: `GET`, `POST`, `PUT`, `PATCH`, `DELETE`), `headers`
//! (a map of strings), `payload` (a string sent as it is, or a map or list
//! sent as JSON), `timeout` (seconds, 1 to 30, 10 unless given). The answer:
//! `statusCode`, `response` (the body as text, up to 1 MiB), `headers`
//! (names in lower case) and, for a JSON body, `json` (the body read).
//! A status of 500 or more, a timeout or a refused connection is an
//! incident with the host's message; any other status is the process's to
//! decide on. Redirects are not followed: one could leave the allowed hosts.
//!
//! `https` hosts are verified against Mozilla's root certificates (the
//! `webpki-roots` crate, compiled in, so no system store is needed), or only
//! against the authorities an administrator gave (`--http-ca`, a PEM file),
//! as a utility's internal services are often signed by its own CA.

use std::sync::Arc;
use std::time::Duration;

use millrace_engine::{Value, Variables};
use ureq::http;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

use crate::connector::ConnectorError;

/// The longest body read back.
const BODY_LIMIT: u64 = 1 << 20;
/// The timeout when the task gives none, and the most it may give.
const TIMEOUT_DEFAULT: u64 = 10;
const TIMEOUT_MAX: u64 = 30;

/// Whom `https` calls trust to vouch for a host's certificate.
#[derive(Debug, Clone, Default)]
pub enum HttpTrust {
    /// Mozilla's root certificates (what browsers trust).
    #[default]
    PublicRoots,
    /// Only these certificate authorities (an administrator's PEM file).
    Authorities(Arc<Vec<Certificate<'static>>>),
}

impl HttpTrust {
    /// The authorities in a PEM file: its certificates (a private key in it
    /// is skipped, never used). Refused when none reads, with the reason.
    pub fn from_pem(pem: &[u8]) -> Result<HttpTrust, String> {
        let mut certificates = Vec::new();
        for (i, item) in ureq::tls::parse_pem(pem).enumerate() {
            match item {
                Ok(PemItem::Certificate(c)) => certificates.push(c),
                Ok(_) => {}
                Err(e) => return Err(format!("PEM section {} does not read: {e}", i + 1)),
            }
        }
        if certificates.is_empty() {
            return Err("it holds no certificate (-----BEGIN CERTIFICATE----- …)".into());
        }
        Ok(HttpTrust::Authorities(Arc::new(certificates)))
    }

    /// How many authorities it names; none for the public roots.
    pub fn authorities(&self) -> usize {
        match self {
            HttpTrust::PublicRoots => 0,
            HttpTrust::Authorities(c) => c.len(),
        }
    }

    fn tls_config(&self) -> TlsConfig {
        let roots = match self {
            HttpTrust::PublicRoots => RootCerts::WebPki,
            HttpTrust::Authorities(c) => RootCerts::Specific(c.clone()),
        };
        TlsConfig::builder().root_certs(roots).build()
    }
}

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
    let default_port = match url.scheme_str() {
        Some("http") => 80,
        Some("https") => 443,
        _ => {
            return Err(call(format!(
                "{url_text}: the url must start with http:// or https://"
            )))
        }
    };
    let host = url
        .host()
        .ok_or_else(|| call(format!("{url_text}: the url names no host")))?;
    let port = url.port_u16().unwrap_or(default_port);
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
    trust: HttpTrust,
    idempotency_key: &str,
) -> Result<Variables, ConnectorError> {
    let key = idempotency_key.to_string();
    tokio::task::spawn_blocking(move || make_blocking(call, &trust, &key))
        .await
        .map_err(|e| ConnectorError::Http(format!("the call did not finish: {e}")))?
}

fn make_blocking(
    call: HttpCall,
    trust: &HttpTrust,
    idempotency_key: &str,
) -> Result<Variables, ConnectorError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(trust.tls_config())
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
    let mut response = sent.map_err(|e| ConnectorError::Http(refused_because(&target, &e)))?;
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

/// What a failed call says: the client's reason, and for a certificate the
/// host's certificate does not pass, what an administrator can do about it.
fn refused_because(target: &str, error: &ureq::Error) -> String {
    // rustls's refusal of a certificate reaches ureq through the socket's
    // reader, so it arrives as an I/O error of kind InvalidData.
    let tls = match error {
        ureq::Error::Rustls(_) | ureq::Error::Tls(_) => true,
        ureq::Error::Io(e) => {
            e.kind() == std::io::ErrorKind::InvalidData && e.to_string().contains("certificate")
        }
        _ => false,
    };
    match tls {
        true => format!(
            "{target}: the TLS connection failed: {error} (the host's certificate must be \
             valid for its name and issued by an authority Millrace trusts: the public \
             roots, or those an administrator gave with --http-ca)"
        ),
        false => format!("{target}: {error}"),
    }
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
    fn an_https_url_is_on_port_443_unless_it_names_one() {
        assert!(prepare(
            &input(&[url("https://billing.internal/")]),
            &["billing.internal:443".to_string()]
        )
        .is_ok());
        assert!(refusal(
            &input(&[url("https://billing.internal/")]),
            &["billing.internal:80"]
        )
        .contains("billing.internal:443 is not among"));
        assert!(prepare(
            &input(&[url("https://billing.internal:8443/")]),
            &["billing.internal:8443".to_string()]
        )
        .is_ok());
    }

    #[test]
    fn an_authorities_file_must_hold_a_certificate() {
        let none = HttpTrust::from_pem(b"no pem here").expect_err("nothing to trust");
        assert!(none.contains("no certificate"), "{none}");
        let key_only = b"-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f\n-----END PRIVATE KEY-----\n";
        let why = HttpTrust::from_pem(key_only).expect_err("a key is not an authority");
        assert!(why.contains("no certificate"), "{why}");
        assert_eq!(HttpTrust::default().authorities(), 0);
    }

    #[test]
    fn bad_inputs_are_refused_naming_the_input() {
        let allow = ["h"];
        assert!(refusal(&input(&[]), &allow).contains("no url"));
        assert!(prepare(&input(&[url("https://h/")]), &["h".to_string()]).is_ok());
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
