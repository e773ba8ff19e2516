//! From a Bot API `Update` to the runtime: [`translate`](super::translate::translate) decides
//! what an update is, and [`process`] does it: downloads a file, lets the runtime handle the
//! message (durably), then answers the button press and removes the used keyboard. Polite
//! answers go straight to the chat (nothing to store); none is retried.

use super::Telegram;
use super::render;
use super::translate::{
    Context, Incoming, PRIVATE_ONLY, Pending, TYPE_NUMBER, Translated, translate,
};
use crate::channels::{FILE_FAILED, FILE_TOO_BIG, in_every_language, polite};
use crate::message::{ChannelKind, Identity, InboundBody, InboundMessage};
use crate::runtime::{Runtime, RuntimeError};
use teloxide::RequestError;
use teloxide::net::Download;
use teloxide::payloads::{AnswerCallbackQuerySetters, EditMessageReplyMarkupSetters};
use teloxide::prelude::Requester;
use teloxide::types::{ChatId, FileId, Update};

/// Why an update could not be handled now; the caller does not acknowledge it, so Telegram
/// delivers it again.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot download the file now: {0}")]
    Download(String),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// How often a file's download may fail before the person is asked to send it again (instead
/// of the update being retried forever).
const DOWNLOAD_TRIES: u32 = 5;

/// Translates an update and does what it says. `Ok` means it is handled for good (stored, or
/// answered, or nothing to do): the update may be acknowledged. An error means "not now":
/// the update must be delivered again.
pub async fn process(tg: &Telegram, rt: &Runtime, update: &Update) -> Result<(), ProcessError> {
    let give_up_download = tg.download_failures(update.id.0) + 1 >= DOWNLOAD_TRIES;
    let r = process_once(tg, rt, update, give_up_download).await;
    match &r {
        Err(ProcessError::Download(_)) => tg.download_failed(update.id.0),
        _ => tg.download_done(update.id.0),
    }
    r
}

async fn process_once(
    tg: &Telegram,
    rt: &Runtime,
    update: &Update,
    give_up_download: bool,
) -> Result<(), ProcessError> {
    let username = tg.username();
    let is_officer = |user: u64| {
        rt.officer(&Identity::new(ChannelKind::Telegram, user.to_string()))
            .is_some()
    };
    let cx = Context {
        admin_chat: tg.admin_chat,
        username: username.as_deref(),
        is_officer: &is_officer,
        max_bytes: rt.bot.max_attachment_bytes,
    };
    match translate(update, &cx) {
        Translated::Ignore(why) => {
            tracing::debug!(update = update.id.0, why, "telegram: update ignored");
            Ok(())
        }
        Translated::Tell { chat, text } if text == PRIVATE_ONLY => {
            // Setting up: this is how an office learns its group's id.
            tracing::info!(
                chat = chat.0,
                "telegram: a command in a group that is not the officers' group (to use it, set `telegram.admin_chat_id` to this chat id)"
            );
            tell(tg, chat, &polite(&rt.bot.texts, &text, cx.max_bytes)).await;
            Ok(())
        }
        Translated::Tell { chat, text } => {
            tell(tg, chat, &polite(&rt.bot.texts, &text, cx.max_bytes)).await;
            Ok(())
        }
        Translated::AnswerQuery { query, text } => {
            let mut req = tg.bot.answer_callback_query(query);
            if let Some(t) = text {
                req = req.text(in_every_language(&rt.bot.texts, &t, &[], " / "));
            }
            best_effort("answerCallbackQuery", req.await.map(|_| ()));
            Ok(())
        }
        Translated::Page {
            query,
            chat,
            message,
            page,
        } => {
            let mut answer = tg.bot.answer_callback_query(query);
            match tg
                .list(chat, message)
                .and_then(|c| render::keyboard(&c, page))
            {
                Some(kb) => best_effort(
                    "editMessageReplyMarkup",
                    tg.bot
                        .edit_message_reply_markup(chat, message)
                        .reply_markup(kb)
                        .await
                        .map(|_| ()),
                ),
                None => {
                    answer = answer.text(in_every_language(&rt.bot.texts, TYPE_NUMBER, &[], " / "))
                }
            }
            best_effort("answerCallbackQuery", answer.await.map(|_| ()));
            Ok(())
        }
        Translated::Handle(inc) => handle(tg, rt, inc, &cx, give_up_download).await,
    }
}

