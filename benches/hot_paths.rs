//! Criterion benches of the hot pure paths: what every message costs before any I/O.
//!
//! Quick run (CI only compiles these, through `cargo clippy --all-targets`):
//!
//! ```text
//! cargo bench --bench hot_paths -- --warm-up-time 1 --measurement-time 3
//! ```

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use pstbot::cases::flow::{self, Who};
use pstbot::cases::sla::Sla;
use pstbot::cases::{Case, CaseNumber, Service};
use pstbot::channels::telegram::translate::{Context, translate};
use pstbot::channels::whatsapp::{translate as wa_translate, webhook};
use pstbot::config::Config;
use pstbot::dialogs::Bot;
use pstbot::dialogs::Conversation;
use pstbot::dialogs::engine::{Ctx, Input, step};
use pstbot::message::{ChannelKind, Identity};
use sha2::Sha256;
use std::hint::black_box;
use std::path::PathBuf;

fn config() -> Config {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let path = repo.join("config.example.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    Config::parse(&path, &text, |_| None).unwrap()
}

/// Monday 23 November 2026, 09:00 WIB.
fn monday_morning() -> DateTime<Utc> {
    let local = NaiveDate::from_ymd_opt(2026, 11, 23)
        .unwrap()
        .and_hms_opt(9, 0, 0)
        .unwrap();
    chrono_tz::Asia::Jakarta
        .from_local_datetime(&local)
        .unwrap()
        .with_timezone(&Utc)
}

fn dialog_step(c: &mut Criterion) {
    let cfg = config();
    let bot = Bot::load(&cfg).expect("shipped dialogs load");
    let who = Identity::new(ChannelKind::Whatsapp, "+6281234567890");
    let now = monday_morning();
    let ctx = Ctx {
        now,
        identity: &who,
        guest: None,
        cases: &[],
        issued: &[],
        records: None,
    };
    let fresh = Conversation::default();
    c.bench_function("dialog step: first message (menu)", |b| {
        b.iter(|| {
            step(
                &bot,
                &ctx,
                black_box(&fresh),
                black_box(&Input::Text("halo".into())),
            )
        })
    });
    // Into the guest book of a complaint: the next input is the person's name.
    let mut conv = fresh.clone();
    for t in ["halo", "3", "ya"] {
        conv = step(&bot, &ctx, &conv, &Input::Text(t.into())).0;
    }
    let name = Input::Text("Budi Santoso".into());
    c.bench_function("dialog step: guest-book answer (name)", |b| {
        b.iter(|| step(&bot, &ctx, black_box(&conv), black_box(&name)))
    });
    let choice = Input::Choice("1".into());
    let menu = step(&bot, &ctx, &fresh, &Input::Text("menu".into())).0;
    c.bench_function("dialog step: menu choice", |b| {
        b.iter(|| step(&bot, &ctx, black_box(&menu), black_box(&choice)))
    });
    // Issue 19: free sentences, through the whole engine (understanding included).
    let sentence = Input::Text("sy mau ngadu soal pelayanan".into());
    c.bench_function("dialog step: a sentence at the menu (intent)", |b| {
        b.iter(|| step(&bot, &ctx, black_box(&menu), black_box(&sentence)))
    });
    let question = Input::Text("jam buka kantor kapan ya?".into());
    c.bench_function("dialog step: a question in the middle of a form", |b| {
        b.iter(|| step(&bot, &ctx, black_box(&conv), black_box(&question)))
    });
    let mut at_occupation = conv.clone();
    for t in [
        "Budi Santoso",
        "budi@example.go.id",
        "0812 3456 7890",
        "laki2",
        "35",
        "S1",
    ] {
        at_occupation = step(&bot, &ctx, &at_occupation, &Input::Text(t.into())).0;
    }
    let typed = Input::Text("karyawan swasta".into());
    c.bench_function("dialog step: a choice typed in words (occupation)", |b| {
        b.iter(|| step(&bot, &ctx, black_box(&at_occupation), black_box(&typed)))
    });
}

fn workflow_transition(c: &mut Criterion) {
    let cfg = config();
    let bot = Bot::load(&cfg).expect("shipped dialogs load");
    let wf = &bot.workflows[&Service::Adu];
    let now = monday_morning();
    let roles: Vec<_> = cfg.officers.iter().flat_map(|o| o.roles.clone()).collect();
    let who = Who::Officer {
        id: "rina",
        roles: &roles,
    };
    let d = flow::dues(wf, &bot.calendar, &wf.start, now, now, None, &[]);
    let case = Case {
        number: CaseNumber::parse("ADU-2026-000001").unwrap(),
        guest_id: "g1".into(),
        origin: Identity::new(ChannelKind::Whatsapp, "+6281234567890"),
        lang: "id".into(),
        title: "Tabel kemiskinan tidak bisa diunduh".into(),
        created_at: now,
        workflow: wf.id.clone(),
        stage: wf.start.clone(),
        stage_since: now,
        stage_due: d.stage_due,
        overall_start: d.overall_start,
        overall_due: d.overall_due,
        stops: Vec::new(),
        assignee: None,
        open: true,
        confidential: false,
        form: Vec::new(),
        attachments: Vec::new(),
        history: Vec::new(),
        version: 1,
    };
    let t = wf
        .from_state(&wf.start)
        .find(|t| flow::apply(wf, &bot.calendar, &case, t, &who, Some("x"), now).is_ok())
        .expect("some transition leaves the start state");
    let later = now + Duration::hours(3);
    c.bench_function("workflow: find + apply a transition (ADU)", |b| {
        b.iter(|| {
            let t = flow::find(wf, black_box(&case), flow::Find::Id(&t.id)).unwrap();
            flow::apply(wf, &bot.calendar, &case, t, &who, Some("diteruskan"), later).unwrap()
        })
    });
}

fn working_calendar(c: &mut Criterion) {
    let cfg = config();
    let bot = Bot::load(&cfg).expect("shipped dialogs load");
    let cal = &bot.calendar;
    // Friday afternoon before a weekend: the SLA walks over closed days.
    let friday = monday_morning() - Duration::days(3) + Duration::hours(6);
    let ten_days = Sla::parse("10 working_days").unwrap();
    let one_hour = Sla::parse("1 working_hours").unwrap();
    c.bench_function("calendar: due 10 working_days", |b| {
        b.iter(|| cal.due(black_box(friday), ten_days))
    });
    c.bench_function("calendar: due 1 working_hours", |b| {
        b.iter(|| cal.due(black_box(friday), one_hour))
    });
    let stops = [(friday + Duration::days(3), Some(friday + Duration::days(7)))];
    c.bench_function(
        "calendar: due 10 working_days excluding a clock stop",
        |b| b.iter(|| cal.due_excluding(black_box(friday), ten_days, &stops)),
    );
    let end = friday + Duration::days(40);
    c.bench_function("calendar: working days between (40 days)", |b| {
        b.iter(|| cal.working_days_between(black_box(friday), black_box(end)))
    });
}

const APP_SECRET: &str = "bench-app-secret";

/// The understanding layer (issue 19) on typical messages: what one message costs when the
/// menu reads it (command, whole option name, intent, question + FAQ), and a choice step.
fn understanding(c: &mut Criterion) {
    use pstbot::dialogs::understanding::Understanding;
    use pstbot::understand::{self as u, ChoiceMode};
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let loaded =
        pstbot::dialogs::load::load_dir(&repo.join("dialogs"), &["id".into(), "en".into()])
            .expect("shipped dialogs load");
    // Prepared as the engine prepares them at start-up.
    let und = Understanding::new(loaded.lexicon.clone(), &loaded.dialogs, &loaded.catalog);
    let lex = &und.lexicon;
    let intents = &und.intents;
    let menu = und.choices("menu", "main").expect("the menu is a choice");
    let occupation = und
        .choices("guestbook", "occupation")
        .expect("the occupation is a choice");
    let messages = [
        "sy mau ngadu soal pelayanan",
        "permohonan sy udh sampai mana ya",
        "alamat kantor bps dmn",
        "asdfghjkl",
    ];
    c.bench_function(
        "understand: a menu message (command, choice, intent, question, FAQ)",
        |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % messages.len();
                let m = black_box(messages[i]);
                let _ = u::command(lex, m);
                let _ = u::choose(lex, menu, m, ChoiceMode::Exact);
                let _ = u::intent(lex, intents, m);
                if u::is_question(lex, m) {
                    let _ = loaded.faq.scored_match_normalized(lex, m);
                }
            })
        },
    );
    c.bench_function("understand: a choice answer (occupation)", |b| {
        b.iter(|| {
            u::choose(
                lex,
                occupation,
                black_box("karyawan swasta"),
                ChoiceMode::Single,
            )
        })
    });
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).unwrap();
    c.bench_function("understand: a date (senin kemarin)", |b| {
        b.iter(|| u::date(lex, black_box("senin kemarin"), today, u::Direction::Past))
    });
}

