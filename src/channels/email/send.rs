//! The outbox's e-mail sender: one SMTP transaction per row through lettre.

use super::auth::TokenKey;
use super::render::{self, File, Threading};
use super::{
    EmailSettings, Security, answered_mail_id, message_id_for_row, thread, thread_root_id,
};
use crate::message::ChannelKind;
use crate::outbox::{Delivered, DeliveryContext, SendError, SendFuture, Sender};
use crate::store::OutboxRow;
use crate::text::Texts;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::sync::Arc;

/// Sends outbox rows addressed to e-mail identities.
pub struct EmailChannel {
    settings: EmailSettings,
    /// The system texts: the footer of conversation replies (`email_footer`).
    texts: Arc<Texts>,
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
    pub fn new(settings: EmailSettings, texts: Arc<Texts>) -> crate::Result<EmailChannel> {
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
            texts,
            tokens: std::sync::OnceLock::new(),
        })
    }

    async fn deliver(
        &self,
        row: &OutboxRow,
        cx: &dyn DeliveryContext,
    ) -> Result<Delivered, SendError> {
        let to = &row.msg.to;
        if to.channel != ChannelKind::Email {
            return Err(SendError::Permanent {
                reason: format!("the e-mail channel cannot deliver to {}", to.masked()),
            });
        }
        let failing = cx.address_failing(to).map_err(|e| SendError::Transient {
            reason: format!("store: {e}"),
            retry_after: None,
        })?;
        if failing {
            return Err(SendError::Permanent {
                reason: "mail to this address bounced earlier; not sent".into(),
            });
        }
        // Conversation replies greet the person as a letter does and tell how to answer by
        // mail, in the person's language (the case subject below is in it too).
        let lang = cx.language(to).ok().flatten();
        let lang = self.texts.lang_or_default(lang.as_deref());
        let greeted;
        let (row, footer) = if row.msg.topic.is_none() {
            let mut letter = row.clone();
            letter.msg.text = format!(
                "{}

{}",
                self.texts.get("email_greeting", &lang),
                row.msg.text
            );
            greeted = letter;
            (&greeted, Some(self.texts.get("email_footer", &lang)))
        } else {
            (row, None)
        };
        // Every mail of a case has the same subject, so mail programs show one conversation
        // per case (issue 20, item 10): `[ADU-2026-000001] Pengaduan — PST <office>`.
        let case_subject = row
            .msg
            .topic
            .as_ref()
            .and_then(|t| t.case.as_deref())
            .and_then(|case| {
                let prefix = case.split('-').next()?.to_lowercase();
                let key = format!("email_subject_{prefix}");
                let text = self.texts.get(&key, &lang);
                (!text.is_empty() && text != key).then(|| {
                    crate::text::fill(
                        &text,
                        &[
                            ("case", case.to_string()),
                            ("office", self.settings.me.office.clone()),
                        ],
                    )
                })
            });
        let tokens = match self.tokens.get() {
            Some(k) => k,
            None => {
                let k = super::token_key(cx).map_err(|e| SendError::Transient {
                    reason: format!("store: {e}"),
                    retry_after: None,
                })?;
                self.tokens.get_or_init(|| k)
            }
        };
        let mut files = Vec::new();
        for f in &row.msg.files {
            let bytes = cx.attachment(f)?;
            files.push(File {
                filename: f.filename.clone(),
                mime: f.mime.clone(),
                bytes,
            });
        }
        let (threading, mark) = self.threading(row, tokens, cx, case_subject)?;
        let mail = render::build(
            row,
            &to.address,
            &self.settings.me,
            tokens,
            footer.as_deref(),
            files,
            threading.clone(),
        )
        .map_err(|e| SendError::Permanent {
            reason: e.to_string(),
        })?;
        let raw = render::with_local_date(&mail, row.created_at, self.settings.me.tz);
        self.transport
            .send_raw(mail.envelope(), &raw)
            .await
            .map_err(|e| classify(&e))?;
        let id = self.own_id(row, tokens);
        // A case's mail is found again by its thread's mark, with the chain it carried.
        Ok(match mark {
            Some(mark) => Delivered {
                provider_ref: Some(format!("{id} {mark}")),
                thread: threading.references,
            },
            None => Some(id).into(),
        })
    }

    /// The id of the mail `row` becomes.
    fn own_id(&self, row: &OutboxRow, tokens: &TokenKey) -> String {
        let case = row.msg.topic.as_ref().and_then(|t| t.case.as_deref());
        message_id_for_row(
            &row.key,
            case,
            &row.msg.to.address,
            tokens,
            self.settings.me.domain(),
        )
    }

    /// Where `row`'s mail goes in its recipient's mail program, and the mark of its case
    /// thread: a case's mail has the case's subject and the thread's chain so far (the last
    /// mail of the thread to this recipient, found by the mark, and the mail it answers); an
    /// answer in a conversation is `Re: <their subject>` under their mail; anything else
    /// answers the mail that caused it, if one did.
    fn threading(
        &self,
        row: &OutboxRow,
        tokens: &TokenKey,
        cx: &dyn DeliveryContext,
        case_subject: Option<String>,
    ) -> Result<(Threading, Option<String>), SendError> {
        let msg = &row.msg;
        let case = msg.topic.as_ref().and_then(|t| t.case.as_deref());
        let answered = msg.answers.as_ref();
        Ok(match (case, answered) {
            (Some(case), _) => {
                let mark = thread::mark(case, &tokens.token(case, &msg.to.address));
                let head = cx.sent_by_ref(ChannelKind::Email, &mark).map_err(|e| {
                    SendError::Transient {
                        reason: format!("store: {e}"),
                        retry_after: None,
                    }
                })?;
                let previous = head.as_ref().and_then(|h| {
                    h.refs()
                        .find(|r| r.starts_with('<'))
                        .map(|id| (h.thread.as_slice(), id))
                });
                let root = thread_root_id(case, self.settings.me.domain());
                let references = thread::case_chain(
                    &root,
                    previous,
                    answered.map(|a| a.id.as_str()),
                    &self.own_id(row, tokens),
                );
                let threading = Threading {
                    subject: case_subject,
                    references,
                };
                (threading, Some(mark))
            }
            (None, Some(a)) => {
                let threading = Threading {
                    subject: thread::reply_subject(&a.thread.subject),
                    references: thread::answer_chain(&a.thread.references, &a.id),
                };
                (threading, None)
            }
            (None, None) => {
                let threading = Threading {
                    subject: None,
                    references: answered_mail_id(&row.key).into_iter().collect(),
                };
                (threading, None)
            }
        })
    }
}

impl Sender for EmailChannel {
    fn send<'a>(&'a self, row: &'a OutboxRow, cx: &'a dyn DeliveryContext) -> SendFuture<'a> {
        Box::pin(self.deliver(row, cx))
    }
}
