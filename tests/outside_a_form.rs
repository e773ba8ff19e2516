//! Issue 25: a person with an open case can still start something new. Outside a form a
//! greeting opens the menu (with one line about the open case), a sentence naming a service
//! starts it, "status" shows the cases, "ya"/"ok"/"makasih" get a short answer, and only what
//! is meant for the officers reaches them. With several open cases the person picks one, once.
//! The same on every channel.

use crate::support;

use pstbot::message::ChannelKind;
use support::{Chat, case_number};

/// Files a complaint as whoever `t` is now; returns its number.
async fn file_complaint(t: &mut Chat, guest_known: bool) -> String {
    t.expect("menu", &["Selamat datang"]).await;
    t.say("3").await;
    if guest_known {
        // A returning guest is asked only the purpose of this visit.
        t.expect("1", &["Mohon periksa"]).await;
    } else {
        t.fill_guest_book("Budi Santoso").await;
    }
    t.expect("kirim", &["tentang apa"]).await;
    t.expect("2", &["Ceritakan"]).await;
    t.expect("Tabel kemiskinan di situs tidak bisa diunduh.", &["Kapan"])
        .await;
    t.say("20/11/2026").await;
    if !t.last.iter().any(|m| m.text.contains("rahasia")) {
        t.expect("lewati", &["rahasia"]).await;
    }
    t.expect("tidak", &["LAPOR"]).await;
    t.expect("-", &["Mohon periksa"]).await;
    let out = t.expect("kirim", &["ADU-2026-"]).await;
    case_number(&out).unwrap()
}

/// What the officers' chat got from the last message.
fn officers_posts(t: &Chat) -> Vec<String> {
    t.last
        .iter()
        .filter(|m| m.to.channel == ChannelKind::Officers)
        .map(|m| m.text.clone())
        .collect()
}

/// The person types `text`; returns the answer and what the officers' chat got from it.
async fn say(t: &mut Chat, text: &str) -> (String, Vec<String>) {
    let out = t.say(text).await;
    (out, officers_posts(t))
}

#[tokio::test]
async fn a_returning_person_with_an_open_case_starts_a_new_request_on_every_channel() {
    for (channel, address) in [
        (ChannelKind::Terminal, "budi"),
        (ChannelKind::Whatsapp, "+6281234567890"),
        (ChannelKind::Telegram, "4242"),
        (ChannelKind::Sms, "+6281234567890"),
        (ChannelKind::Email, "budi.santoso@example.go.id"),
        (ChannelKind::Web, "web-session-9"),
    ] {
        let mut t = Chat::memory();
        t.as_person(channel, address);
        let case = file_complaint(&mut t, false).await;

        // Short words that carry nothing: a short answer, not forwarded.
        for said in ["ya", "ok", "👍"] {
            let (out, posted) = say(&mut t, said).await;
            assert!(
                posted.is_empty(),
                "[{channel:?}] {said:?} was forwarded: {out}"
            );
            assert!(!out.contains("diteruskan"), "[{channel:?}] {out}");
        }
        let (thanks, posted) = say(&mut t, "makasih ya kak").await;
        assert!(thanks.contains("Sama-sama"), "[{channel:?}] {thanks}");
        assert!(posted.is_empty());
        // A real message for the officer goes to the officer, with the case number.
        let (out, posted) = say(
            &mut t,
            "Pak, file tabel yang kemarin dikirim tidak bisa dibuka, mohon dikirim ulang",
        )
        .await;
        assert!(out.contains(&case), "[{channel:?}] {out}");
        let all: Vec<String> = t.last.iter().map(|m| format!("{:?}", m.to)).collect();
        assert!(!posted.is_empty(), "[{channel:?}] {out} {all:?}");
        assert!(
            posted
                .iter()
                .any(|p| p.contains(&case) && p.contains("tidak bisa dibuka")),
            "[{channel:?}] {posted:?}"
        );
        // Status in everyday words, outside a form: the person's cases.
        let (status, posted) = say(&mut t, "cek status").await;
        assert!(status.contains(&case), "[{channel:?}] {status}");
        assert!(posted.is_empty(), "[{channel:?}] {posted:?}");
        // The person comes back the next day (the status view has closed).
        t.clock.advance(chrono::Duration::hours(25));
        // A greeting: the menu, with one line about the open case; nothing to the officers.
        let (menu, posted) = say(&mut t, "halo").await;
        assert!(
            menu.contains(&case) && menu.contains("Selamat datang"),
            "[{channel:?}] {menu}"
        );
        assert!(
            posted.is_empty(),
            "[{channel:?}] a greeting is not forwarded"
        );
        // A sentence naming a service starts it (the returning guest only confirms).
        let (started, posted) = say(&mut t, "mau beli data susenas").await;
        assert!(
            started.contains("Selamat datang kembali") && posted.is_empty(),
            "[{channel:?}] {started}"
        );
    }
}

