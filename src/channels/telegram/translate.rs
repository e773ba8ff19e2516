//! What a Bot API `Update` is, decided without I/O: a message for the runtime (its file still
//! to download), a page flip, a polite answer, or nothing.
//!
//! Private chats are applicants (and officers, by their user id). In the officers' group only
//! listed officers are obeyed, and only their commands, replies and files reach the runtime,
//! so the group's own conversation is left alone. Kinds the bot does not handle (stickers,
//! voice, edited messages, other groups' commands) get one polite answer or are ignored.

use super::render::Callback;
use crate::message::{ChannelKind, Identity, InboundBody};
use teloxide::types::{
    CallbackQuery, CallbackQueryId, ChatId, FileId, InlineKeyboardButtonKind, Message, MessageId,
    Update, UpdateKind,
};

/// What the translation needs to know besides the update.
pub struct Context<'a> {
    pub admin_chat: Option<ChatId>,
    /// The bot's username, when known: `/cmd@otherbot` is not for us.
    pub username: Option<&'a str>,
    /// Whether a Telegram user id belongs to a listed officer.
    pub is_officer: &'a (dyn Fn(u64) -> bool + Sync),
    /// Largest file accepted (the Bot API lets bots download 20 MB).
    pub max_bytes: u64,
}

/// The body of a message, once its file (if any) is downloaded.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    Ready(InboundBody),
    File {
        file_id: FileId,
        filename: String,
        mime: String,
        /// As the update states it, when it does.
        size: Option<u64>,
    },
}

/// A pressed button: answered and its keyboard removed once the choice is handled.
#[derive(Debug, Clone, PartialEq)]
pub struct Pressed {
    pub query: CallbackQueryId,
    pub chat: ChatId,
    pub message: MessageId,
    /// The pressed button's label, shown back to the person.
    pub label: Option<String>,
}

/// A message for the runtime.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// The `update_id`: with the channel, it recognises a re-delivered update.
    pub id: String,
    pub from: Identity,
    pub body: Pending,
    pub reply_to: Option<String>,
    pub pressed: Option<Pressed>,
}

