//! The mail sender: delivers the outbox over SMTP, at least once, each mail
//! carrying its outbox key as Message-ID so a repeat can be recognised.
//! Without an SMTP server configured it never runs and mail stays in the
//! outbox, readable by administrators.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use millrace_store::{OutboxMail, Store};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio::sync::watch;

/// Where and as whom mail is sent: the relay's transport, built once from
/// its URL, and the From address.
#[derive(Clone)]
pub struct MailConfig {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// The relay's URL without its password, for logs and errors.
    relay: String,
    /// The From address.
    pub from: String,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailConfig")
            .field("relay", &self.relay)
            .field("from", &self.from)
            .finish()
    }
}

/// Why the mail settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MailConfigError {
    /// The relay's URL does not read.
    #[error("smtp_url {url:?}: {reason}")]
    Url {
        /// The URL, its password hidden.
        url: String,
        /// Why.
        reason: String,
    },
    /// The authorities file holds no certificate that reads.
    #[error("{file}: {reason}")]
    Authorities {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
}

/// `url` with its password, if any, shown as `***`.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            // Setting a password only fails for URLs that cannot hold one,
            // and this one held one.
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => url.split('@').next_back().unwrap_or_default().to_string(),
    }
}

impl MailConfig {
    /// Reads the relay's URL: `smtp://host[:port]` (plain, port 25, as on a
    /// trusted relay), `smtp://host[:port]?tls=required` (STARTTLS, port
    /// 587; `tls=opportunistic` when the relay may not offer it),
    /// `smtps://host[:port]` (TLS from the start, port 465); a
    /// `user:password@` before the host signs in (percent-encoded). The
    /// relay's certificate is checked against Mozilla's roots, or only
    /// against `authorities` (a PEM file's name and text) when given.
    pub fn new(
        url: &str,
        from: &str,
        authorities: Option<(&str, &[u8])>,
    ) -> Result<MailConfig, MailConfigError> {
        let relay = without_password(url);
        let refused = |reason: String| MailConfigError::Url {
            url: relay.clone(),
            reason,
        };
        let parsed = url::Url::parse(url).map_err(|e| refused(e.to_string()))?;
        let tls_mode = parsed
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let mut builder = match (parsed.scheme(), tls_mode.as_deref()) {
            ("smtp", None | Some("required" | "opportunistic")) | ("smtps", None) => {
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| refused(e.to_string()))?
            }
            (scheme, mode) => {
                return Err(refused(format!(
                    "{scheme}:// with tls={mode:?} is not a relay: use smtp://host:port, \
                     smtp://host:port?tls=required (STARTTLS) or smtps://host:port"
                )))
            }
        };
        if let Some((file, pem)) = authorities {
            let host = parsed
                .host_str()
                .ok_or_else(|| refused("the URL names no host".into()))?;
            let bad = |reason: String| MailConfigError::Authorities {
                file: file.to_string(),
                reason,
            };
            let mut params =
                TlsParameters::builder(host.to_string()).certificate_store(CertificateStore::None);
            let mut certificates = 0;
            for (i, der) in CertificateDer::pem_slice_iter(pem).enumerate() {
                let der =
                    der.map_err(|e| bad(format!("certificate {} does not read: {e}", i + 1)))?;
                let certificate = Certificate::from_der(der.to_vec())
                    .map_err(|e| bad(format!("certificate {} does not read: {e}", i + 1)))?;
                params = params.add_root_certificate(certificate);
                certificates += 1;
            }
            if certificates == 0 {
                return Err(bad(
                    "it holds no certificate (-----BEGIN CERTIFICATE----- …)".into(),
                ));
            }
            let params = params
                .build()
                .map_err(|e| bad(format!("its certificates make no trust store: {e}")))?;
            builder = builder.tls(match (parsed.scheme(), tls_mode.as_deref()) {
                ("smtps", _) => Tls::Wrapper(params),
                (_, Some("required")) => Tls::Required(params),
                (_, Some("opportunistic")) => Tls::Opportunistic(params),
                _ => {
                    return Err(refused(
                        "--smtp-ca is for a relay reached over TLS: smtps://… or ?tls=required"
                            .into(),
                    ))
                }
            });
        }
        Ok(MailConfig {
            transport: builder.timeout(Some(Duration::from_secs(10))).build(),
            relay,
            from: from.to_string(),
        })
    }

    /// The relay's URL, its password hidden.
    pub fn relay(&self) -> &str {
        &self.relay
    }
}