async fn handle(
    tg: &Telegram,
    rt: &Runtime,
    inc: Incoming,
    cx: &Context<'_>,
    give_up_download: bool,
) -> Result<(), ProcessError> {
    let chat = super::chat_of_address(&inc.from.address);
    let body = match inc.body {
        Pending::Ready(b) => b,
        Pending::File {
            file_id,
            filename,
            mime,
            ..
        } => match download(tg, file_id, cx.max_bytes).await {
            Ok(bytes) => InboundBody::Attachment(crate::message::Attachment {
                filename,
                mime,
                bytes,
            }),
            Err(Fetch::TooBig) => {
                if let Some(chat) = chat {
                    tell(tg, chat, &polite(&rt.bot.texts, FILE_TOO_BIG, cx.max_bytes)).await;
                }
                return Ok(());
            }
            Err(Fetch::Refused(why)) => {
                tracing::warn!(from = %inc.from.masked(), %why, "telegram: file refused by the Bot API");
                if let Some(chat) = chat {
                    tell(tg, chat, &polite(&rt.bot.texts, FILE_FAILED, cx.max_bytes)).await;
                }
                return Ok(());
            }
            Err(Fetch::Later(why)) if give_up_download => {
                tracing::warn!(from = %inc.from.masked(), %why, "telegram: file download keeps failing; asking to resend");
                if let Some(chat) = chat {
                    tell(tg, chat, &polite(&rt.bot.texts, FILE_FAILED, cx.max_bytes)).await;
                }
                return Ok(());
            }
            Err(Fetch::Later(why)) => return Err(ProcessError::Download(why)),
        },
    };
    let msg = InboundMessage {
        id: inc.id,
        from: inc.from,
        body,
        reply_to: inc.reply_to,
        trust: crate::message::Trust::Proven,
    };
    rt.handle(msg).await?;
    if let Some(p) = inc.pressed {
        let mut answer = tg.bot.answer_callback_query(p.query);
        if let Some(label) = p.label {
            answer = answer.text(format!("✓ {label}"));
        }
        best_effort("answerCallbackQuery", answer.await.map(|_| ()));
        // The used keyboard goes: an old button pressed later would answer a later question.
        best_effort(
            "editMessageReplyMarkup",
            tg.bot
                .edit_message_reply_markup(p.chat, p.message)
                .await
                .map(|_| ()),
        );
    }
    Ok(())
}

enum Fetch {
    TooBig,
    /// The Bot API refused (e.g. the file is gone): asking again will not help.
    Refused(String),
    /// Network trouble or a server error: try again later.
    Later(String),
}

/// `getFile`, then the download, within `max_bytes`.
async fn download(tg: &Telegram, file_id: FileId, max_bytes: u64) -> Result<Vec<u8>, Fetch> {
    let file = tg
        .bot
        .get_file(file_id)
        .await
        .map_err(|e| match super::classify(e) {
            crate::outbox::SendError::Transient { reason, .. } => Fetch::Later(reason),
            crate::outbox::SendError::Permanent { reason } if reason.contains("too big") => {
                Fetch::TooBig
            }
            other => Fetch::Refused(other.to_string()),
        })?;
    if file.meta.size != u32::MAX && u64::from(file.meta.size) > max_bytes {
        return Err(Fetch::TooBig);
    }
    let mut bytes: Vec<u8> = Vec::new();
    tg.bot
        .download_file(&file.path, &mut bytes)
        .await
        .map_err(|e| Fetch::Later(e.to_string()))?;
    if bytes.len() as u64 > max_bytes {
        return Err(Fetch::TooBig);
    }
    Ok(bytes)
}

/// Sends a short answer directly (not through the outbox: there is nothing to store).
async fn tell(tg: &Telegram, chat: ChatId, text: &str) {
    best_effort(
        "sendMessage",
        tg.bot.send_message(chat, text).await.map(|_| ()),
    );
}

fn best_effort(what: &str, r: Result<(), RequestError>) {
    if let Err(e) = r {
        tracing::debug!(call = what, error = %e, "telegram: courtesy call failed (ignored)");
    }
}
