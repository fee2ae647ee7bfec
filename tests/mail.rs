//! Mail goes through the outbox to a real SMTP server (aiosmtpd, from PyPI,
//! started by the test) with its outbox key as Message-ID, and the
//! instance's documents it names as attachments.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

use serde_json::{json, Value};

/// The administrator's session cookie and CSRF token.
fn sign_in(agent: &ureq::Agent, base: &str) -> (String, String) {
    let mut resp = agent
        .post(&format!("{base}/api/login"))
        .send_json(json!({ "username": "admin", "password": "admin-password-for-tests" }))
        .expect("login");
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .to_string();
    let body: Value = resp.body_mut().read_json().expect("json");
    (
        cookie,
        body["csrfToken"].as_str().unwrap_or_default().to_string(),
    )
}

/// Starts the fixture's `notify` process, whose mail task sends the final bill.
fn start_notify(agent: &ureq::Agent, base: &str, token: &(String, String)) -> String {
    let mut resp = agent
        .post(&format!("{base}/api/process-definitions/notify/start"))
        .header("cookie", &token.0)
        .header("x-csrf-token", &token.1)
        .send_json(json!({ "variables": { "email": "john.smith@example.com", "name": "John Michael Smith", "amount": 456.78 } }))
        .expect("start");
    assert_eq!(resp.status().as_u16(), 201);
    let started: Value = resp.body_mut().read_json().expect("json");
    started["id"].as_str().expect("instance id").to_string()
}

/// `millrace serve` on the mail fixture with `mail_args`, not yet waited for.
fn serve(dir: &std::path::Path, mail_args: &[String]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_millrace"))
        .args([
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--processes",
            "tests/fixtures/mail",
        ])
        .args(mail_args)
        .arg("--database")
        .arg(common::database(dir, "mail"))
        .env("MILLRACE_ADMIN_PASSWORD", "admin-password-for-tests")
        .env("RUST_LOG", "warn")
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server starts")
}

/// Reads the server's log away, so a chatty server never fills its pipe.
fn drain_stderr(child: &mut std::process::Child) {
    if let Some(mut stderr) = child.stderr.take() {
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    }
}

/// A certificate authority's PEM, and a certificate and key (PEM) it issued
/// for `localhost`: a relay signed by the company's own authority.
fn company_authority() -> (String, String, String) {
    let ca_key = rcgen::KeyPair::generate().expect("authority key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::new()).expect("authority params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Utility internal CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("authority");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let host_key = rcgen::KeyPair::generate().expect("host key");
    let host_cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .expect("host params")
        .signed_by(&host_key, &issuer)
        .expect("host certificate");
    (ca_cert.pem(), host_cert.pem(), host_key.serialize_pem())
}

#[test]
fn mail_goes_over_starttls_to_a_relay_signed_by_the_companys_own_authority() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (ca, certificate, key) = company_authority();
    let (ca_file, cert_file, key_file) = (
        dir.path().join("company-ca.pem"),
        dir.path().join("relay.pem"),
        dir.path().join("relay-key.pem"),
    );
    std::fs::write(&ca_file, ca).expect("write");
    std::fs::write(&cert_file, certificate).expect("write");
    std::fs::write(&key_file, key).expect("write");
    let maildir = dir.path().join("maildir");
    // The relay refuses mail before STARTTLS (aiosmtpd's require_starttls).
    let (_smtp, smtp_port) = common::smtp::start_with(&maildir, Some((&cert_file, &key_file)));

    // An authorities file without a certificate stops the server, naming it.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificate here\n").expect("write");
    let refused = serve(
        dir.path(),
        &[
            "--smtp-url".into(),
            format!("smtp://localhost:{smtp_port}?tls=required"),
            "--smtp-ca".into(),
            empty.display().to_string(),
        ],
    )
    .wait_with_output()
    .expect("the server stops");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("empty.pem: it holds no certificate"),
        "{said}"
    );

    let mut server = serve(
        dir.path(),
        &[
            "--smtp-url".into(),
            format!("smtp://localhost:{smtp_port}?tls=required"),
            "--smtp-ca".into(),
            ca_file.display().to_string(),
        ],
    );
    drain_stderr(&mut server);
    let base = common::listening_on(&mut server);
    let _server = common::smtp::Killed(server);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let token = sign_in(&agent, &base);
    start_notify(&agent, &base, &token);
    let mail = common::smtp::mails(&maildir, 1, Duration::from_secs(15)).remove(0);
    assert!(mail.contains("Subject: Your final bill"), "{mail}");
    assert!(mail.contains("To: john.smith@example.com"), "{mail}");
}