#[tokio::test]
async fn one_word_is_asked_about_and_several_open_cases_ask_which_once() {
    for (channel, address) in [
        (ChannelKind::Whatsapp, "+6281234567890"),
        (ChannelKind::Telegram, "4242"),
        (ChannelKind::Web, "web-session-9"),
        (ChannelKind::Sms, "+6281234567890"),
        (ChannelKind::Email, "budi.santoso@example.go.id"),
        (ChannelKind::Terminal, "budi"),
    ] {
        asked_about_and_which_case(channel, address).await;
    }
}

async fn asked_about_and_which_case(channel: ChannelKind, address: &str) {
    let mut t = Chat::memory();
    t.as_person(channel, address);
    let first = file_complaint(&mut t, false).await;
    // One word: is it for the officer or the menu?
    let (asked, posted) = say(&mut t, "revisi").await;
    assert!(
        asked.contains(&format!("Kirim ke petugas ({first})")) && asked.contains("Buka menu"),
        "{asked}"
    );
    assert!(posted.is_empty());
    let (sent, posted) = say(&mut t, "1").await;
    assert!(sent.contains(&first), "{sent}");
    assert!(
        posted
            .iter()
            .any(|p| p.contains(&first) && p.contains("revisi")),
        "the word goes to the officer once confirmed: {posted:?}"
    );

    // A second open case: which one is a message about? Asked once, then remembered.
    let second = file_complaint(&mut t, true).await;
    assert_ne!(first, second);
    let (which, posted) = say(
        &mut t,
        "Tolong dicek lagi ya pak, datanya masih belum bisa dibuka",
    )
    .await;
    assert!(
        which.contains(&first) && which.contains(&second) && posted.is_empty(),
        "{which}"
    );
    // A button where the channel has them; elsewhere the number typed.
    let picked = if matches!(
        channel,
        ChannelKind::Sms | ChannelKind::Email | ChannelKind::Terminal
    ) {
        t.say(&second.to_lowercase()).await
    } else {
        t.send(pstbot::message::InboundBody::Choice(format!(
            "kasus:{second}"
        )))
        .await
    };
    let posted = officers_posts(&t);
    assert!(picked.contains(&second), "{picked}");
    assert!(
        posted
            .iter()
            .any(|p| p.contains(&second) && p.contains("masih belum bisa dibuka")),
        "{posted:?}"
    );
    let (next, posted) = say(
        &mut t,
        "Berkasnya sudah saya perbaiki sesuai catatan petugas",
    )
    .await;
    assert!(
        next.contains(&second) && posted.iter().any(|p| p.contains(&second)),
        "remembered: {next} {posted:?}"
    );
}