fn whatsapp_body() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": "102290129340398",
            "changes": [{
                "field": "messages",
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
                    "contacts": [{"profile": {"name": "Budi Santoso"}, "wa_id": "6281234567890"}],
                    "messages": [{
                        "from": "6281234567890",
                        "id": "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjBBQkNERUYwMTIzNDU2Nzg5AA==",
                        "timestamp": "1795922400",
                        "type": "text",
                        "text": {"body": "Tabel kemiskinan kabupaten di situs web tidak bisa diunduh."}
                    }]
                }
            }]
        }]
    }))
    .unwrap()
}

fn whatsapp_webhook(c: &mut Criterion) {
    let body = whatsapp_body();
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(&body);
    let header = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert!(webhook::signature_ok(
        APP_SECRET,
        &body,
        Some(header.as_bytes())
    ));
    c.bench_function("whatsapp: signature check", |b| {
        b.iter(|| webhook::signature_ok(APP_SECRET, black_box(&body), Some(header.as_bytes())))
    });
    c.bench_function("whatsapp: signature check + parse", |b| {
        b.iter(|| {
            assert!(webhook::signature_ok(
                APP_SECRET,
                black_box(&body),
                Some(header.as_bytes())
            ));
            wa_translate::parse(&body, "106540352242922").unwrap()
        })
    });
}

fn telegram_update(c: &mut Criterion) {
    let body = serde_json::to_vec(&serde_json::json!({
        "update_id": 10000001,
        "message": {
            "message_id": 42,
            "date": 1795922400,
            "chat": {"id": 700001, "type": "private", "first_name": "Budi"},
            "from": {"id": 700001, "is_bot": false, "first_name": "Budi", "language_code": "id"},
            "text": "Tabel kemiskinan kabupaten di situs web tidak bisa diunduh."
        }
    }))
    .unwrap();
    let not_officer = |_: u64| false;
    let cx = Context {
        admin_chat: None,
        username: Some("pst_bot"),
        is_officer: &not_officer,
        max_bytes: 20 * 1024 * 1024,
    };
    c.bench_function("telegram: parse Update + translate", |b| {
        b.iter(|| {
            let u: teloxide::types::Update = serde_json::from_slice(black_box(&body)).unwrap();
            translate(&u, &cx)
        })
    });
}

criterion_group!(
    benches,
    dialog_step,
    workflow_transition,
    working_calendar,
    whatsapp_webhook,
    telegram_update,
    understanding
);
criterion_main!(benches);
