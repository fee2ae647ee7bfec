//! The mail sender: delivers the outbox over SMTP, at least once, each mail
//! carrying its outbox key as Message-ID so a repeat can be recognised.
//! Without an SMTP server configured it never runs and mail stays in the
//! outbox, readable by administrators.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lettre::message::header::ContentType;
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

fn message(config: &MailConfig, mail: &OutboxMail) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(
            config
                .from
                .parse()
                .map_err(|e| format!("from {:?}: {e}", config.from))?,
        )
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}@millrace>", mail.id)))
        .header(ContentType::TEXT_PLAIN);
    for to in &mail.recipients {
        builder = builder.to(to.parse().map_err(|e| format!("to {to:?}: {e}"))?);
    }
    builder.body(mail.body.clone()).map_err(|e| e.to_string())
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
        let result = match message(config, &mail) {
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