/// A file a mail carries: its name and media type, and its bytes.
struct AttachedFile {
    name: String,
    media_type: String,
    content: Vec<u8>,
}

/// The most a mail's attachments may come to, in bytes. Base64 makes them a
/// third larger on the wire, so 10 MiB stays under the limits common relays
/// set (Exchange Online's 25 MB default for a message, Gmail's 25 MB).
pub const MAX_ATTACHED_BYTES: usize = 10 * 1024 * 1024;

/// Why `files` may not go out in one mail, if they are too large together.
fn too_large(files: &[AttachedFile]) -> Option<String> {
    let total: usize = files.iter().map(|f| f.content.len()).sum();
    (total > MAX_ATTACHED_BYTES).then(|| {
        format!(
            "the attachments come to {:.1} MiB, more than the {} MiB a mail may carry",
            total as f64 / (1024.0 * 1024.0),
            MAX_ATTACHED_BYTES / (1024 * 1024)
        )
    })
}

/// The documents `mail` attaches, read from the store. Only the sending
/// instance's own documents: a process cannot mail another request's PDF.
/// A missing one is a delivery error (retried, its reason in the outbox).
async fn attached_files(store: &Store, mail: &OutboxMail) -> Result<Vec<AttachedFile>, String> {
    let mut files = Vec::new();
    for id in &mail.attachments {
        let info = store
            .document_info(id)
            .await
            .map_err(|e| e.to_string())?
            .filter(|d| d.instance_id == mail.instance_id)
            .ok_or_else(|| format!("the attachment {id:?} is not a document of this request"))?;
        let content = store
            .document_content(id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the attachment {id:?} has no content"))?;
        files.push(AttachedFile {
            // The file name a mail client shows, safe for its header.
            name: format!("{}.pdf", crate::documents::safe_file_name(&info.name)),
            media_type: info.media_type,
            content,
        });
    }
    match too_large(&files) {
        Some(why) => Err(why),
        None => Ok(files),
    }
}

fn message(
    config: &MailConfig,
    mail: &OutboxMail,
    files: Vec<AttachedFile>,
) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(
            config
                .from
                .parse()
                .map_err(|e| format!("from {:?}: {e}", config.from))?,
        )
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}@millrace>", mail.id)));
    for to in &mail.recipients {
        builder = builder.to(to.parse().map_err(|e| format!("to {to:?}: {e}"))?);
    }
    if files.is_empty() {
        return builder
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| e.to_string());
    }
    let mut parts = MultiPart::mixed().singlepart(SinglePart::plain(mail.body.clone()));
    for file in files {
        let media_type = ContentType::parse(&file.media_type)
            .map_err(|e| format!("attachment {:?}: {e}", file.name))?;
        parts = parts.singlepart(Attachment::new(file.name).body(file.content, media_type));
    }
    builder.multipart(parts).map_err(|e| e.to_string())
}

/// Sends what is due, once; returns how many were delivered.
pub async fn send_due(
    store: &Store,
    config: &MailConfig,
) -> Result<usize, millrace_store::StoreError> {
    let transport = &config.transport;
    let mut sent = 0;
    for mail in store
        .due_mail(Utc::now(), 50, std::time::Duration::from_secs(120))
        .await?
    {
        let built = match attached_files(store, &mail).await {
            Ok(files) => message(config, &mail, files),
            Err(e) => Err(e),
        };
        let result = match built {
            Ok(m) => transport
                .send(m)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                store.mail_sent(&mail.id, Utc::now()).await?;
                sent += 1;
            }
            Err(e) => {
                let wait = millrace_store::backoff((mail.attempts + 1).clamp(1, 8) as u32);
                let retry_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                tracing::warn!(mail = %mail.id, error = %e, "mail not delivered; will retry");
                store.mail_failed(&mail.id, &e, retry_at).await?;
            }
        }
    }
    Ok(sent)
}

