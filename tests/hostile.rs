//! Hostile input, tried and counted (issue 11). Each test below plays an attacker or a careless
//! sender and asserts what the person or officer sees and that nothing changed that should not
//! have. [`HOSTILE`] lists every hostile input the suite tries — here and in the channel suites
//! where it already lived — and `hostile_inputs_are_counted` checks that each named test exists
//! and prints the count (RELIABILITY.md, "Hostile input").

use crate::support;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hmac::{Hmac, Mac};
use pstbot::cases::CaseNumber;
use pstbot::channels::sms::SmsConfig;
use pstbot::channels::whatsapp::WhatsappConfig;
use pstbot::config::Secret;
use pstbot::dialogs::Bot;
use pstbot::message::{
    Attachment, ChannelKind, Identity, InboundBody, InboundMessage, OutboundMessage, Topic,
};
use pstbot::runtime::{FixedClock, Runtime, RuntimeParts};
use pstbot::store::memory::MemoryStore;
use pstbot::store::{DedupeKey, OutboxRow, Store};
use sha2::Sha256;
use std::sync::Arc;
use support::Chat;
use tower::ServiceExt;

/// One hostile input: what is sent, the test that sends it (`file::function`), and what must
/// happen.
struct Hostile {
    input: &'static str,
    test: &'static str,
    expected: &'static str,
}

const fn h(input: &'static str, test: &'static str, expected: &'static str) -> Hostile {
    Hostile {
        input,
        test,
        expected,
    }
}

