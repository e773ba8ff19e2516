//! Property test of the pure dialog engine: any sequence of inputs — valid answers, commands,
//! garbage, huge or odd text, files and contacts — never panics, always answers, and always
//! leaves the conversation on a step that exists.

use crate::support;

use proptest::prelude::*;
use pstbot::dialogs::{Bot, Conversation, Ctx, Effect, Input, step};
use pstbot::message::AttachmentRef;
use pstbot::message::{ChannelKind, Identity};
use std::sync::OnceLock;

fn bot() -> &'static Bot {
    static BOT: OnceLock<Bot> = OnceLock::new();
    BOT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        Bot::load(&support::config(dir.path())).unwrap()
    })
}

fn input() -> impl Strategy<Value = Input> {
    let words = prop::sample::select(vec![
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
        "10",
        "0",
        "99",
        "ya",
        "tidak",
        "yes",
        "no",
        "kembali",
        "batal",
        "menu",
        "bantuan",
        "bahasa",
        "bahasa en",
        "lewati",
        "-",
        "selesai",
        "lanjut",
        "kirim",
        "ubah",
        "datasaya",
        "Budi Santoso",
        "budi@example.go.id",
        "0812 3456 7890",
        "25/11/2026",
        "besok jam 10",
        "2026-13-45",
        "REK-2026-000001",
        "",
        "🙂🙂",
        "1, 3",
        "survei",
    ]);
    prop_oneof![
        6 => words.prop_map(|w| Input::Text(w.to_string())),
        2 => "\\PC{0,60}".prop_map(Input::Text),
        1 => (1usize..6000).prop_map(|n| Input::Text("x".repeat(n))),
        1 => "[a-z]{1,8}".prop_map(Input::Choice),
        1 => ("[a-z]{1,8}\\.(pdf|exe|png)", 0u64..30_000_000).prop_map(|(name, size)| Input::File(AttachmentRef {
            blob: "0".repeat(64),
            filename: name,
            mime: "application/octet-stream".into(),
            size,
        })),
        1 => ("\\+628[0-9]{9}", any::<bool>()).prop_map(|(phone, own)| Input::Contact { phone, own }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_input_sequence_keeps_the_conversation_valid(inputs in prop::collection::vec(input(), 1..60)) {
        let bot = bot();
        let who = Identity::new(ChannelKind::Terminal, "prop");
        let mut conv = Conversation::default();
        let mut now = support::monday_morning();
        for i in inputs {
            let ctx = Ctx { now, identity: &who, guest: None, cases: &[], issued: &[], records: None };
            let (next, effects) = step(bot, &ctx, &conv, &i);
            let replies: Vec<_> = effects.iter().filter_map(|e| match e { Effect::Reply(r) => Some(r), _ => None }).collect();
            prop_assert!(!replies.is_empty(), "every input gets an answer: {i:?}");
            for r in replies {
                prop_assert!(!r.text.trim().is_empty());
                prop_assert!(r.text.chars().count() < 4000, "replies stay phone-sized");
            }
            if let Some(a) = &next.active {
                let d = bot.dialogs.get(&a.dialog);
                prop_assert!(d.is_some_and(|d| d.step(&a.step).is_some()), "on an existing step: {a:?}");
            }
            prop_assert!(bot.languages.contains(&next.lang));
            conv = next;
            now += chrono::Duration::minutes(1);
        }
    }
}