/// Sends until `stop` turns true.
pub async fn run(store: Arc<Store>, config: MailConfig, mut stop: watch::Receiver<bool>) {
    tracing::info!(relay = %config.relay(), "delivering mail");
    while !*stop.borrow() {
        if let Err(e) = send_due(&store, &config).await {
            tracing::error!(error = %e, "the mail sender failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(bytes: usize) -> AttachedFile {
        AttachedFile {
            name: "bill.pdf".into(),
            media_type: "application/pdf".into(),
            content: vec![b'%'; bytes],
        }
    }

    fn refusal(url: &str, authorities: Option<(&str, &[u8])>) -> String {
        match MailConfig::new(url, "millrace@localhost", authorities) {
            Err(e) => e.to_string(),
            Ok(c) => panic!("read {c:?}"),
        }
    }

    #[test]
    fn a_relay_url_reads_plain_starttls_or_smtps_and_keeps_its_password_out_of_sight() {
        for ok in [
            "smtp://relay.internal",
            "smtp://relay.internal:2525",
            "smtp://mailer:s%40cret@relay.internal:587?tls=required",
            "smtp://relay.internal?tls=opportunistic",
            "smtps://relay.internal",
        ] {
            let config = MailConfig::new(ok, "millrace@localhost", None).expect(ok);
            assert!(!config.relay().contains("cret"), "{}", config.relay());
            assert!(!format!("{config:?}").contains("cret"), "{config:?}");
        }
        let why = refusal("smtp://mailer:s3cret@relay.internal?tls=always", None);
        assert!(
            why.contains("tls=Some(\"always\")") && why.contains("?tls=required"),
            "{why}"
        );
        assert!(!why.contains("s3cret"), "{why}");
        assert!(refusal("imap://relay.internal", None).contains("is not a relay"));
        assert!(refusal("relay.internal:25", None).starts_with("smtp_url"));
    }

    #[test]
    fn private_authorities_need_a_certificate_and_a_tls_relay() {
        let why = refusal("smtps://relay.internal", Some(("ca.pem", b"nothing")));
        assert_eq!(
            why,
            "ca.pem: it holds no certificate (-----BEGIN CERTIFICATE----- …)"
        );
        let broken = b"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUDjYRTfCg\n-----END CERTIFICATE-----\n";
        let why = refusal("smtps://relay.internal", Some(("ca.pem", broken)));
        assert!(
            why.starts_with("ca.pem: its certificates make no trust store"),
            "{why}"
        );
        let key = rcgen::KeyPair::generate().expect("key");
        let mut params = rcgen::CertificateParams::new(Vec::new()).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).expect("authority").pem();
        let why = refusal("smtp://relay.internal", Some(("ca.pem", ca.as_bytes())));
        assert!(
            why.contains("--smtp-ca is for a relay reached over TLS"),
            "{why}"
        );
        MailConfig::new(
            "smtps://relay.internal",
            "m@localhost",
            Some(("ca.pem", ca.as_bytes())),
        )
        .expect("a TLS relay with the company's authority");
    }

    #[test]
    fn attachments_over_the_limit_together_are_refused_with_their_size() {
        assert_eq!(too_large(&[file(MAX_ATTACHED_BYTES)]), None);
        let half = MAX_ATTACHED_BYTES / 2;
        assert_eq!(too_large(&[file(half), file(half)]), None);
        let why = too_large(&[file(half), file(half + 1)]).expect("over the limit");
        assert!(why.contains("10.0 MiB") && why.contains("10 MiB"), "{why}");
    }
}