/// Every hostile input tried, with where. Kept in RELIABILITY.md's table.
const HOSTILE: &[Hostile] = &[
    // Forged, unsigned, replayed webhooks.
    h(
        "WhatsApp post without X-Hub-Signature-256",
        "whatsapp::forged_unsigned_malformed_and_oversized_posts_are_refused_and_nothing_is_stored",
        "401, nothing stored or sent",
    ),
    h(
        "WhatsApp post signed with another secret",
        "whatsapp::forged_unsigned_malformed_and_oversized_posts_are_refused_and_nothing_is_stored",
        "401, nothing stored",
    ),
    h(
        "WhatsApp signed body altered on the way",
        "whatsapp::forged_unsigned_malformed_and_oversized_posts_are_refused_and_nothing_is_stored",
        "401, nothing stored",
    ),
    h(
        "WhatsApp empty signature `sha256=`",
        "whatsapp::forged_unsigned_malformed_and_oversized_posts_are_refused_and_nothing_is_stored",
        "401",
    ),
    h(
        "WhatsApp verify handshake with a wrong token",
        "whatsapp::verification_handshake_answers_the_challenge_only_for_the_right_token",
        "403, no challenge echoed",
    ),
    h(
        "WhatsApp valid signed body replayed 3 times",
        "whatsapp::the_same_wamid_delivered_three_times_is_handled_once",
        "200 each, handled and answered once",
    ),
    h(
        "SMS webhook without / with a wrong X-Sms-Secret",
        "hostile::forged_and_replayed_sms_webhooks",
        "401, nothing stored",
    ),
    h(
        "SMS valid post replayed 3 times",
        "hostile::forged_and_replayed_sms_webhooks",
        "200 each, one answer",
    ),
    h(
        "Telegram update re-delivered after a restart",
        "telegram::a_restart_mid_stream_loses_and_repeats_nothing",
        "handled once",
    ),
    h(
        "Telegram webhook without the secret token",
        "telegram::serve_runs_telegram_by_webhook_from_the_config",
        "401",
    ),
    h(
        "Web chat post without / with a forged session",
        "webchat::missing_or_forged_sessions_are_refused_and_change_nothing",
        "refused, nothing changes",
    ),
    h(
        "Web chat cross-site post",
        "webchat::cross_site_posts_are_refused",
        "403",
    ),
    h(
        "Same inbound message id delivered twice (runtime)",
        "scenarios::a_redelivered_message_is_applied_once",
        "applied once",
    ),
    h(
        "Throttled message re-delivered",
        "hostile::a_flood_from_one_sender_is_limited_without_hurting_others",
        "still a duplicate: nothing",
    ),
    // Oversized.
    h(
        "WhatsApp body over max_body_bytes (signed)",
        "whatsapp::forged_unsigned_malformed_and_oversized_posts_are_refused_and_nothing_is_stored",
        "413",
    ),
    h(
        "SMS webhook body over 256 KiB",
        "hostile::oversized_bodies_and_attachments",
        "413, nothing stored",
    ),
    h(
        "SMS text over 1600 characters",
        "hostile::oversized_bodies_and_attachments",
        "413, nothing stored",
    ),
    h(
        "Attachment over max_attachment_bytes (runtime)",
        "hostile::oversized_bodies_and_attachments",
        "polite bilingual refusal, not kept",
    ),
    h(
        "Telegram file over 20 MB",
        "telegram::stickers_edits_and_oversized_files_get_a_polite_answer_once",
        "polite answer once",
    ),
    h(
        "Web chat text / upload over the limits",
        "webchat::limits_give_a_clear_answer_in_both_languages",
        "clear bilingual answer",
    ),
    h(
        "Message text of 10 KiB; an answer over its field's length",
        "scenarios::bad_input_gets_a_clear_reprompt_and_changes_nothing",
        "clear re-prompt, nothing stored",
    ),
    // Malformed.
    h(
        "100 000 nested `[` to the WhatsApp webhook (signed)",
        "hostile::deeply_nested_json_and_invalid_utf8_get_400",
        "400, no stack overflow",
    ),
    h(
        "100 000 nested `[` to the SMS webhook",
        "hostile::deeply_nested_json_and_invalid_utf8_get_400",
        "400",
    ),
    h(
        "100 000 nested `[` to the Telegram webhook",
        "hostile::deeply_nested_json_and_invalid_utf8_get_400",
        "400 (401 without the secret token)",
    ),
    h(
        "Invalid UTF-8 in a WhatsApp body (signed)",
        "hostile::deeply_nested_json_and_invalid_utf8_get_400",
        "400",
    ),
    h(
        "Invalid UTF-8 in a Telegram update (webhook)",
        "hostile::deeply_nested_json_and_invalid_utf8_get_400",
        "400",
    ),
    h(
        "Invalid UTF-8 in an SMS JSON body",
        "hostile::deeply_nested_json_and_invalid_utf8_get_400",
        "400",
    ),
    h(
        "Invalid UTF-8 (%FF) in an SMS form body",
        "hostile::deeply_nested_json_and_invalid_utf8_get_400",
        "400 or text with U+FFFD; never a crash",
    ),
    h(
        "Invalid UTF-8 in an e-mail's headers and body",
        "hostile::invalid_utf8_mail_is_read_lossily",
        "read, replacement characters, no panic",
    ),
    h(
        "WhatsApp signed JSON of the wrong shape / not JSON",
        "whatsapp::forged_unsigned_malformed_and_oversized_posts_are_refused_and_nothing_is_stored",
        "400",
    ),
    h(
        "Arbitrary bytes to every parser (fuzz corpora)",
        "fuzz_corpus::every_corpus_file_replays_without_a_panic",
        "no panic",
    ),
    h(
        "Arbitrary input sequences to the dialog engine",
        "engine_props::any_input_sequence_keeps_the_conversation_valid",
        "always answers, valid step",
    ),
    // Control, bidi, HTML and Markdown.
    h(
        "U+202E and control characters in a name",
        "hostile::bidi_html_and_markdown_render_inertly_everywhere",
        "stripped at the door",
    ),
    h(
        "HTML / Markdown link in a name",
        "hostile::bidi_html_and_markdown_render_inertly_everywhere",
        "refused with the name re-prompt",
    ),
    h(
        "HTML in a name and complaint: Telegram (HTML parse mode)",
        "hostile::bidi_html_and_markdown_render_inertly_everywhere",
        "escaped, shown as typed",
    ),
    h(
        "HTML in a complaint: e-mail HTML part",
        "hostile::bidi_html_and_markdown_render_inertly_everywhere",
        "escaped",
    ),
    h(
        "HTML in a complaint: officers' admin chat post",
        "hostile::bidi_html_and_markdown_render_inertly_everywhere",
        "escaped",
    ),
    h(
        "HTML in a complaint: WhatsApp and SMS",
        "hostile::bidi_html_and_markdown_render_inertly_everywhere",
        "plain text as typed",
    ),
    h(
        "HTML in a text: web chat",
        "hostile::bidi_html_and_markdown_render_inertly_everywhere",
        "JSON text shown with textContent",
    ),
    h(
        "HTML and bidi in guest-book answers: CSV export",
        "hostile::bidi_html_and_markdown_render_inertly_everywhere",
        "plain cells, no bidi",
    ),
    h(
        "Formula injection `=cmd|' /C calc'!A0` in CSV/XLSX",
        "reports::formula_injection_is_neutralised_in_csv_and_xlsx",
        "written as text",
    ),
    // Header injection.
    h(
        "CR/LF + `Bcc:` in a text that becomes an e-mail Subject",
        "hostile::no_header_injection_through_an_e_mail_subject",
        "one Subject line, no Bcc header",
    ),
    // Path traversal.
    h(
        "Attachment named `../../etc/passwd` (no extension)",
        "hostile::attachment_names_cannot_traverse_paths",
        "refused: file type not accepted",
    ),
    h(
        "Attachment named `../../etc/passwd.pdf`",
        "hostile::attachment_names_cannot_traverse_paths",
        "kept as `passwd.pdf`",
    ),
    h(
        "Attachment named `..\\..\\boot.pdf`",
        "hostile::attachment_names_cannot_traverse_paths",
        "kept as `boot.pdf`",
    ),
    h(
        "Attachment named `/etc/shadow.pdf` (absolute)",
        "hostile::attachment_names_cannot_traverse_paths",
        "kept as `shadow.pdf`",
    ),
    h(
        "Attachment name with NUL",
        "hostile::attachment_names_cannot_traverse_paths",
        "NUL removed",
    ),
    h(
        "E-mail attachment named `../../etc/passwd`",
        "hostile::invalid_utf8_mail_is_read_lossily",
        "kept as `passwd`",
    ),
    // Access.
    h(
        "Applicant asks the status of another person's case number",
        "hostile::guessing_other_case_numbers_shows_nothing",
        "no details of that case",
    ),
    h(
        "Applicant mails a reply naming another person's case",
        "hostile::guessing_other_case_numbers_shows_nothing",
        "not added to that case",
    ),
    h(
        "Status lists own cases only",
        "scenarios::status_lists_own_cases_only_and_rating_saves_the_survey",
        "own cases only",
    ),
    h(
        "Applicant sends 12 officer commands",
        "workflows::officer_commands_are_refused_to_applicants_and_wrong_roles",
        "forwarded as text, case unchanged",
    ),
    h(
        "Officer with the wrong role",
        "workflows::officer_commands_are_refused_to_applicants_and_wrong_roles",
        "refused, says which role",
    ),
    h(
        "Non-officer command in the Telegram officers' group",
        "telegram::guest_book_complaint_and_an_officer_answering_in_the_group",
        "\"for listed officers only\", nothing done",
    ),
    h(
        "Removed officer (config reloaded) sends admin commands",
        "hostile::a_removed_officer_is_an_applicant_again",
        "no queue, no case change",
    ),
    h(
        "Confidential complaint seen by officers below pimpinan",
        "scenarios::officers_read_the_queue_and_confidential_identities_stay_hidden",
        "identity hidden",
    ),
    // Flood.
    h(
        "40 messages in a minute from one sender",
        "hostile::a_flood_from_one_sender_is_limited_without_hurting_others",
        "30 handled, one notice, rest recorded",
    ),
    h(
        "45 SMS webhook posts in a minute from one phone",
        "hostile::a_flood_over_the_sms_webhook_is_acknowledged_and_noticed_once",
        "all 200, all recorded, one notice, another phone answered",
    ),
    h(
        "Another sender during the flood",
        "hostile::a_flood_from_one_sender_is_limited_without_hurting_others",
        "served normally",
    ),
    h(
        "Officer sending 40 commands a minute (WhatsApp)",
        "hostile::a_flood_from_one_sender_is_limited_without_hurting_others",
        "never limited",
    ),
    h(
        "40 lines a minute from the local terminal",
        "hostile::a_flood_from_one_sender_is_limited_without_hurting_others",
        "never limited (scripting)",
    ),
    h(
        "Web chat flood per session / per IP",
        "webchat::limits_give_a_clear_answer_in_both_languages",
        "429 with a clear answer",
    ),
    // Forged e-mail identities (issue 17, items 1–3).
    h(
        "Officer command mailed with a forged `From:` (no server verdict)",
        "email::a_forged_from_acts_as_nobody_officers_cases_erasure_and_bounces",
        "not run; the officer is told at that address",
    ),
    h(
        "Officer command with `Authentication-Results` from an untrusted server",
        "email::a_forged_from_acts_as_nobody_officers_cases_erasure_and_bounces",
        "not run",
    ),
    h(
        "Officer command with our server's DKIM pass for another domain",
        "email::a_forged_from_acts_as_nobody_officers_cases_erasure_and_bounces",
        "not run (not aligned)",
    ),
    h(
        "Officer command with a wrong `email_secret` in the subject",
        "email::a_forged_from_acts_as_nobody_officers_cases_erasure_and_bounces",
        "not run; the officer is told",
    ),
    h(
        "Reply in a case thread with a forged `From:` and a made-up token",
        "email::a_forged_from_acts_as_nobody_officers_cases_erasure_and_bounces",
        "not on the case; a new conversation that sees no case",
    ),
    h(
        "Reply quoting another person's case mail (real token, other sender)",
        "email::a_forged_from_acts_as_nobody_officers_cases_erasure_and_bounces",
        "not on the case; nothing about it revealed",
    ),
    h(
        "`hapusdata` + `ya` mailed with a forged `From:`",
        "email::a_forged_from_acts_as_nobody_officers_cases_erasure_and_bounces",
        "nothing erased; told to answer our mail",
    ),
    h(
        "Bounce naming an address we never mailed (no mail of ours in it)",
        "email::a_forged_from_acts_as_nobody_officers_cases_erasure_and_bounces",
        "ignored: the address stays deliverable",
    ),
    h(
        "Forged `Authentication-Results` below the server's own",
        "email::a_forged_from_acts_as_nobody_officers_cases_erasure_and_bounces",
        "only the topmost trusted verdict counts",
    ),
    h(
        "`GET /api/web/events?after=0` on a 700-entry web log",
        "webchat::the_event_stream_of_a_long_log_sends_every_entry_in_order",
        "entries 1–700 in order (pages of 300), then new ones live",
    ),
    h(
        "The first web post on a disk that fills up (sled)",
        "disk::the_first_web_post_on_a_full_disk_is_503",
        "503 \"try again shortly\" from the first refused post (12 runs: 0–1 taken, then 503)",
    ),
    h(
        "The first web post while the PostgreSQL server is gone",
        "webchat::the_first_post_the_store_cannot_take_is_503_on_postgres_too",
        "503 with `Retry-After` (was 500: PostgreSQL never flags trouble)",
    ),
    h(
        "A valid `pstbot_session` token planted as a cookie by a sibling subdomain (https)",
        "webchat::over_https_the_cookie_has_the_host_prefix_and_a_planted_one_is_not_adopted",
        "not adopted (`resumed: false`, 401 on it); the cookie is `__Host-pstbot_session`",
    ),
    h(
        "100 file downloads on a 20,000-entry web log; 31 downloads in a minute",
        "webchat::a_file_lookup_does_not_read_the_whole_log_and_downloads_are_limited",
        "index: 100 lookups ≈ 2 whole-log reads (≈ 72 before; measured 2026-12-03, debug build, in-memory store: 100 downloads 12.7 ms, 0.13 ms each, against 114 ms per lookup before); the 31st → 429",
    ),
    h(
        "7 event streams from one web session; 9 from one address",
        "webchat::open_event_streams_are_capped_per_session_and_per_address",
        "429 with `Retry-After`; a closed stream frees its place; other addresses served",
    ),
    h(
        "An office page hostile to the widget: long, right-to-left, fixed header and cookie banner at z-index 2147483647, `button`/`iframe` styles of its own, a transformed `<body>`",
        "webchat_browser::the_widget_stays_reachable_on_a_long_right_to_left_page_with_its_own_fixed_layers",
        "the bubble and the chat on screen and on top, the chat within 360 × 740",
    ),
    h(
        "An office page wider than the phone (a 900 px table, right to left) scrolled to its far end",
        "webchat_browser::on_a_page_wider_than_the_phone_the_bubble_follows_the_screen",
        "the bubble and the chat follow the part on screen (was: the bubble 1,050 px below the screen)",
    ),
    h(
        "1,100 half-sent requests (`GET /healthz` with headers never finished) from one address, the service under `ulimit -n 1024`",
        "abuse::a_thousand_half_sent_requests_from_one_client_leave_the_service_answerable",
        "(asserted) every connect accepted; at least 844 refused at once, at most 256 left open (the per-address cap); another address (127.0.0.2) answered 200 five times during the flood, and the SMS webhook (from 127.0.0.3) took five messages (200); the flooding address answered 200 once it lets go; a clean stop on SIGTERM; no \"Too many open files\" in the log",
    ),
    h(
        "Headers trickled a byte every 0.5 s and never finished; a `Content-Length: 100` body that never comes; a kept-alive connection left idle after a 200 (timeouts set to 2 s)",
        "abuse::trickling_stalled_and_idle_connections_are_closed",
        "(asserted) each closed by the service within 8 s (the trickle and the stalled webhook body not before 1 s: by the timeouts); another address answered 200 after; a clean stop on SIGTERM",
    ),
];

