//! The outbox's e-mail sender: one SMTP transaction per row through lettre.

use super::auth::TokenKey;
use super::render::{self, File};
use super::{EmailSettings, Security, message_id_for_row};
use crate::dialogs::Bot;
use crate::message::ChannelKind;
use crate::outbox::{Channel, SendError, SendFuture, attachment_bytes};
use crate::store::{OutboxRow, Store};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::sync::Arc;

/// Sends outbox rows addressed to e-mail identities.
pub struct EmailChannel {
    settings: EmailSettings,
    bot: Arc<Bot>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    /// The reply-token key, read from the store on the first send.
    tokens: std::sync::OnceLock<TokenKey>,
}

/// Maps a lettre SMTP error: 4xx and network trouble are worth retrying, 5xx is not.
pub fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let reason = format!("SMTP: {}", crate::message::clip(&e.to_string(), 200));
    if e.is_permanent() {
        SendError::Permanent { reason }
    } else {
        SendError::Transient {
            reason,
            retry_after: None,
        }
    }
}

impl EmailChannel {
    pub fn new(settings: EmailSettings, bot: Arc<Bot>) -> crate::Result<EmailChannel> {
        let s = &settings.smtp;
        let builder = match s.security {
            Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host),
            Security::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host),
            Security::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &s.host,
            )),
        }
        .map_err(|e| {
            crate::config::ConfigError::new(
                std::path::Path::new("[email]"),
                format!("`email.smtp_host` `{}`: {e}", s.host),
            )
        })?;
        let mut builder = builder.port(s.port).timeout(Some(s.timeout));
        if let (Some(u), Some(p)) = (&s.user, &s.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.expose().to_string()));
        }
        Ok(EmailChannel {
            transport: builder.build(),
            settings,
            bot,
            tokens: std::sync::OnceLock::new(),
        })
    }

    async fn deliver(
        &self,
        row: &OutboxRow,
        store: &dyn Store,
    ) -> Result<Option<String>, SendError> {
        let to = &row.msg.to;
        if to.channel != ChannelKind::Email {
            return Err(SendError::Permanent {
                reason: format!("the e-mail channel cannot deliver to {}", to.masked()),
            });
        }
        let failing = store
            .address_failing(to)
            .map_err(|e| SendError::Transient {
                reason: format!("store: {e}"),
                retry_after: None,
            })?;
        if failing {
            return Err(SendError::Permanent {
                reason: "mail to this address bounced earlier; not sent".into(),
            });
        }
        // Conversation replies tell how to answer by mail, in the person's language.
        let footer = if row.msg.topic.is_none() {
            let lang = store
                .session(to)
                .ok()
                .flatten()
                .map(|c| c.lang)
                .filter(|l| self.bot.languages.contains(l))
                .unwrap_or_else(|| self.bot.default_lang().to_string());
            Some(self.bot.sys("email_footer", &lang))
        } else {
            None
        };
        let tokens = match self.tokens.get() {
            Some(k) => k,
            None => {
                let k = super::token_key(store).map_err(|e| SendError::Transient {
                    reason: format!("store: {e}"),
                    retry_after: None,
                })?;
                self.tokens.get_or_init(|| k)
            }
        };
        let mut files = Vec::new();
        for f in &row.msg.files {
            let bytes = attachment_bytes(store, f)?;
            files.push(File {
                filename: f.filename.clone(),
                mime: f.mime.clone(),
                bytes,
            });
        }
        let mail = render::build(
            row,
            &to.address,
            &self.settings.me,
            tokens,
            footer.as_deref(),
            files,
        )
        .map_err(|e| SendError::Permanent {
            reason: e.to_string(),
        })?;
        self.transport.send(mail).await.map_err(|e| classify(&e))?;
        let case = row.msg.topic.as_ref().and_then(|t| t.case.as_deref());
        Ok(Some(message_id_for_row(
            &row.key,
            case,
            &to.address,
            tokens,
            self.settings.me.domain(),
        )))
    }
}

impl Channel for EmailChannel {
    fn send<'a>(&'a self, row: &'a OutboxRow, store: &'a dyn Store) -> SendFuture<'a> {
        Box::pin(self.deliver(row, store))
    }
}
