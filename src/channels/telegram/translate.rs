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
mod tests {
    use super::*;
    use serde_json::json;

    const ADMIN: i64 = -1001234567890;
    const OFFICER: u64 = 7001;

    fn cx_with<'a>(f: &'a (dyn Fn(u64) -> bool + Sync)) -> Context<'a> {
        Context {
            admin_chat: Some(ChatId(ADMIN)),
            username: Some("pst_bot"),
            is_officer: f,
            max_bytes: 20 * 1024 * 1024,
        }
    }

    fn officer(u: u64) -> bool {
        u == OFFICER
    }

    fn user(id: u64) -> serde_json::Value {
        json!({"id": id, "is_bot": false, "first_name": "Budi", "language_code": "id"})
    }

    fn private(id: u64) -> serde_json::Value {
        json!({"id": id, "type": "private", "first_name": "Budi"})
    }

    fn group() -> serde_json::Value {
        json!({"id": ADMIN, "type": "supergroup", "title": "PST Petugas"})
    }

    fn update(id: u32, kind: &str, body: serde_json::Value) -> Update {
        // From text, as the Bot API sends it (teloxide's flattened update does not read from a
        // `serde_json::Value`).
        serde_json::from_str(&json!({"update_id": id, kind: body}).to_string())
            .expect("a documented update")
    }

    fn msg(chat: serde_json::Value, from: u64, extra: serde_json::Value) -> serde_json::Value {
        let mut m =
            json!({"message_id": 10, "date": 1_790_000_000, "chat": chat, "from": user(from)});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        m
    }

    fn run(u: &Update) -> Translated {
        translate(u, &cx_with(&officer))
    }

    fn handled(t: Translated) -> Incoming {
        match t {
            Translated::Handle(i) => i,
            other => panic!("expected a message for the runtime, got {other:?}"),
        }
    }

    #[test]
    fn private_text_and_start_command() {
        let i = handled(run(&update(
            5,
            "message",
            msg(private(42), 42, json!({"text": "halo"})),
        )));
        assert_eq!(i.id, "5");
        assert_eq!(i.from, Identity::new(ChannelKind::Telegram, "42"));
        assert_eq!(i.body, Pending::Ready(InboundBody::Text("halo".into())));
        let i = handled(run(&update(
            6,
            "message",
            msg(
                private(42),
                42,
                json!({"text": "/start", "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}),
            ),
        )));
        assert_eq!(i.body, Pending::Ready(InboundBody::Text("menu".into())));
    }

    #[test]
    fn contact_is_own_only_when_it_is_the_senders() {
        let own = handled(run(&update(
            7,
            "message",
            msg(
                private(42),
                42,
                json!({"contact": {"phone_number": "6281234567890", "first_name": "Budi", "user_id": 42}}),
            ),
        )));
        assert_eq!(
            own.body,
            Pending::Ready(InboundBody::Contact {
                phone: "+6281234567890".into(),
                own: true
            })
        );
        let other = handled(run(&update(
            8,
            "message",
            msg(
                private(42),
                42,
                json!({"contact": {"phone_number": "+6281111111111", "first_name": "Ani", "user_id": 99}}),
            ),
        )));
        assert!(matches!(
            other.body,
            Pending::Ready(InboundBody::Contact { own: false, .. })
        ));
    }

    #[test]
    fn documents_and_photos_wait_for_download_and_big_ones_are_refused() {
        let doc = handled(run(&update(
            9,
            "message",
            msg(
                private(42),
                42,
                json!({"document": {"file_id": "DOC1", "file_unique_id": "u1", "file_name": "kuesioner.pdf", "mime_type": "application/pdf", "file_size": 1234}}),
            ),
        )));
        assert_eq!(
            doc.body,
            Pending::File {
                file_id: FileId("DOC1".into()),
                filename: "kuesioner.pdf".into(),
                mime: "application/pdf".into(),
                size: Some(1234)
            }
        );
        let photo = handled(run(&update(
            10,
            "message",
            msg(
                private(42),
                42,
                json!({"photo": [
                    {"file_id": "S", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 100},
                    {"file_id": "L", "file_unique_id": "l", "width": 1280, "height": 960, "file_size": 90000}
                ]}),
            ),
        )));
        assert!(
            matches!(photo.body, Pending::File { ref file_id, ref mime, .. } if file_id.0 == "L" && mime == "image/jpeg")
        );
        let big = run(&update(
            11,
            "message",
            msg(
                private(42),
                42,
                json!({"document": {"file_id": "BIG", "file_unique_id": "b", "file_name": "besar.pdf", "file_size": 30_000_000}}),
            ),
        ));
        assert!(matches!(big, Translated::Tell { ref text, .. } if text == FILE_TOO_BIG));
    }

    #[test]
    fn stickers_voice_and_edits_get_a_polite_answer() {
        let sticker = run(&update(
            12,
            "message",
            msg(
                private(42),
                42,
                json!({"sticker": {"file_id": "st", "file_unique_id": "st", "type": "regular", "width": 512, "height": 512, "is_animated": false, "is_video": false}}),
            ),
        ));
        assert_eq!(
            sticker,
            Translated::Tell {
                chat: ChatId(42),
                text: UNSUPPORTED.into()
            }
        );
        let voice = run(&update(
            13,
            "message",
            msg(
                private(42),
                42,
                json!({"voice": {"file_id": "v", "file_unique_id": "v", "duration": 3, "mime_type": "audio/ogg", "file_size": 4000}}),
            ),
        ));
        assert!(matches!(voice, Translated::Tell { .. }));
        let mut edited = msg(private(42), 42, json!({"text": "halo lagi"}));
        edited["edit_date"] = json!(1_790_000_100);
        assert!(matches!(
            run(&update(14, "edited_message", edited)),
            Translated::Tell { ref text, .. } if text == EDITED
        ));
        let post = json!({"message_id": 3, "date": 1_790_000_000, "chat": {"id": -100999, "type": "channel", "title": "Kanal"}, "text": "pengumuman"});
        assert!(matches!(
            run(&update(15, "channel_post", post)),
            Translated::Ignore(_)
        ));
        let joined = msg(group(), 42, json!({"new_chat_members": [user(43)]}));
        assert!(matches!(
            run(&update(16, "message", joined)),
            Translated::Ignore(_)
        ));
    }

    #[test]
    fn officers_group_obeys_listed_officers_commands_and_replies_only() {
        let cmd = handled(run(&update(
            20,
            "message",
            msg(group(), OFFICER, json!({"text": "/antrian@pst_bot"})),
        )));
        assert_eq!(cmd.from.address, format!("{ADMIN}/{OFFICER}"));
        assert_eq!(
            cmd.body,
            Pending::Ready(InboundBody::Text("/antrian@pst_bot".into()))
        );
        let elsewhere = run(&update(
            21,
            "message",
            msg(group(), OFFICER, json!({"text": "/antrian@other_bot"})),
        ));
        assert!(matches!(elsewhere, Translated::Ignore(_)));
        let chatter = run(&update(
            22,
            "message",
            msg(group(), OFFICER, json!({"text": "siap, saya cek dulu"})),
        ));
        assert!(matches!(chatter, Translated::Ignore(_)));
        let bare = handled(run(&update(
            23,
            "message",
            msg(group(), OFFICER, json!({"text": "lihat ADU-2026-000001"})),
        )));
        assert_eq!(
            bare.body,
            Pending::Ready(InboundBody::Text("lihat ADU-2026-000001".into()))
        );
        let posted = json!({"message_id": 5, "date": 1_790_000_000, "chat": group(),
            "from": {"id": 999, "is_bot": true, "first_name": "PST", "username": "pst_bot"},
            "text": "[ADU-2026-000001] Pesan pemohon / applicant wrote:\nhalo"});
        let reply = handled(run(&update(
            24,
            "message",
            msg(
                group(),
                OFFICER,
                json!({"text": "Baik, kami proses", "reply_to_message": posted}),
            ),
        )));
        assert_eq!(
            reply.reply_to.as_deref(),
            Some("[ADU-2026-000001] Pesan pemohon / applicant wrote:\nhalo")
        );
        let stranger = run(&update(
            25,
            "message",
            msg(group(), 5555, json!({"text": "/antrian"})),
        ));
        assert_eq!(
            stranger,
            Translated::Tell {
                chat: ChatId(ADMIN),
                text: OFFICERS_ONLY.into()
            }
        );
        let stranger_talk = run(&update(
            26,
            "message",
            msg(group(), 5555, json!({"text": "halo semua"})),
        ));
        assert!(matches!(stranger_talk, Translated::Ignore(_)));
    }

    #[test]
    fn button_presses_become_choices_pages_or_a_note() {
        let kb_msg = json!({"message_id": 77, "date": 1_790_000_000, "chat": private(42),
            "from": {"id": 999, "is_bot": true, "first_name": "PST", "username": "pst_bot"},
            "text": "Jenis kelamin?",
            "reply_markup": {"inline_keyboard": [[{"text": "Laki-laki", "callback_data": "v:L"}, {"text": "Perempuan", "callback_data": "v:P"}]]}});
        let q = |data: &str| json!({"id": "q1", "from": user(42), "message": kb_msg, "chat_instance": "ci", "data": data});
        let i = handled(run(&update(30, "callback_query", q("v:P"))));
        assert_eq!(i.body, Pending::Ready(InboundBody::Choice("P".into())));
        let p = i.pressed.unwrap();
        assert_eq!(p.message, MessageId(77));
        assert_eq!(p.label.as_deref(), Some("Perempuan"));
        let n = handled(run(&update(31, "callback_query", q("n:3"))));
        assert_eq!(n.body, Pending::Ready(InboundBody::Text("3".into())));
        assert!(matches!(
            run(&update(32, "callback_query", q("p:1"))),
            Translated::Page { page: 1, .. }
        ));
        assert!(matches!(
            run(&update(33, "callback_query", q("rubbish"))),
            Translated::AnswerQuery { .. }
        ));
    }
}