#[test]
fn hostile_inputs_are_counted() {
    let root = support::repo().join("tests");
    for x in HOSTILE {
        let (file, func) = x.test.split_once("::").unwrap();
        let src = std::fs::read_to_string(root.join(format!("{file}.rs"))).unwrap();
        assert!(
            src.contains(&format!("fn {func}(")),
            "{}: the test {} does not exist",
            x.input,
            x.test
        );
        assert!(!x.expected.is_empty());
    }
    let files: std::collections::BTreeSet<_> =
        HOSTILE.iter().map(|x| x.test.split("::").next()).collect();
    // The table of RELIABILITY.md ("Hostile input"): `cargo test --test integration hostile:: -- --nocapture`.
    println!("| # | input | where tested | expected |\n|---|---|---|---|");
    for (i, x) in HOSTILE.iter().enumerate() {
        println!(
            "| {} | {} | `{}` | {} |",
            i + 1,
            x.input.replace('|', "\\|"),
            x.test,
            x.expected.replace('|', "\\|")
        );
    }
    println!(
        "{} hostile inputs tried, in {} test files",
        HOSTILE.len(),
        files.len()
    );
}

const SMS_SECRET: &str = "sms-s3cret";
const WA_SECRET: &str = "wa-app-s3cret";
const WA_PHONE_ID: &str = "106540352242922";
const TG_SECRET: &str = "tg-s3cret";

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(WA_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A runtime on memory at Monday morning, with the SMS and WhatsApp webhooks on its router
/// (nothing is delivered: the rows stay in the outbox, where the tests read them).
struct Hooks {
    rt: Arc<Runtime>,
    app: axum::Router,
}

fn hooks() -> Hooks {
    hooks_limited(0)
}

/// [`hooks`] with the flood limit at `per_minute` messages per sender.
fn hooks_limited(per_minute: u32) -> Hooks {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = support::config(dir.path());
    cfg.channels.set(SmsConfig {
        gateway_url: Some("http://127.0.0.1:9/".into()),
        api_key: Some(Secret("k".into())),
        sender: None,
        webhook_secret: Some(Secret(SMS_SECRET.into())),
    });
    cfg.channels.set(WhatsappConfig {
        phone_number_id: Some(WA_PHONE_ID.into()),
        access_token: Some(Secret("t".into())),
        app_secret: Some(Secret(WA_SECRET.into())),
        verify_token: Some(Secret("v".into())),
        ..WhatsappConfig::default()
    });
    let clock = Arc::new(FixedClock::new(support::monday_morning()));
    let bot = Arc::new(Bot::load(&cfg).unwrap());
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let mut parts = RuntimeParts::new(
        bot,
        store,
        clock,
        cfg.officers.clone(),
        pstbot::channels::officers(&cfg),
    );
    parts.settings.messages_per_minute = per_minute;
    let rt = Arc::new(Runtime::new(parts).unwrap());
    // Telegram in webhook mode: its Bot API is never reached by these tests (nothing valid is
    // posted to it), so an unused loopback port stands in.
    let tg = Arc::new(
        pstbot::channels::telegram::Telegram::new("123456:TEST", Some("http://127.0.0.1:9"), None)
            .unwrap(),
    );
    let telegram = pstbot::channels::telegram::webhook::TelegramWebhook {
        tg,
        rt: rt.clone(),
        secret: TG_SECRET.into(),
    };
    Hooks {
        app: pstbot::http::router(rt.clone(), &cfg)
            .unwrap()
            .merge(pstbot::channels::telegram::webhook::routes(telegram)),
        rt,
    }
}

impl Hooks {
    async fn post(&self, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> StatusCode {
        let mut req = Request::post(path);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        self.app
            .clone()
            .oneshot(req.body(Body::from(body)).unwrap())
            .await
            .unwrap()
            .status()
    }

    async fn sms(&self, body: Vec<u8>, form: bool) -> StatusCode {
        let ct = if form {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        self.post(
            "/webhook/sms",
            &[
                ("content-type", ct.into()),
                ("x-sms-secret", SMS_SECRET.into()),
            ],
            body,
        )
        .await
    }

    async fn telegram(&self, body: Vec<u8>, secret: &str) -> StatusCode {
        self.post(
            "/webhook/telegram",
            &[
                ("content-type", "application/json".into()),
                (
                    pstbot::channels::telegram::webhook::SECRET_HEADER,
                    secret.into(),
                ),
            ],
            body,
        )
        .await
    }

    async fn whatsapp(&self, body: Vec<u8>) -> StatusCode {
        let sig = sign(&body);
        self.post(
            "/webhook/whatsapp",
            &[
                ("content-type", "application/json".into()),
                ("x-hub-signature-256", sig),
            ],
            body,
        )
        .await
    }

    fn pending(&self) -> Vec<OutboundMessage> {
        self.rt
            .store
            .outbox_pending(None, 1000)
            .unwrap()
            .into_iter()
            .map(|r| r.msg)
            .collect()
    }
}

#[tokio::test]
async fn forged_and_replayed_sms_webhooks() {
    let hk = hooks();
    let body = br#"{"id":"gw-77","from":"0857-1234-5678","text":"halo"}"#.to_vec();
    let ani = Identity::new(ChannelKind::Sms, "+6285712345678");
    for headers in [
        vec![("content-type", "application/json".to_string())],
        vec![
            ("content-type", "application/json".to_string()),
            ("x-sms-secret", "guess".to_string()),
        ],
        vec![
            ("content-type", "application/json".to_string()),
            ("x-sms-secret", format!("{SMS_SECRET}x")),
        ],
    ] {
        assert_eq!(
            hk.post("/webhook/sms", &headers, body.clone()).await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert!(
        !hk.rt
            .store
            .is_handled(&DedupeKey::new(&ani, "gw-77"))
            .unwrap()
    );
    assert!(hk.pending().is_empty());
    // The genuine post, then the same post replayed twice: one greeting.
    for _ in 0..3 {
        assert_eq!(hk.sms(body.clone(), false).await, StatusCode::OK);
    }
    let greetings = hk
        .pending()
        .into_iter()
        .filter(|m| m.to == ani && m.text.contains("Selamat datang"))
        .count();
    assert_eq!(greetings, 1);
}

#[tokio::test]
async fn oversized_bodies_and_attachments() {
    let hk = hooks();
    let big = format!(
        r#"{{"id":"gw-1","from":"085712345678","text":"{}"}}"#,
        "a".repeat(300 * 1024)
    );
    assert_eq!(
        hk.sms(big.into_bytes(), false).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let long = format!(
        r#"{{"id":"gw-2","from":"085712345678","text":"{}"}}"#,
        "a".repeat(1601)
    );
    assert_eq!(
        hk.sms(long.into_bytes(), false).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert!(hk.pending().is_empty());

    // A file over `max_attachment_bytes` where the complaint asks for evidence.
    let mut t = Chat::memory();
    t.say("menu").await;
    t.say("3").await;
    t.fill_guest_book("Budi Santoso").await;
    t.expect("kirim", &["tentang apa"]).await;
    t.expect("2", &["Ceritakan"]).await;
    t.expect("Tabel tidak bisa diunduh.", &["Kapan"]).await;
    t.expect("20/11/2026", &["bukti"]).await;
    let out = t.file("bukti.pdf", vec![0u8; 21 * 1024 * 1024]).await;
    assert!(
        out.contains("terlalu besar") && out.contains("20 MB"),
        "{out}"
    );
    // Still at the evidence step: skipping goes on to confidentiality.
    t.expect("lewati", &["dirahasiakan"]).await;
}

#[tokio::test]
async fn deeply_nested_json_and_invalid_utf8_get_400() {
    let hk = hooks();
    let nested = vec![b'['; 100_000];
    assert_eq!(hk.whatsapp(nested.clone()).await, StatusCode::BAD_REQUEST);
    assert_eq!(hk.sms(nested.clone(), false).await, StatusCode::BAD_REQUEST);
    // Objects nested in the field the parser expects, too.
    let mut deep = br#"{"object":"whatsapp_business_account","entry":"#.to_vec();
    deep.extend(std::iter::repeat_n(b'[', 100_000));
    assert_eq!(hk.whatsapp(deep).await, StatusCode::BAD_REQUEST);
    assert_eq!(
        hk.telegram(nested.clone(), TG_SECRET).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        hk.telegram(nested.clone(), "wrong").await,
        StatusCode::UNAUTHORIZED
    );
    let mut tg = br#"{"update_id":1,"message":{"message_id":1,"date":1763888400,"chat":{"id":5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"B"},"text":""#.to_vec();
    tg.extend_from_slice(b"\xff\xfe");
    tg.extend_from_slice(br#""}}"#);
    assert_eq!(hk.telegram(tg, TG_SECRET).await, StatusCode::BAD_REQUEST);

    // Invalid UTF-8 inside a string.
    let mut wa = br#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[{"from":"6281234567890","id":"wamid.X1","type":"text","text":{"body":""#.to_vec();
    wa.extend_from_slice(b"\xff\xfe\xc3");
    wa.extend_from_slice(br#""}}]}}]}]}"#);
    assert_eq!(hk.whatsapp(wa).await, StatusCode::BAD_REQUEST);
    let mut sms = br#"{"id":"gw-9","from":"085712345678","text":""#.to_vec();
    sms.extend_from_slice(b"\xff\xfe");
    sms.extend_from_slice(br#""}"#);
    assert_eq!(hk.sms(sms, false).await, StatusCode::BAD_REQUEST);
    assert!(hk.pending().is_empty(), "nothing was answered");
    // A form with a percent-encoded invalid byte: taken, the byte shown as U+FFFD.
    let status = hk
        .sms(b"id=gw-10&from=085712345678&text=halo%FF".to_vec(), true)
        .await;
    let ani = Identity::new(ChannelKind::Sms, "+6285712345678");
    match status {
        StatusCode::OK => assert!(
            hk.rt
                .store
                .is_handled(&DedupeKey::new(&ani, "gw-10"))
                .unwrap()
        ),
        s => assert_eq!(s, StatusCode::BAD_REQUEST),
    }
}

#[test]
fn invalid_utf8_mail_is_read_lossily() {
    use pstbot::channels::email::auth::TokenKey;
    use pstbot::channels::email::parse::{MailCheck, MailKind, parse};
    let key = TokenKey::new([5; 32]);
    let check = MailCheck {
        own: "pst@bps.example",
        domain: "bps.example",
        key: &key,
        trusted_authserv_ids: &[],
    };
    let mut raw = b"From: budi@example.go.id\r\nTo: pst@bps.example\r\nSubject: Data \xff\xfe\r\nMessage-ID: <bad-1@example.go.id>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMohon data \xc3\x28 kemiskinan\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"../../etc/passwd\"\r\n\r\n%PDF-1.4\r\n--b--\r\n".to_vec();
    let p = parse(&raw, &check);
    let MailKind::Person(m) = p.kind else {
        panic!("{:?}", p.kind)
    };
    assert!(m.text.contains("kemiskinan"), "{:?}", m.text);
    assert_eq!(m.files.len(), 1);
    let kept = pstbot::runtime::sanitize_filename(&m.files[0].filename);
    assert_eq!(kept, "passwd");
    // Truncated in the middle of a header: an unreadable mail is never answered.
    raw.truncate(40);
    let _ = parse(&raw, &check);
}

/// What the officers' chat and the other channels get for a complaint whose name and text are
/// full of markup and direction overrides.
#[tokio::test]
async fn bidi_html_and_markdown_render_inertly_everywhere() {
    let name = "Budi \u{202E}Santoso\u{202C}";
    let story = "<script>alert(1)</script> & <a href=\"http://evil.example\">klik</a> \u{2066}x\u{2069} _miring_";
    let mut t = Chat::memory();
    t.say("menu").await;
    t.say("3").await;
    t.expect("ya", &["nama lengkap"]).await;
    // Markup in a name is refused at the door with a clear re-prompt.
    t.expect(
        "Budi <b>Admin</b> *tebal* [x](http://evil.example)",
        &["Nama hanya boleh berisi huruf"],
    )
    .await;
    t.expect(name, &["e-mail"]).await;
    t.expect("budi@example.go.id", &["Nomor HP"]).await;
    for a in ["0812-3456-7890", "1", "3", "4", "3", "Dinas <i>Kominfo</i>"] {
        t.say(a).await;
    }
    t.say("pemerintah daerah").await;
    t.say("2").await;
    t.expect("kirim", &["tentang apa"]).await;
    t.expect("2", &["Ceritakan"]).await;
    t.expect(story, &["Kapan"]).await;
    t.expect("20/11/2026", &["bukti"]).await;
    t.expect("lewati", &["dirahasiakan"]).await;
    t.expect("tidak", &["LAPOR"]).await;
    t.expect("-", &["Mohon periksa"]).await;
    let out = t.expect("kirim", &["ADU-2026-"]).await;
    let n = support::case_number(&out).unwrap();

    // At the door: direction overrides and isolates are gone from what is stored.
    let guest = t.rt.store.guest_of(&t.who).unwrap().unwrap();
    let stored_name = guest.name().unwrap_or_default().to_string();
    assert!(!stored_name.contains('\u{202E}') && !stored_name.contains('\u{202C}'));
    assert_eq!(stored_name, "Budi Santoso");
    let case =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    let all_form = format!("{:?}", case.form);
    assert!(!all_form.contains('\u{2066}') && !all_form.contains('\u{2069}'));

    // A message on the open case goes to the officers' chat as typed.
    t.say(story).await;
    // The officers' post, and every message of this conversation, in each channel's own
    // rendering.
    let msgs: Vec<OutboundMessage> =
        t.rt.store
            .outbox_pending(None, 1000)
            .unwrap()
            .into_iter()
            .map(|r| r.msg)
            .collect();
    let post = msgs
        .iter()
        .find(|m| m.to.channel == ChannelKind::Officers && m.text.contains("<script>"))
        .expect("the officers' post");
    assert!(
        !post.text.contains('\u{2066}') && !post.text.contains('\u{2069}'),
        "no bidi isolates reach the officers: {:?}",
        post.text
    );
    assert!(
        post.text.contains("<script>"),
        "the raw text carries the markup: {}",
        post.text
    );
    for m in msgs
        .iter()
        .filter(|m| m.text.contains("<script>") || m.text.contains("<i>"))
    {
        // Telegram (HTML parse mode): escaped, so shown as typed.
        let tg = pstbot::channels::telegram::render::html(&m.text);
        assert!(
            !tg.contains("<script>") && !tg.contains("<i>Kominfo") && !tg.contains("<a href"),
            "{tg}"
        );
        assert!(
            tg.contains("&lt;script&gt;") || tg.contains("&lt;i&gt;Kominfo"),
            "{tg}"
        );
        // E-mail HTML part: escaped.
        let me = pstbot::channels::email::MailIdentity {
            from_address: "pst@bps.example".into(),
            from_name: "PST".into(),
            reply_to: None,
            signature: "PST".into(),
            office: "BPS".into(),
            tz: chrono_tz::Asia::Jakarta,
        };
        let html = pstbot::channels::email::render::html(m, None, &me);
        assert!(
            !html.contains("<script>") && !html.contains("<a href=\"http://evil"),
            "{html}"
        );
        // WhatsApp: a plain text body, without link previews.
        for v in pstbot::channels::whatsapp::render::messages(
            "6281234567890",
            m,
            &pstbot::channels::whatsapp::render::ListWords::default(),
        ) {
            let s = v.to_string();
            assert!(!s.contains("\"preview_url\":true"), "{s}");
        }
        // SMS: plain text as typed.
        let sms = pstbot::channels::sms::render(m);
        assert!(!sms.contains('\u{202E}'));
    }
    // Reports and exports: the guest book register as CSV, plain cells, no direction overrides.
    let cal = &t.rt.bot.calendar;
    let nov = pstbot::reports::Period::days(
        cal,
        chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
    )
    .unwrap();
    let table =
        pstbot::reports::export::guestbook(t.rt.store.as_ref(), &t.rt.bot, nov, true).unwrap();
    let csv = String::from_utf8(pstbot::reports::table::to_csv(&table).unwrap()).unwrap();
    assert!(
        csv.contains("Dinas <i>Kominfo</i>"),
        "kept as typed, as text: {csv}"
    );
    assert!(
        !csv.contains('\u{202E}') && !csv.contains('\u{2066}'),
        "{csv}"
    );
    // The web chat shows texts with textContent, never as HTML.
    let js = std::fs::read_to_string(support::repo().join("web/chat.js")).unwrap();
    assert!(!js.contains("innerHTML"), "web chat must not render HTML");
}

#[test]
fn no_header_injection_through_an_e_mail_subject() {
    use pstbot::channels::email::{MailIdentity, render};
    let me = MailIdentity {
        from_address: "pst@bps.example".into(),
        from_name: "PST BPS".into(),
        reply_to: None,
        signature: "PST".into(),
        office: "BPS Provinsi".into(),
        tz: chrono_tz::Asia::Jakarta,
    };
    for text in [
        "Kasus\rBcc: evil@attacker.example\nlanjutan",
        "Kasus\r\nBcc: evil@attacker.example",
        "\u{0085}Bcc: evil@attacker.example",
        "Halo\u{2028}Bcc: evil@attacker.example",
    ] {
        for topic in [
            Some(Topic::case("case_update", "ADU-2026-000007", &[])),
            None,
        ] {
            let mut m = OutboundMessage::text(
                Identity::new(ChannelKind::Email, "budi@example.go.id"),
                text,
            );
            if let Some(t) = topic.clone() {
                m = m.about(t);
            }
            let row = OutboxRow::new(1, "k#0".into(), chrono::Utc::now(), m);
            let mail = render::build(
                &row,
                "budi@example.go.id",
                &me,
                &pstbot::channels::email::auth::TokenKey::new([5; 32]),
                None,
                Vec::new(),
                // The same text as the subject they wrote, answered `Re: …`.
                render::Threading {
                    subject: pstbot::channels::email::thread::reply_subject(text),
                    references: Vec::new(),
                },
            )
            .unwrap();
            let raw = String::from_utf8_lossy(&mail.formatted()).into_owned();
            let head = raw.split("\r\n\r\n").next().unwrap();
            assert!(
                !head
                    .split("\r\n")
                    .any(|l| l.to_ascii_lowercase().starts_with("bcc:")),
                "{text:?} made a header:\n{head}"
            );
            assert_eq!(
                head.matches("\nSubject:").count() + usize::from(head.starts_with("Subject:")),
                1
            );
            assert!(
                !head.contains('\r') || !head.replace("\r\n", "").contains('\r'),
                "{head}"
            );
        }
    }
}

#[tokio::test]
async fn attachment_names_cannot_traverse_paths() {
    let mut t = Chat::memory();
    let n = support::submit_complaint(&mut t, false).await;
    let names = [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\boot.pdf", "boot.pdf"),
        ("/etc/shadow.pdf", "shadow.pdf"),
        ("bukti\0.pdf", "bukti.pdf"),
    ];
    // Without an accepted extension a file is refused whatever its path.
    let out = t
        .send(InboundBody::Attachment(Attachment {
            filename: "../../etc/passwd".into(),
            mime: "application/octet-stream".into(),
            bytes: b"root:x:0:0".to_vec(),
        }))
        .await;
    assert!(
        out.contains("tidak diterima") && !out.contains("passwd"),
        "{out}"
    );
    // Files sent on the open case are added to it (and forwarded to the officers).
    for (name, _) in names {
        let out = t
            .send(InboundBody::Attachment(Attachment {
                filename: name.into(),
                mime: "application/pdf".into(),
                bytes: format!("%PDF-1.4 {name}").into_bytes(),
            }))
            .await;
        assert!(!out.contains(name), "{out}");
    }
    let case =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap();
    let kept: Vec<String> = case
        .attachments
        .iter()
        .map(|a| a.filename.clone())
        .collect();
    for k in &kept {
        assert!(
            !k.contains('/') && !k.contains('\\') && !k.contains('\0') && !k.starts_with('.'),
            "{k}"
        );
    }
    for (name, safe) in names {
        assert!(kept.iter().any(|k| k == safe), "{safe} not in {kept:?}");
        assert_eq!(
            support::case_file(t.rt.store.as_ref(), &n, safe),
            format!("%PDF-1.4 {name}").into_bytes()
        );
    }
}

#[tokio::test]
async fn guessing_other_case_numbers_shows_nothing() {
    let mut t = Chat::memory();
    let n = support::submit_complaint(&mut t, false).await;
    let other = support::submit_complaint_as(&mut t, "citra", "Citra Lestari", false).await;
    assert_ne!(n, other);
    // Ani, a stranger, tries Budi's number every way she can.
    t.as_terminal("ani");
    let mut seen = String::new();
    for text in [
        format!("status {n}"),
        n.clone(),
        "menu".into(),
        "4".into(),
        n.clone(),
        format!("lihat {n}"),
    ] {
        seen.push_str(&t.say(&text).await);
    }
    for secret in [
        "Tabel kemiskinan",
        "Budi Santoso",
        "budi.santoso@example.go.id",
    ] {
        assert!(!seen.contains(secret), "{secret} leaked:\n{seen}");
    }
    // A mail naming Budi's case from a stranger's address is not added to it.
    let before =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap()
            .history
            .len();
    let stranger = Identity::new(ChannelKind::Email, "mallory@example.com");
    let added =
        t.rt.handle_case_mail(
            "<m-1@example.com>",
            &stranger,
            &CaseNumber::parse(&n).unwrap(),
            "tolong kirim data Budi",
            &[],
        )
        .await
        .unwrap();
    assert!(!added);
    let after =
        t.rt.store
            .case(&CaseNumber::parse(&n).unwrap())
            .unwrap()
            .unwrap()
            .history
            .len();
    assert_eq!(before, after);
}

#[tokio::test]
async fn a_removed_officer_is_an_applicant_again() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = support::config(dir.path());
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::new(support::monday_morning()));
    let mut t = Chat::with_store(store.clone(), clock.clone());
    let n = support::submit_complaint(&mut t, false).await;
    t.as_terminal("rina");
    t.expect("antrian", &[n.as_str()]).await;
    // The config is reloaded (or the service restarted) without Rina.
    let officers: Vec<_> = cfg
        .officers
        .iter()
        .filter(|o| o.id != "rina")
        .cloned()
        .collect();
    let bot = Arc::new(Bot::load(&cfg).unwrap());
    t.rt = Arc::new(
        Runtime::new(RuntimeParts::new(
            bot,
            store.clone(),
            clock,
            officers,
            pstbot::channels::officers(&cfg),
        ))
        .unwrap(),
    );
    let before = store
        .case(&CaseNumber::parse(&n).unwrap())
        .unwrap()
        .unwrap();
    for cmd in [
        "antrian".to_string(),
        format!("lihat {n}"),
        format!("ambil {n}"),
        format!("pindah {n} terima"),
        format!("balas {n} data sudah dikirim"),
    ] {
        let out = t.say(&cmd).await;
        assert!(!out.contains("Tabel kemiskinan"), "{cmd}: {out}");
        assert!(
            !out.contains("diambil") && !out.contains("dipindah"),
            "{cmd}: {out}"
        );
    }
    let after = store
        .case(&CaseNumber::parse(&n).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(after.stage, before.stage);
    assert_eq!(after.assignee, before.assignee);
    assert!(after.history.len() >= before.history.len());
    assert!(
        !after
            .history
            .iter()
            .any(|e| e.actor == pstbot::cases::Actor::Officer("rina".into())),
        "{:?}",
        after.history
    );
}

#[tokio::test]
async fn a_flood_from_one_sender_is_limited_without_hurting_others() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = support::config(dir.path());
    assert_eq!(cfg.conversation.messages_per_minute, 30, "the default");
    // Rina, an officer, also works from WhatsApp.
    let rina_wa = "+6281300000001";
    cfg.officers
        .iter_mut()
        .find(|o| o.id == "rina")
        .unwrap()
        .whatsapp = Some(rina_wa.into());
    let clock = Arc::new(FixedClock::new(support::monday_morning()));
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    // Built as `serve` builds it, from the config.
    let rt = Arc::new(pstbot::app::build_on(&cfg, clock.clone(), store.clone()).unwrap());
    let flooder = Identity::new(ChannelKind::Whatsapp, "+6281111111111");
    let msg = |who: &Identity, id: String, text: &str| InboundMessage {
        id,
        from: who.clone(),
        body: InboundBody::Text(text.into()),
        reply_to: None,
        trust: pstbot::message::Trust::Proven,
    };
    let mut answered = 0;
    let mut notices = Vec::new();
    for i in 0..40 {
        let out = rt
            .handle(msg(&flooder, format!("f-{i}"), "halo"))
            .await
            .unwrap();
        if i < 30 {
            assert!(!out.is_empty(), "message {i} is answered");
            answered += 1;
        } else {
            notices.extend(out);
        }
        // Every message is acknowledged and recorded: a re-delivery is a duplicate.
        assert!(
            store
                .is_handled(&DedupeKey::new(&flooder, &format!("f-{i}")))
                .unwrap()
        );
    }
    assert_eq!(answered, 30);
    assert_eq!(notices.len(), 1, "one notice per window: {notices:?}");
    assert_eq!(notices[0].to, flooder);
    assert!(notices[0].text.contains("terlalu banyak pesan"));
    assert!(
        !notices
            .iter()
            .any(|m| m.to.channel == ChannelKind::Officers),
        "officers are not told"
    );
    // A re-delivered throttled message is still a duplicate.
    assert!(
        rt.handle(msg(&flooder, "f-35".into(), "halo"))
            .await
            .unwrap()
            .is_empty()
    );
    // Meanwhile another sender is served normally.
    let ani = Identity::new(ChannelKind::Whatsapp, "+6282222222222");
    let out = rt.handle(msg(&ani, "a-1".into(), "halo")).await.unwrap();
    assert!(
        out.iter()
            .any(|m| m.to == ani && m.text.contains("Selamat datang"))
    );
    // An officer is never limited.
    let rina = Identity::new(ChannelKind::Whatsapp, rina_wa);
    for i in 0..40 {
        let out = rt
            .handle(msg(&rina, format!("r-{i}"), "antrian"))
            .await
            .unwrap();
        assert!(!out.is_empty(), "officer command {i} answered");
        assert!(!out.iter().any(|m| m.text.contains("terlalu banyak pesan")));
    }
    // Nor is the local terminal (`pstbot chat`, used for scripting).
    let term = Identity::new(ChannelKind::Terminal, "script");
    for i in 0..40 {
        let out = rt
            .handle(msg(&term, format!("t-{i}"), "menu"))
            .await
            .unwrap();
        assert!(!out.iter().any(|m| m.text.contains("terlalu banyak pesan")));
    }
    // A minute later the flooder is served again.
    clock.advance(chrono::Duration::seconds(61));
    let out = rt
        .handle(msg(&flooder, "f-later".into(), "menu"))
        .await
        .unwrap();
    assert!(!out.is_empty() && !out.iter().any(|m| m.text.contains("terlalu banyak")));
}

/// The same flood through the SMS webhook: every post is acknowledged (200, so the gateway does
/// not retry), the sender gets one notice, and another phone is answered meanwhile.
#[tokio::test]
async fn a_flood_over_the_sms_webhook_is_acknowledged_and_noticed_once() {
    let hk = hooks_limited(30);
    let flooder = Identity::new(ChannelKind::Sms, "+6285712345678");
    for i in 0..45 {
        let body = format!(r#"{{"id":"fl-{i}","from":"085712345678","text":"halo {i}"}}"#);
        assert_eq!(
            hk.sms(body.into_bytes(), false).await,
            StatusCode::OK,
            "post {i}"
        );
    }
    let other = br#"{"id":"ot-1","from":"081298765432","text":"halo"}"#.to_vec();
    assert_eq!(hk.sms(other, false).await, StatusCode::OK);
    let to_flooder: Vec<_> = hk
        .pending()
        .into_iter()
        .filter(|m| m.to == flooder)
        .collect();
    let notices = to_flooder
        .iter()
        .filter(|m| m.text.contains("terlalu banyak pesan"))
        .count();
    assert_eq!(notices, 1);
    for i in 0..45 {
        assert!(
            hk.rt
                .store
                .is_handled(&DedupeKey::new(&flooder, &format!("fl-{i}")))
                .unwrap()
        );
    }
    let ani = Identity::new(ChannelKind::Sms, "+6281298765432");
    assert!(
        hk.pending()
            .iter()
            .any(|m| m.to == ani && m.text.contains("Selamat datang"))
    );
    assert!(
        !hk.pending()
            .iter()
            .any(|m| m.to.channel == ChannelKind::Officers && m.text.contains("halo 4")),
        "officers are not spammed"
    );
}
