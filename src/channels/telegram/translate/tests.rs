//! What `translate` makes of updates shaped like the Bot API's documented ones.

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
    let mut m = json!({"message_id": 10, "date": 1_790_000_000, "chat": chat, "from": user(from)});
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
