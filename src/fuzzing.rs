//! The bodies of the fuzz targets (`fuzz/`), as plain functions so that `tests/fuzz_corpus.rs`
//! replays every corpus file through exactly the code `cargo fuzz` ran. Each function takes
//! arbitrary bytes, feeds them to one parser or to the dialog engine, and panics only when an
//! invariant is broken (a panic inside the code under test is the other thing a fuzzer finds).
//!
//! Not part of the service: nothing here is called by `serve`.

use crate::config::Config;
use crate::dialogs::{Bot, Conversation, Ctx, Effect, Input, step};
use crate::message::AttachmentRef;
use crate::message::{ChannelKind, Identity, InboundBody};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The phone number id the WhatsApp target's payloads are addressed to (the fixtures' id).
pub const WHATSAPP_PHONE_NUMBER_ID: &str = "106540352242922";

/// A WhatsApp Cloud API webhook body → our events. Any body is either refused with a reason
/// or read into messages from WhatsApp identities with an id.
pub fn whatsapp(data: &[u8]) {
    use crate::channels::whatsapp::translate::{Event, parse};
    let Ok(events) = parse(data, WHATSAPP_PHONE_NUMBER_ID) else {
        return;
    };
    for e in events {
        if let Event::Message(m) = e {
            assert_eq!(m.from.channel, ChannelKind::Whatsapp);
            assert!(m.from.address.starts_with('+'), "{:?}", m.from);
        }
    }
}

/// A Telegram Bot API `Update` (JSON bytes, as a webhook receives it) → what it is. Run twice:
/// once as if the sender were a listed officer (their commands in the admin group are obeyed).
pub fn telegram(data: &[u8]) {
    use crate::channels::telegram::translate::{Context, Translated, translate};
    let Ok(update) = serde_json::from_slice::<teloxide::types::Update>(data) else {
        return;
    };
    for officer in [false, true] {
        let is_officer = move |_: u64| officer;
        let cx = Context {
            admin_chat: Some(teloxide::types::ChatId(-1001234567890)),
            username: Some("pst_bot"),
            is_officer: &is_officer,
            max_bytes: 20 * 1024 * 1024,
        };
        if let Translated::Handle(m) = translate(&update, &cx) {
            assert_eq!(m.from.channel, ChannelKind::Telegram);
            assert!(!m.id.is_empty());
        }
    }
}

/// An SMS gateway post → our message. The first byte picks the encoding the gateway declared
/// (odd: a form, even: JSON); the rest is the body.
pub fn sms(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    if let Ok(m) = crate::channels::sms::parse_inbound(body, kind % 2 == 1) {
        assert_eq!(m.from.channel, ChannelKind::Sms);
        assert!(m.from.address.starts_with('+'));
        assert!(!m.id.is_empty() && m.id.len() <= 128);
        let InboundBody::Text(t) = &m.body else {
            panic!("an SMS is text")
        };
        assert!(t.chars().count() <= 1600);
    }
}

/// A raw RFC 5322 mail → what it is (bounce, automatic, a person's text and files), and the
/// quote stripper on its text.
pub fn email(data: &[u8]) {
    use crate::channels::email::auth::TokenKey;
    use crate::channels::email::parse::{MailCheck, MailKind, parse, strip_quotes_and_signature};
    let check = MailCheck {
        own: "pst@bps.example",
        domain: "bps.example",
        key: &TokenKey::new([9; 32]),
        trusted_authserv_ids: &["mx.bps.example".to_string()],
    };
    let p = parse(data, &check);
    assert!(!p.id.is_empty());
    if let MailKind::Person(m) = &p.kind {
        let _ = strip_quotes_and_signature(&m.text);
    }
    let _ = strip_quotes_and_signature(&String::from_utf8_lossy(data));
}

fn languages() -> Vec<String> {
    vec!["id".into(), "en".into()]
}

/// A dialog file's TOML text → a parsed, checked dialog or errors that name the file. The
/// first byte picks the loader: even, a dialog; odd, the system texts file (`system.toml`).
pub fn dialog(data: &[u8]) {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    if kind % 2 == 0 {
        if let Err(errors) = crate::dialogs::load::parse_dialog("fuzz.toml", text, &languages()) {
            assert!(!errors.is_empty());
        }
    } else {
        let _ = crate::dialogs::load::parse_system("system.toml", text, &languages());
    }
}