/// The same rules in English: a person who switched to English greets, thanks, asks for the
/// status and names a service in English; a thank-you after an officer's reply is answered and
/// not forwarded; a greeting while the status is on screen opens the menu.
#[tokio::test]
async fn in_english_and_after_an_officers_reply() {
    let mut t = Chat::memory();
    t.as_person(ChannelKind::Whatsapp, "+6281234567890");
    let case = file_complaint(&mut t, false).await;
    let (out, posted) = say(&mut t, "english please").await;
    assert!(posted.is_empty(), "{out}");
    // The officer answers; the person thanks her.
    t.as_terminal("rina");
    t.say(&format!(
        "balas {case} Tabelnya sudah kami perbaiki, silakan dicoba lagi."
    ))
    .await;
    t.as_person(ChannelKind::Whatsapp, "+6281234567890");
    for thanks in ["thank you", "thanks a lot", "terima kasih banyak bu"] {
        let (out, posted) = say(&mut t, thanks).await;
        assert!(
            out.contains("welcome") || out.contains("Sama-sama"),
            "{thanks:?}: {out}"
        );
        assert!(posted.is_empty(), "{thanks:?} was forwarded: {posted:?}");
    }
    let (status, posted) = say(&mut t, "check my status").await;
    assert!(status.contains(&case) && posted.is_empty(), "{status}");
    // A greeting while the status is still on screen: the menu, in English, with the case.
    let (menu, posted) = say(&mut t, "hello").await;
    assert!(menu.contains(&case) && menu.contains("Welcome"), "{menu}");
    assert!(posted.is_empty(), "a greeting is not forwarded: {posted:?}");
    // A message for the officer, in English, goes to the officer.
    let (out, posted) = say(
        &mut t,
        "The new table opens now, but the 2023 column is still empty",
    )
    .await;
    assert!(out.contains(&case), "{out}");
    assert!(
        posted.iter().any(|p| p.contains("2023 column")),
        "{posted:?}"
    );
    let (started, posted) = say(&mut t, "i want to buy susenas data").await;
    assert!(
        started.contains("Welcome back") && posted.is_empty(),
        "{started}"
    );
}

/// The menu a greeting opens tells a person with an open case to just type the message: a
/// message typed while it waits goes to the officer, and small talk is answered, not
/// re-prompted as a wrong pick.
#[tokio::test]
async fn a_message_typed_at_the_menu_reaches_the_officer() {
    let mut t = Chat::memory();
    t.as_person(ChannelKind::Sms, "+6281234567890");
    let case = file_complaint(&mut t, false).await;
    let (menu, _) = say(&mut t, "halo").await;
    assert!(menu.contains("ketik saja pesan"), "{menu}");
    let (out, posted) = say(
        &mut t,
        "Pak, file tabel yang kemarin dikirim tidak bisa dibuka, mohon dikirim ulang",
    )
    .await;
    assert!(out.contains(&case), "{out}");
    assert!(
        posted.iter().any(|p| p.contains("tidak bisa dibuka")),
        "{posted:?}"
    );
    say(&mut t, "menu").await;
    let (out, posted) = say(&mut t, "sudah saya perbaiki pak").await;
    assert!(
        posted.iter().any(|p| p.contains("sudah saya perbaiki")),
        "a message that picks nothing goes too: {out}"
    );
    say(&mut t, "menu").await;
    let (out, posted) = say(&mut t, "makasih").await;
    assert!(out.contains("Sama-sama") && posted.is_empty(), "{out}");
    // A pick is still a pick.
    say(&mut t, "menu").await;
    let (status, posted) = say(&mut t, "4").await;
    assert!(status.contains(&case) && posted.is_empty(), "{status}");
    // With the status list on screen, a question for the officer goes to the officer; a
    // request number is still read as one.
    let (_, posted) = say(&mut t, "berkasnya sudah saya kirim lewat email pak").await;
    assert!(
        posted.iter().any(|p| p.contains("lewat email")),
        "{posted:?}"
    );
    say(&mut t, "status").await;
    let (details, posted) = say(&mut t, &case).await;
    assert!(
        details.contains(&case) && details.contains("Tahap") && posted.is_empty(),
        "{details}"
    );
}