#[test]
fn a_mail_task_is_delivered_once_over_smtp_with_its_key_and_its_attachment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let maildir = dir.path().join("maildir");
    let (_smtp, smtp_port) = common::smtp::start(&maildir);

    let mut server = serve(
        dir.path(),
        &["--smtp-url".into(), format!("smtp://127.0.0.1:{smtp_port}")],
    );
    drain_stderr(&mut server);
    let base = common::listening_on(&mut server);
    let _server = common::smtp::Killed(server);

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let token = sign_in(&agent, &base);
    let instance = start_notify(&agent, &base, &token);

    let mail = common::smtp::mails(&maildir, 1, Duration::from_secs(15)).remove(0);
    assert!(mail.contains("To: john.smith@example.com"), "{mail}");
    assert!(mail.contains("Subject: Your final bill"), "{mail}");
    assert!(
        mail.contains("Dear John Michael Smith, your final bill is $456.78."),
        "{mail}"
    );
    // The bill the document task typeset rides along as a PDF attachment.
    assert!(mail.contains("multipart/mixed"), "{mail}");
    assert!(mail.contains("Content-Disposition: attachment"), "{mail}");
    assert!(mail.contains("Final bill.pdf"), "{mail}");
    assert!(mail.contains("Content-Type: application/pdf"), "{mail}");
    assert!(
        mail.contains("JVBERi0"),
        "the attachment is a PDF (base64 of %PDF-): {mail}"
    );

    let mut resp = agent
        .get(&format!("{base}/api/outbox"))
        .header("cookie", &token.0)
        .call()
        .expect("outbox");
    let outbox: Value = resp.body_mut().read_json().expect("json");
    let entry = &outbox[0];
    assert!(entry["sentAt"].is_string(), "{outbox}");
    let key = entry["id"].as_str().expect("key");
    assert!(
        mail.contains(&format!("<{key}@millrace>")),
        "the outbox key is the Message-ID: {mail}"
    );
    // The request's own mail, as its Communication tab lists it.
    let mut resp = agent
        .get(&format!("{base}/api/process-instances/{instance}/mail"))
        .header("cookie", &token.0)
        .call()
        .expect("instance mail");
    assert_eq!(resp.status().as_u16(), 200);
    let own: Value = resp.body_mut().read_json().expect("json");
    assert_eq!(own.as_array().map(Vec::len), Some(1), "{own}");
    assert_eq!(own[0]["id"], entry["id"], "{own}");
    assert_eq!(own[0]["to"], json!(["john.smith@example.com"]), "{own}");
    assert!(own[0]["sentAt"].is_string(), "{own}");
    let attachments = own[0]["attachments"].as_array().expect("attachments");
    assert_eq!(attachments.len(), 1, "{own}");
    let document = attachments[0].as_str().expect("document id");
    let resp = agent
        .get(&format!("{base}/api/documents/{document}"))
        .header("cookie", &token.0)
        .call()
        .expect("attached document");
    assert_eq!(
        resp.status().as_u16(),
        200,
        "the attachment is the instance's document"
    );
    let resp = agent
        .get(&format!(
            "{base}/api/process-instances/no-such-instance/mail"
        ))
        .header("cookie", &token.0)
        .call()
        .expect("unknown instance");
    assert_eq!(resp.status().as_u16(), 404);
    std::thread::sleep(Duration::from_secs(1));
    let count = std::fs::read_dir(maildir.join("new"))
        .expect("maildir")
        .count();
    assert_eq!(count, 1, "delivered once");
}
