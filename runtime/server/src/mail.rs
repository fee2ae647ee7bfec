//! The mail sender: delivers the outbox over SMTP, at least once, each mail
//! carrying its outbox key as Message-ID so a repeat can be recognised.
//! Without an SMTP server configured it never runs and mail stays in the
//! outbox, readable by administrators.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use millrace_store::{OutboxMail, Store};
use tokio::sync::watch;

/// Where and as whom mail is sent.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// SMTP host.
    pub host: String,
    /// SMTP port.
    pub port: u16,
    /// The From address.
    pub from: String,
}

/// Reads `smtp://host:port` (plain SMTP, as on a trusted relay or a local server).
pub fn parse_smtp_url(url: &str) -> Option<(String, u16)> {
    let rest = url.strip_prefix("smtp://")?;
    let (host, port) = rest.rsplit_once(':').unwrap_or((rest, "25"));
    Some((host.to_string(), port.trim_end_matches('/').parse().ok()?))
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
    let transport: AsyncSmtpTransport<Tokio1Executor> =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .timeout(Some(Duration::from_secs(10)))
            .build();
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

    #[test]
    fn attachments_over_the_limit_together_are_refused_with_their_size() {
        assert_eq!(too_large(&[file(MAX_ATTACHED_BYTES)]), None);
        let half = MAX_ATTACHED_BYTES / 2;
        assert_eq!(too_large(&[file(half), file(half)]), None);
        let why = too_large(&[file(half), file(half + 1)]).expect("over the limit");
        assert!(why.contains("10.0 MiB") && why.contains("10 MiB"), "{why}");
    }
}