/// A workflow file's TOML text → a parsed, checked workflow or errors.
pub fn workflow(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(errors) =
        crate::cases::workflow::parse_workflow("workflows/fuzz.toml", text, &languages())
    {
        assert!(!errors.is_empty());
    }
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The shipped dialogs (`dialogs/*.toml`) with `config.example.toml`'s office settings.
pub fn shipped_bot() -> &'static Bot {
    static BOT: OnceLock<Bot> = OnceLock::new();
    BOT.get_or_init(|| {
        let path: PathBuf = repo().join("config.example.toml");
        let text = std::fs::read_to_string(&path).expect("config.example.toml");
        let config = Config::parse(&path, &text, |_| None).expect("the example config");
        Bot::load(&config).expect("the shipped dialogs load")
    })
}

/// Words the dialogs understand, so the fuzzer reaches deep steps quickly.
const WORDS: &[&str] = &[
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "9",
    "10",
    "ya",
    "tidak",
    "yes",
    "no",
    "menu",
    "batal",
    "kembali",
    "bantuan",
    "bahasa",
    "bahasa en",
    "lewati",
    "selesai",
    "kirim",
    "ubah",
    "datasaya",
    "hapusdata",
    "Budi Santoso",
    "budi@example.go.id",
    "0812 3456 7890",
    "+6281234567890",
    "25/11/2026",
    "besok jam 10",
    "REK-2026-000001",
    "survei",
    "1, 3",
    "",
];

/// Reads the fuzzer's bytes as a sequence of inputs: records separated by `0xFF`; a record's
/// first byte picks the kind (a known word, free text, a choice id, a file, a contact).
pub fn engine_inputs(data: &[u8]) -> Vec<Input> {
    data.split(|b| *b == 0xFF)
        .take(80)
        .filter_map(|rec| {
            let (&kind, rest) = rec.split_first()?;
            let text = || String::from_utf8_lossy(rest).into_owned();
            Some(match kind % 8 {
                0..=2 => Input::Text(
                    WORDS[rest.first().copied().unwrap_or(0) as usize % WORDS.len()].to_string(),
                ),
                3 | 4 => Input::Text(text()),
                5 => Input::Choice(text()),
                6 => {
                    let size = rest
                        .iter()
                        .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(*b)))
                        % 40_000_000;
                    Input::File(AttachmentRef {
                        blob: "0".repeat(64),
                        filename: text(),
                        mime: "application/pdf".into(),
                        size,
                    })
                }
                _ => Input::Contact {
                    phone: text(),
                    own: rest.len() % 2 == 0,
                },
            })
        })
        .collect()
}

/// Steps a conversation through the shipped dialogs with arbitrary inputs: every input gets a
/// non-empty, phone-sized answer and the conversation stays on a step that exists.
pub fn engine(data: &[u8]) {
    let bot = shipped_bot();
    let who = Identity::new(ChannelKind::Terminal, "fuzz");
    let mut conv = Conversation::default();
    // Monday 23 November 2026, 09:00 WIB: inside service hours.
    let mut now = chrono::DateTime::parse_from_rfc3339("2026-11-23T02:00:00Z")
        .expect("a date")
        .to_utc();
    for input in engine_inputs(data) {
        let ctx = Ctx {
            now,
            identity: &who,
            guest: None,
            cases: &[],
            issued: &[],
            records: None,
        };
        let (next, effects) = step(bot, &ctx, &conv, &input);
        let mut replies = 0;
        for e in &effects {
            if let Effect::Reply(r) = e {
                replies += 1;
                assert!(!r.text.trim().is_empty(), "an empty reply to {input:?}");
                assert!(
                    r.text.chars().count() < 4000,
                    "a reply longer than a phone screen to {input:?}"
                );
            }
        }
        assert!(replies > 0, "no answer to {input:?}");
        if let Some(a) = &next.active {
            let d = bot.dialogs.get(&a.dialog);
            assert!(
                d.is_some_and(|d| d.step(&a.step).is_some()),
                "left on a step that does not exist: {a:?}"
            );
        }
        assert!(bot.languages.contains(&next.lang));
        conv = next;
        now += chrono::Duration::minutes(1);
    }
}

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// The targets by name, as `fuzz/fuzz_targets/*.rs` and `fuzz/corpus/*` call them.
pub const TARGETS: &[(&str, Target)] = &[
    ("whatsapp", whatsapp),
    ("telegram", telegram),
    ("sms", sms),
    ("email", email),
    ("dialog", dialog),
    ("workflow", workflow),
    ("engine", engine),
];