/// What an update is.
#[derive(Debug, Clone, PartialEq)]
pub enum Translated {
    Handle(Incoming),
    /// Answer at once, without the runtime (nothing to store): `text` is the key of the
    /// system text to answer with (e.g. [`UNSUPPORTED`]), worded in every language by the
    /// caller.
    Tell {
        chat: ChatId,
        text: String,
    },
    /// Show another page of a long list.
    Page {
        query: CallbackQueryId,
        chat: ChatId,
        message: MessageId,
        page: usize,
    },
    /// Stop the button's spinner, perhaps with a short note (the key of a system text).
    AnswerQuery {
        query: CallbackQueryId,
        text: Option<String>,
    },
    /// Nothing to do (the reason is for debug logs).
    Ignore(&'static str),
}

pub use crate::channels::{FILE_TOO_BIG, UNSUPPORTED};

// The answers only Telegram gives: keys of `dialogs/system.toml`, worded by [`super::inbound`].
pub const EDITED: &str = "telegram_edited";
pub const OFFICERS_ONLY: &str = "telegram_officers_only";
pub const PRIVATE_ONLY: &str = "telegram_private_only";
/// The note on a button that no longer works: type the number instead (one line).
pub const TYPE_NUMBER: &str = "telegram_type_number";

/// Decides what an update is. Pure: no I/O.
pub fn translate(update: &Update, cx: &Context) -> Translated {
    let id = update.id.0.to_string();
    match &update.kind {
        UpdateKind::Message(m) => message(id, m, cx),
        UpdateKind::EditedMessage(m) if m.chat.is_private() => Translated::Tell {
            chat: m.chat.id,
            text: EDITED.into(),
        },
        UpdateKind::CallbackQuery(q) => callback(id, q, cx),
        UpdateKind::EditedMessage(_) => Translated::Ignore("edited group message"),
        UpdateKind::ChannelPost(_) | UpdateKind::EditedChannelPost(_) => {
            Translated::Ignore("channel post")
        }
        UpdateKind::MyChatMember(_) | UpdateKind::ChatMember(_) => {
            Translated::Ignore("membership change")
        }
        UpdateKind::Error(_) => Translated::Ignore("an update teloxide cannot read"),
        _ => Translated::Ignore("update kind not used"),
    }
}

/// The first word of a command, without `/` and `@botname`, and whether it is for this bot.
fn command_for_us(text: &str, cx: &Context) -> Option<String> {
    let first = text.split_whitespace().next()?;
    let cmd = first.strip_prefix('/')?;
    let (name, to) = match cmd.split_once('@') {
        Some((n, bot)) => (n, Some(bot)),
        None => (cmd, None),
    };
    match (to, cx.username) {
        (Some(to), Some(me)) if !to.eq_ignore_ascii_case(me) => None,
        _ => Some(name.to_lowercase()),
    }
}

/// The text a message quotes (an officer's reply to a posted case message).
fn quoted(m: &Message) -> Option<String> {
    let r = m.reply_to_message()?;
    r.text().or(r.caption()).map(str::to_string)
}

/// The file of a document or photo message.
fn file_of(m: &Message) -> Option<Pending> {
    let known = |size: u32| (size != u32::MAX).then_some(u64::from(size));
    if let Some(d) = m.document() {
        let filename = d.file_name.clone().unwrap_or_else(|| "dokumen".into());
        let mime = d
            .mime_type
            .as_ref()
            .map(|m| m.essence_str().to_string())
            .unwrap_or_else(|| {
                crate::channels::terminal::mime_for(std::path::Path::new(&filename)).to_string()
            });
        return Some(Pending::File {
            file_id: d.file.id.clone(),
            filename,
            mime,
            size: known(d.file.size),
        });
    }
    // Telegram sends a photo in several sizes; the largest is the original.
    let p = m.photo()?.iter().max_by_key(|p| p.width * p.height)?;
    Some(Pending::File {
        file_id: p.file.id.clone(),
        filename: format!("foto-{}.jpg", p.file.unique_id.0),
        mime: "image/jpeg".into(),
        size: known(p.file.size),
    })
}

/// Whether a message is something the bot cannot read (as opposed to a service message such
/// as a member joining, which is silently ignored).
fn unsupported(m: &Message) -> bool {
    m.sticker().is_some()
        || m.voice().is_some()
        || m.audio().is_some()
        || m.video().is_some()
        || m.video_note().is_some()
        || m.animation().is_some()
        || m.location().is_some()
        || m.venue().is_some()
        || m.poll().is_some()
        || m.dice().is_some()
        || m.game().is_some()
        || m.story().is_some()
        // A kind teloxide could not read (newer than it): not something we handle either.
        || matches!(m.kind, teloxide::types::MessageKind::Empty {})
}

fn message(id: String, m: &Message, cx: &Context) -> Translated {
    let Some(user) = m.from.as_ref() else {
        return Translated::Ignore("no sender");
    };
    if user.is_bot {
        return Translated::Ignore("from a bot");
    }
    let chat = m.chat.id;
    let incoming = |from: Identity, body: Pending| {
        Translated::Handle(Incoming {
            id: id.clone(),
            from,
            body,
            reply_to: quoted(m),
            pressed: None,
        })
    };
    // A file is fetched only when the Bot API says it fits; else the sender is told the limit.
    let file_or_too_big = |from: Identity, file: Pending| match &file {
        Pending::File { size: Some(s), .. } if *s > cx.max_bytes => Translated::Tell {
            chat,
            text: FILE_TOO_BIG.into(),
        },
        _ => incoming(from, file),
    };
    if m.chat.is_private() {
        let from = Identity::new(ChannelKind::Telegram, chat.0.to_string());
        if let Some(text) = m.text() {
            let text = match command_for_us(text, cx) {
                // `/start` is how every Telegram conversation begins.
                Some(c) if c == "start" => "menu".to_string(),
                Some(c) => {
                    let rest = text.split_once(char::is_whitespace).map(|(_, r)| r);
                    match rest {
                        Some(r) => format!("{c} {r}"),
                        None => c,
                    }
                }
                None => text.to_string(),
            };
            return incoming(from, Pending::Ready(InboundBody::Text(text)));
        }
        if let Some(c) = m.contact() {
            let digits = c.phone_number.trim();
            let phone = if digits.starts_with('+') {
                digits.to_string()
            } else {
                format!("+{digits}")
            };
            let own = c.user_id == Some(user.id);
            return incoming(from, Pending::Ready(InboundBody::Contact { phone, own }));
        }
        if let Some(file) = file_of(m) {
            return file_or_too_big(from, file);
        }
        if unsupported(m) {
            return Translated::Tell {
                chat,
                text: UNSUPPORTED.into(),
            };
        }
        return Translated::Ignore("service message in a private chat");
    }
    let command = m.text().and_then(|t| command_for_us(t, cx));
    if Some(chat) == cx.admin_chat {
        if !(cx.is_officer)(user.id.0) {
            return match command {
                Some(_) => Translated::Tell {
                    chat,
                    text: OFFICERS_ONLY.into(),
                },
                None => Translated::Ignore("group talk of a non-officer"),
            };
        }
        let from = Identity::new(
            ChannelKind::Telegram,
            super::group_address(chat.0, user.id.0),
        );
        if let Some(text) = m.text() {
            let addressed_elsewhere = text.starts_with('/') && command.is_none();
            let replies_to_bot = m
                .reply_to_message()
                .and_then(|r| r.from.as_ref())
                .is_some_and(|u| u.is_bot);
            let first = text.split_whitespace().next().unwrap_or("");
            if addressed_elsewhere
                || !(command.is_some() || replies_to_bot || crate::admin::is_command_word(first))
            {
                return Translated::Ignore("officers' own conversation");
            }
            return incoming(from, Pending::Ready(InboundBody::Text(text.to_string())));
        }
        if let Some(file) = file_of(m) {
            return file_or_too_big(from, file);
        }
        return Translated::Ignore("other message in the officers' group");
    }
    match command {
        Some(_) => Translated::Tell {
            chat,
            text: PRIVATE_ONLY.into(),
        },
        None => Translated::Ignore("a group that is not the officers'"),
    }
}

/// The label of the button whose data is `data`, on the message the keyboard belongs to.
fn label_of(m: &Message, data: &str) -> Option<String> {
    m.reply_markup()?
        .inline_keyboard
        .iter()
        .flatten()
        .find(|b| matches!(&b.kind, InlineKeyboardButtonKind::CallbackData(d) if d == data))
        .map(|b| b.text.clone())
}

fn callback(id: String, q: &CallbackQuery, cx: &Context) -> Translated {
    let answer_only = |text: Option<&str>| Translated::AnswerQuery {
        query: q.id.clone(),
        text: text.map(str::to_string),
    };
    let Some(m) = q.message.as_ref().and_then(|m| m.regular_message()) else {
        return answer_only(Some(TYPE_NUMBER));
    };
    let Some(data) = q.data.as_deref().and_then(Callback::decode) else {
        return answer_only(None);
    };
    let chat = m.chat.id;
    let from = if m.chat.is_private() {
        Identity::new(ChannelKind::Telegram, chat.0.to_string())
    } else if Some(chat) == cx.admin_chat && (cx.is_officer)(q.from.id.0) {
        Identity::new(
            ChannelKind::Telegram,
            super::group_address(chat.0, q.from.id.0),
        )
    } else {
        return answer_only(None);
    };
    let body = match data {
        Callback::Page(page) => {
            return Translated::Page {
                query: q.id.clone(),
                chat,
                message: m.id,
                page,
            };
        }
        Callback::Value(v) => InboundBody::Choice(v),
        Callback::Number(n) => InboundBody::Text(n.to_string()),
    };
    Translated::Handle(Incoming {
        id,
        from,
        body: Pending::Ready(body),
        reply_to: None,
        pressed: Some(Pressed {
            query: q.id.clone(),
            chat,
            message: m.id,
            label: q.data.as_deref().and_then(|d| label_of(m, d)),
        }),
    })
}

#[cfg(test)]
mod tests;
