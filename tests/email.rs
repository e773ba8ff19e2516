//! The e-mail channel against real mail servers on 127.0.0.1: Dovecot (IMAP) and an aiosmtpd
//! SMTP server, both started by the test (see `support/mail.rs`).

use crate::support;

use pstbot::cases::CaseNumber;
use pstbot::config::Config;
use pstbot::message::{ChannelKind, Identity, OutboundMessage, Topic};
use pstbot::outbox::{Outbox, SendError, Sender};
use pstbot::store::OutboxRow;
use pstbot::store::prelude::*;
use pstbot::store::sled::SledStore;
use std::sync::Arc;
use support::mail::{DOMAIN, MailServers, USER};
use tokio_util::sync::CancellationToken;

const BUDI_MAIL: &str = "budi.santoso@example.go.id";

fn mail_config(dir: &std::path::Path, servers: &MailServers) -> Config {
    let path = support::config_file(dir, "127.0.0.1:0");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&servers.email_section());
    std::fs::write(&path, text).unwrap();
    Config::load(&path).unwrap()
}

/// A case's notifications reach an applicant who chatted on another channel by e-mail too:
/// the case number in the subject, text and HTML parts, the office signature, the officer's
/// file attached, ids that thread the case's mails together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_notifications_also_arrive_by_mail_with_thread_headers_parts_and_file() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = mail_config(dir.path(), &servers);
    let mut t = support::Chat::memory();
    let n = support::submit_complaint(&mut t, false).await;
    t.as_terminal("rina");
    t.say(&format!("kirim {n}")).await;
    let letter = b"%PDF-1.4 surat jawaban pengaduan".to_vec();
    t.file("surat-jawaban.pdf", letter.clone()).await;

    let chans = pstbot::app::channels(&cfg, &t.rt, CancellationToken::new())
        .unwrap()
        .senders;
    let stop = CancellationToken::new();
    let worker = tokio::spawn(
        Arc::new(Outbox::new(t.rt.outbox_feed(), chans, cfg.delivery.clone())).run(stop.clone()),
    );
    servers
        .wait_for("two mails to Budi", async |s| {
            s.sent_to(BUDI_MAIL).len() >= 2
        })
        .await;
    stop.cancel();
    worker.await.unwrap();

    let mails = servers.sent_to(BUDI_MAIL);
    assert_eq!(mails.len(), 2, "the receipt and the file, nothing else");
    let root = format!("<pstbot.{n}@{DOMAIN}>");
    let receipt = &mails[0];
    assert!(receipt.header("Subject").starts_with(&format!("[{n}] ")));
    assert!(receipt.text().contains(&n), "{}", receipt.text());
    assert!(receipt.text().contains("Pelayanan Statistik Terpadu"));
    let file_mail = &mails[1];
    let p = file_mail.parsed();
    assert_eq!(p.from().unwrap().first().unwrap().address(), Some(USER));
    assert!(p.subject().unwrap().starts_with(&format!("[{n}] ")));
    let id = p.message_id().unwrap().to_string();
    assert!(id.starts_with(&format!("pstbot.{n}.")), "{id}");
    assert!(id.ends_with(&format!("@{DOMAIN}")), "{id}");
    assert_ne!(Some(id.as_str()), receipt.parsed().message_id());
    // Issue 20, item 10: one subject for every mail of the case (one conversation in Gmail).
    let one_subject = format!("[{n}] Pengaduan — PST BPS Provinsi Bengkulu");
    assert_eq!(receipt.parsed().subject(), Some(one_subject.as_str()));
    assert_eq!(p.subject(), Some(one_subject.as_str()));
    // The thread's chain (RFC 5322 §3.6.4): the receipt under the case's root, the next mail
    // under the receipt.
    let receipt_id = format!("<{}>", receipt.parsed().message_id().unwrap());
    assert_eq!(
        thread_ids(receipt, "References"),
        std::slice::from_ref(&root)
    );
    assert_eq!(
        thread_ids(receipt, "In-Reply-To"),
        std::slice::from_ref(&root)
    );
    assert_eq!(
        thread_ids(file_mail, "References"),
        [root.clone(), receipt_id.clone()]
    );
    assert_eq!(thread_ids(file_mail, "In-Reply-To"), [receipt_id]);
    for m in [receipt, file_mail] {
        assert_eq!(m.header("Auto-Submitted"), "auto-generated");
        // `Date:` in the office's time zone (WIB), as the mail program shows it.
        assert!(m.header("Date").ends_with("+0700"), "{}", m.header("Date"));
    }
    assert_eq!(p.text_body_count(), 1);
    assert_eq!(p.html_body_count(), 1);
    let html = p.body_html(0).unwrap();
    assert!(
        html.contains("surat-jawaban.pdf") && html.contains("<br>"),
        "{html}"
    );
    let att: Vec<_> = p.attachments().collect();
    assert_eq!(att.len(), 1);
    use mail_parser::MimeHeaders;
    assert_eq!(att[0].attachment_name(), Some("surat-jawaban.pdf"));
    assert_eq!(att[0].contents(), letter.as_slice());
    // Conversation replies on the terminal were not copied; the officers' posts neither.
    assert_eq!(servers.sent().len(), 2);
}

fn row(to: &str, key: &str) -> OutboxRow {
    OutboxRow::new(
        1,
        key.into(),
        chrono::Utc::now(),
        OutboundMessage::text(
            Identity::new(ChannelKind::Email, to),
            "Permohonan Anda diproses.",
        )
        .about(Topic::case("case_update", "ADU-2026-000007", &[])),
    )
}

/// SMTP 4xx is worth retrying, 5xx is not; a resent row is the same mail (same Message-ID).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_4xx_is_transient_5xx_permanent_and_a_resend_is_the_same_mail() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = mail_config(dir.path(), &servers);
    let store = pstbot::store::memory::MemoryStore::new();
    let ch = pstbot::channels::email::send::EmailChannel::new(
        pstbot::channels::email::EmailSettings::of(&cfg)
            .unwrap()
            .unwrap(),
        pstbot::dialogs::Bot::load(&cfg).unwrap().texts,
    )
    .unwrap();
    match ch.send(&row("tempfail@example.org", "k#0"), &store).await {
        Err(SendError::Transient { reason, .. }) => assert!(reason.contains("451"), "{reason}"),
        other => panic!("451 is transient, got {other:?}"),
    }
    match ch.send(&row("reject@example.org", "k#0"), &store).await {
        Err(SendError::Permanent { reason }) => assert!(reason.contains("550"), "{reason}"),
        other => panic!("550 is permanent, got {other:?}"),
    }
    let first = ch
        .send(&row("siti@example.org", "k#3"), &store)
        .await
        .unwrap();
    let again = ch
        .send(&row("siti@example.org", "k#3"), &store)
        .await
        .unwrap();
    assert_eq!(first, again);
    let mails = servers.sent_to("siti@example.org");
    assert_eq!(mails.len(), 2);
    assert_eq!(
        mails[0].parsed().message_id(),
        mails[1].parsed().message_id()
    );
}

/// A complaint by mail, in one message, one answer per line (in windows-1252, quoted-printable).
fn complaint_mail(id: &str) -> String {
    format!(
        "From: Siti Aminah <Siti@Example.org>\n\
To: {USER}\n\
Subject: Pengaduan data\n\
Message-ID: <{id}@example.org>\n\
MIME-Version: 1.0\n\
Content-Type: text/plain; charset=windows-1252\n\
Content-Transfer-Encoding: quoted-printable\n\
\n\
Pengaduan\n\
ya\n\
Siti Aminah\n\
siti@example.org\n\
0812-3456-7890\n\
2\n\
3\n\
4\n\
3\n\
Dinas Komunikasi dan Informatika Provinsi Bengkulu\n\
pemerintah daerah\n\
2\n\
kirim\n\
2\n\
Tabel kemiskinan di situs tidak bisa diunduh sejak pekan lalu; kata petugas caf=E9 =\n\
tutup =96 mohon dibantu.\n\
\n\
20/11/2026\n\
lewati\n\
tidak\n\
-\n\
kirim\n\
\n\
--=20\n\
Siti\n"
    )
}

fn case_of(store: &dyn Store, n: &str) -> pstbot::cases::Case {
    store.case(&CaseNumber::parse(n).unwrap()).unwrap().unwrap()
}

/// The whole mailbox story on `pstbot serve`: a complaint filed in one mail; a reply in the
/// case's thread lands on the case with its file; an incomplete mail gets asked for what is
/// missing; auto-replies and bounces are not answered and a bounce marks the address failing;
/// after a crash between handling and marking, a restart handles nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_conversations_complaints_replies_bounces_and_restarts() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = mail_config(dir.path(), &servers);
    let serve = |cfg: Config| {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(pstbot::app::serve(cfg, async {
            let _ = rx.await;
        }));
        (tx, task)
    };
    let (stop, served) = serve(cfg.clone());

    // 1. A complaint in one mail.
    servers.deliver(&complaint_mail("siti-1")).await;
    servers
        .wait_for("the receipt to Siti", async |s| {
            !s.sent_to("siti@example.org").is_empty()
        })
        .await;
    let all = servers.sent_to("siti@example.org");
    assert_eq!(
        all.len(),
        1,
        "one mail in, one mail out: {:?}",
        all.iter().map(|m| m.text()).collect::<Vec<_>>()
    );
    let receipt = all[0].clone();
    let text = receipt.text();
    assert!(text.contains("ADU-2026-000001"), "{text}");
    assert!(text.contains("Terima kasih, Siti Aminah"), "{text}");
    assert_eq!(receipt.header("In-Reply-To"), "<siti-1@example.org>");
    assert!(receipt.header("Subject").starts_with("[ADU-2026-000001]"));
    let receipt_id = format!("<{}>", receipt.parsed().message_id().unwrap());

    // 2. Her reply in the thread, with a file and the quoted history, lands on the case.
    servers
        .deliver(&format!(
            "From: siti@example.org\n\
To: {USER}\n\
Subject: Re: [ADU-2026-000001] Terima kasih\n\
Message-ID: <siti-2@example.org>\n\
In-Reply-To: {receipt_id}\n\
References: {receipt_id}\n\
MIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"b1\"\n\
\n\
--b1\n\
Content-Type: text/plain; charset=utf-8\n\
\n\
Berikut tangkapan layarnya.\n\
\n\
Pada Sen, 23 Nov 2026, PST menulis:\n\
> Terima kasih, Siti Aminah.\n\
--b1\n\
Content-Type: image/png\n\
Content-Disposition: attachment; filename=\"layar.png\"\n\
Content-Transfer-Encoding: base64\n\
\n\
iVBORw0KGgpsYXlhcg==\n\
--b1--\n"
        ))
        .await;
    servers
        .wait_for("the confirmation to Siti", async |s| {
            s.sent_to("siti@example.org").len() >= 2
        })
        .await;
    let confirm = servers.sent_to("siti@example.org").remove(1);
    assert!(
        confirm.text().contains("kami tambahkan ke ADU-2026-000001"),
        "{}",
        confirm.text()
    );
    assert!(confirm.text().contains("layar.png"));
    // Issue 20, item 10: the confirmation is in the case's thread: its subject, its root, and
    // an answer to her mail.
    assert_eq!(
        confirm.parsed().subject(),
        Some("[ADU-2026-000001] Pengaduan — PST BPS Provinsi Bengkulu")
    );
    assert_eq!(confirm.header("In-Reply-To"), "<siti-2@example.org>");
    let refs = confirm.header("References");
    assert!(
        refs.contains(&format!("<pstbot.ADU-2026-000001@{DOMAIN}>")),
        "{refs}"
    );
    assert!(
        receipt.header("Date").ends_with("+0700"),
        "{}",
        receipt.header("Date")
    );

    // 3. An incomplete mail from a new person: the bot asks, by mail, for what is missing.
    servers
        .deliver(&format!(
            "From: Andi <andi@example.org>\nTo: {USER}\nSubject: Tanya\nMessage-ID: <andi-1@example.org>\n\nPengaduan\nya\nAndi Wijaya\n"
        ))
        .await;
    servers
        .wait_for("the question to Andi", async |s| {
            !s.sent_to("andi@example.org").is_empty()
        })
        .await;
    let ask_mail = servers.sent_to("andi@example.org").remove(0);
    let asked_id = format!("<{}>", ask_mail.parsed().message_id().unwrap());
    let ask = ask_mail.text();
    assert!(ask.contains("e-mail"), "asks for the next answer: {ask}");
    assert!(ask.contains("satu jawaban per baris"), "{ask}");

    // 4. An out-of-office answer and a bounce (returning the headers of our mail to Andi):
    //    never answered.
    servers
        .deliver(&format!(
            "From: budi@example.org\nTo: {USER}\nSubject: Cuti\nAuto-Submitted: auto-replied\nMessage-ID: <ooo-1@example.org>\n\nSaya sedang cuti.\n"
        ))
        .await;
    servers
        .deliver(&format!(
            "From: MAILER-DAEMON@mx.example.org\nTo: {USER}\nSubject: Undelivered Mail Returned to Sender\nMessage-ID: <dsn-1@mx.example.org>\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\n\n--r\nContent-Type: text/plain\n\nYour message could not be delivered.\n--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; andi@example.org\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 <Andi@example.org>: mailbox unavailable\n--r\nContent-Type: text/rfc822-headers\n\nFrom: {USER}\nTo: andi@example.org\nMessage-ID: {asked_id}\n--r--\n"
        ))
        .await;
    servers
        .wait_for("every mail marked handled", async |s| {
            let f = s.flags().await;
            f.len() == 5
                && f.iter()
                    .all(|(_, fl)| fl.iter().any(|x| x.contains("PstbotHandled")))
        })
        .await;
    let sent_before = servers.sent().len();
    assert_eq!(
        sent_before, 3,
        "Siti twice, Andi once; nothing to the robots"
    );
    assert!(servers.sent_to("budi@example.org").is_empty());
    assert!(servers.sent_to("MAILER-DAEMON@mx.example.org").is_empty());

    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
    {
        let store = SledStore::open(&cfg.store.path, 16).unwrap();
        let case = case_of(&store, "ADU-2026-000001");
        let described = case
            .form
            .iter()
            .find(|f| f.field == "description")
            .and_then(|f| f.value.as_text().map(str::to_string))
            .unwrap();
        assert!(
            described.contains("caf\u{e9} tutup \u{2013} mohon"),
            "{described}"
        );
        let note = case
            .history
            .iter()
            .find(|e| e.kind == "applicant_message")
            .and_then(|e| e.note.clone())
            .unwrap();
        assert_eq!(note, "Berikut tangkapan layarnya.");
        assert!(case.attachments.iter().any(|a| a.filename == "layar.png"));
        assert!(
            store
                .address_failing(&Identity::new(ChannelKind::Email, "andi@example.org"))
                .unwrap()
        );
        let officers: Vec<String> = store
            .outbox_pending(None, 1000)
            .unwrap()
            .into_iter()
            .filter(|r| r.msg.to == Identity::officers())
            .map(|r| r.msg.text)
            .collect();
        assert!(
            officers
                .iter()
                .any(|t| t.contains("Berikut tangkapan layarnya."))
        );
        assert!(
            officers
                .iter()
                .any(|t| t.contains("bounced") && t.contains("a•••@example.org"))
        );
        assert!(
            !officers
                .iter()
                .any(|t| t.to_lowercase().contains("andi@example.org")),
            "masked, also in the diagnostic: {officers:?}"
        );
    }

    // 5. A crash after handling and before marking: the marks are gone, the mails come again.
    servers.unmark_all().await;
    let (stop, served) = serve(cfg.clone());
    servers
        .wait_for("every mail marked again", async |s| {
            s.flags()
                .await
                .iter()
                .all(|(_, fl)| fl.iter().any(|x| x.contains("PstbotHandled")))
        })
        .await;
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
    assert_eq!(servers.sent().len(), sent_before, "nothing answered twice");
    let store = SledStore::open(&cfg.store.path, 16).unwrap();
    let case = case_of(&store, "ADU-2026-000001");
    assert_eq!(
        case.history
            .iter()
            .filter(|e| e.kind == "applicant_message")
            .count(),
        1
    );
    assert!(
        store
            .case(&CaseNumber::parse("ADU-2026-000002").unwrap())
            .unwrap()
            .is_none()
    );
}

fn to_budi_by_mail(t: &support::Chat) -> Vec<OutboundMessage> {
    t.last
        .iter()
        .filter(|m| m.to == Identity::new(ChannelKind::Email, BUDI_MAIL))
        .cloned()
        .collect()
}

/// The runtime's side, without servers: notifications get an e-mail copy in the same commit,
/// conversation replies do not; a bounce stops the copies until mail comes from the address
/// again; outside a dialog a whole mail is one message for the open case.
#[tokio::test]
async fn copies_stop_after_a_bounce_and_a_mail_outside_a_dialog_goes_whole_to_the_case() {
    let mut t = support::Chat::memory();
    let n = support::submit_complaint(&mut t, false).await;
    let copies = to_budi_by_mail(&t);
    assert_eq!(copies.len(), 1, "the receipt, by e-mail too");
    assert!(copies[0].text.contains(&n));
    assert_eq!(copies[0].topic.as_ref().unwrap().kind, "case_received");
    t.say("status").await;
    assert!(
        to_budi_by_mail(&t).is_empty(),
        "conversation replies are not copied"
    );

    let daemon = Identity::new(ChannelKind::Email, "mailer-daemon");
    t.rt.handle_mail_bounce("<dsn-9@mx>", &daemon, Some(BUDI_MAIL), "550 5.1.1 unknown")
        .await
        .unwrap();
    let budi_mail = Identity::new(ChannelKind::Email, BUDI_MAIL);
    assert!(t.rt.store.address_failing(&budi_mail).unwrap());
    // Issue 20, item 7: the officers' post names the case and the masked address, and reads
    // whole in Telegram (a masked `***` no longer pairs with the bold markup).
    let bounced = support::officers_pending(t.rt.store.as_ref())
        .into_iter()
        .find(|p| p.contains("gagal terkirim"))
        .expect("the officers are told of the bounce");
    assert!(bounced.contains(&n), "names the case: {bounced}");
    let html = pstbot::channels::telegram::render::html(&bounced);
    assert!(
        html.starts_with("E-mail ke / to b•••@example.go.id gagal terkirim"),
        "{html}"
    );
    assert!(!html.contains("<b>"), "{html}");
    t.as_terminal("rina");
    t.say(&format!("ambil {n}")).await;
    t.say(&format!("balas {n} Tabelnya sudah kami perbaiki."))
        .await;
    assert!(
        t.sent_to(&support_budi())
            .contains("Tabelnya sudah kami perbaiki")
    );
    assert!(
        to_budi_by_mail(&t).is_empty(),
        "no mail to a bouncing address"
    );

    // Budi writes from that address: it works again.
    t.as_person(ChannelKind::Email, BUDI_MAIL);
    t.send(pstbot::message::InboundBody::Mail {
        text: "Halo".into(),
        files: Vec::new(),
        thread: Default::default(),
    })
    .await;
    assert!(!t.rt.store.address_failing(&budi_mail).unwrap());

    // Siti files by mail, then writes again outside any dialog: her whole mail goes to the
    // officers on her case, in one piece, and she gets one answer.
    t.as_person(ChannelKind::Email, "siti@example.org");
    let raw = complaint_mail("siti-r1");
    let body = raw.split_once("\n\n").unwrap().1.replace("=\n", "");
    let out = t
        .send(pstbot::message::InboundBody::Mail {
            text: body,
            files: Vec::new(),
            thread: Default::default(),
        })
        .await;
    let siti_case = support::case_number(&out).unwrap();
    let out = t
        .send(pstbot::message::InboundBody::Mail {
            text: "Terima kasih.\nSatu lagi: tabel tahun 2025 juga tidak bisa diunduh.".into(),
            files: Vec::new(),
            thread: Default::default(),
        })
        .await;
    let officers = t.sent_to(&Identity::officers());
    assert!(
        officers.contains(&format!("[{siti_case}]"))
            && officers.contains("Terima kasih.\nSatu lagi: tabel tahun 2025"),
        "{officers}"
    );
    let to_siti: Vec<_> = t
        .last
        .iter()
        .filter(|m| m.to.address == "siti@example.org")
        .collect();
    assert_eq!(to_siti.len(), 1, "{out}");
}

fn support_budi() -> Identity {
    Identity::new(ChannelKind::Terminal, "budi")
}

/// IMAP IDLE wakes the service for new mail (the poll interval is far longer than the test),
/// and `handled = "move"` moves handled mail out of the inbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_wakes_for_new_mail_and_handled_mail_is_moved() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let path = support::config_file(dir.path(), "127.0.0.1:0");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&servers.email_section().replace(
        "poll_seconds = 1",
        "poll_seconds = 600\nidle = true\nhandled = \"move\"\nhandled_folder = \"Diproses\"",
    ));
    std::fs::write(&path, text).unwrap();
    let cfg = Config::load(&path).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(pstbot::app::serve(cfg, async {
        let _ = rx.await;
    }));
    let hello = |id: &str| {
        format!(
            "From: rudi@example.org\nTo: {USER}\nSubject: Halo\nMessage-ID: <{id}@example.org>\n\nhalo\n"
        )
    };
    servers.deliver(&hello("rudi-1")).await;
    servers
        .wait_for("the first answer", async |s| {
            s.sent_to("rudi@example.org").len() == 1
        })
        .await;
    servers
        .wait_for("the first mail moved", async |s| {
            s.count("Diproses").await == 1
        })
        .await;
    // The service now waits in IDLE; only the server's notice can wake it in time.
    servers.deliver(&hello("rudi-2")).await;
    servers
        .wait_for("the second answer", async |s| {
            s.sent_to("rudi@example.org").len() == 2
        })
        .await;
    servers
        .wait_for("both mails moved", async |s| {
            s.count("Diproses").await == 2 && s.count("INBOX").await == 0
        })
        .await;
    tx.send(()).unwrap();
    served.await.unwrap().unwrap();
    let menu = servers.sent_to("rudi@example.org")[0].text();
    assert!(menu.contains("Pengaduan"), "the menu: {menu}");
}

/// Officers for the forged-sender test: Ratna proves herself through the receiving server's
/// verdict, Dodi (no server verdict for him in the test) through the secret in his subject.
const OFFICERS_BY_MAIL: &str = r#"
trusted_authserv_ids = ["mx.bps.example"]

[[officers]]
id = "ratna"
name = "Ratna"
roles = ["petugas"]
email = "ratna@bps.example"

[[officers]]
id = "dodi"
name = "Dodi"
roles = ["petugas"]
email = "dodi@bps.example"
email_secret = "kunci-dodi-0123456789"
"#;

fn officer_mail(n: u32, from: &str, headers: &str, subject: &str, body: &str) -> String {
    format!(
        "{headers}From: {from}\nTo: {USER}\nSubject: {subject}\nMessage-ID: <officer-{n}@bps.example>\n\n{body}\n"
    )
}

/// A `From:` header is only a claim (issue 17, items 1–3), on `pstbot serve` with real mail
/// servers: an officer's address without the receiving server's verdict or the officer's
/// secret runs no command (the officer is told instead); a reply naming a case counts only
/// with our reply token for its sender; an unproven mail from an applicant's address reaches
/// no case and erases nothing; a bounce counts only for a mail we sent to that address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_from_acts_as_nobody_officers_cases_erasure_and_bounces() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let path = support::config_file(dir.path(), "127.0.0.1:0");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&servers.email_section());
    text.push_str(OFFICERS_BY_MAIL);
    std::fs::write(&path, text).unwrap();
    let cfg = Config::load(&path).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(pstbot::app::serve(cfg.clone(), async {
        let _ = rx.await;
    }));
    let siti = "siti@example.org";
    servers.deliver(&complaint_mail("siti-1")).await;
    servers
        .wait_for("the receipt to Siti", async |s| !s.sent_to(siti).is_empty())
        .await;
    let receipt = servers.sent_to(siti).remove(0);
    let receipt_id = format!("<{}>", receipt.parsed().message_id().unwrap());
    assert!(receipt.text().contains("ADU-2026-000001"));

    // 1. Officers' commands in Ratna's name: forged (no verdict; a verdict of a server we do
    //    not trust; our server's verdict for another domain) run nothing.
    let ar_evil = "Authentication-Results: mx.evil.example; dkim=pass header.d=bps.example\n";
    let ar_other = "Authentication-Results: mx.bps.example; dkim=pass header.d=evil.example\n";
    // The sender's own forged verdict below the one our server added.
    let ar_below = "Authentication-Results: mx.bps.example; dkim=none\nReceived: from evil.example\nAuthentication-Results: mx.bps.example; dkim=pass header.d=bps.example\n";
    for (n, headers) in [(1, ""), (2, ar_evil), (3, ar_other), (7, ar_below)] {
        servers
            .deliver(&officer_mail(
                n,
                "Ratna <ratna@bps.example>",
                headers,
                "perintah",
                "balas ADU-2026-000001 Pengaduan Ibu kami tutup.",
            ))
            .await;
    }
    servers
        .wait_for("four notices to Ratna", async |s| {
            s.sent_to("ratna@bps.example").len() == 4
        })
        .await;
    for m in servers.sent_to("ratna@bps.example") {
        assert!(m.text().contains("tidak dijalankan"), "{}", m.text());
    }
    // 2. The same from Ratna with our server's verdict runs; so does Dodi's with his secret.
    let ar_ok =
        "Authentication-Results: mx.bps.example; dkim=pass header.d=bps.example header.s=s1\n";
    servers
        .deliver(&officer_mail(
            4,
            "ratna@bps.example",
            ar_ok,
            "perintah",
            "balas ADU-2026-000001 Tabelnya sedang kami periksa.",
        ))
        .await;
    servers
        .deliver(&officer_mail(
            5,
            "dodi@bps.example",
            "",
            "[kunci-dodi-0123456789] antrian",
            "antrian",
        ))
        .await;
    servers
        .deliver(&officer_mail(
            6,
            "dodi@bps.example",
            "",
            "[kunci-dodi-9999999999] antrian",
            "antrian",
        ))
        .await;
    servers
        .wait_for("the real reply to Siti and Dodi's two answers", async |s| {
            s.sent_to(siti).len() == 2 && s.sent_to("dodi@bps.example").len() == 2
        })
        .await;
    let to_siti = servers.sent_to(siti);
    assert!(to_siti[1].text().contains("Tabelnya sedang kami periksa."));
    assert!(
        !to_siti.iter().any(|m| m.text().contains("kami tutup")),
        "no forged reply reached Siti"
    );
    let dodi: Vec<String> = servers
        .sent_to("dodi@bps.example")
        .iter()
        .map(|m| m.text())
        .collect();
    assert!(
        dodi.iter().any(|t| t.contains("ADU-2026-000001")),
        "the queue: {dodi:?}"
    );
    assert!(
        dodi.iter().any(|t| t.contains("tidak dijalankan")),
        "a wrong secret is no secret: {dodi:?}"
    );

    // 3. A reply in Siti's case thread: forged by Eve with Siti's address and a made-up
    //    token, and by Eve from her own address quoting Siti's real mail. Neither lands on the
    //    case; Eve learns nothing about it.
    let fake_id = format!(
        "<pstbot.ADU-2026-000001.{}.{}@{DOMAIN}>",
        "a".repeat(24),
        "b".repeat(20)
    );
    let thread_reply = |n: u32, from: &str, id: &str| {
        format!(
            "From: {from}\nTo: {USER}\nSubject: Re: [ADU-2026-000001] Terima kasih\nMessage-ID: <forged-{n}@example.org>\nIn-Reply-To: {id}\nReferences: {id}\n\nSaya mencabut pengaduan ini.\n"
        )
    };
    servers.deliver(&thread_reply(1, siti, &fake_id)).await;
    servers
        .deliver(&thread_reply(2, "eve@example.org", &receipt_id))
        .await;
    // 4. An unproven mail from Siti's address asking to erase her data, and a forged bounce
    //    naming her address.
    servers
        .deliver(&format!(
            "From: {siti}\nTo: {USER}\nSubject: hapus\nMessage-ID: <forged-3@example.org>\n\nhapusdata\n"
        ))
        .await;
    servers
        .deliver(&format!(
            "From: {siti}\nTo: {USER}\nSubject: Re: hapus\nMessage-ID: <forged-4@example.org>\n\nya\n"
        ))
        .await;
    servers
        .deliver(&format!(
            "From: MAILER-DAEMON@mx.example.org\nTo: {USER}\nSubject: Undelivered\nMessage-ID: <forged-dsn@mx.example.org>\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\n\n--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; {siti}\nAction: failed\nStatus: 5.1.1\n--r--\n"
        ))
        .await;
    servers
        .wait_for("every mail handled", async |s| {
            let f = s.flags().await;
            f.len() == 13
                && f.iter()
                    .all(|(_, fl)| fl.iter().any(|x| x.contains("PstbotHandled")))
        })
        .await;
    servers
        .wait_for("Eve's answer", async |s| {
            !s.sent_to("eve@example.org").is_empty()
        })
        .await;
    let to_eve = servers.sent_to("eve@example.org").remove(0).text();
    assert!(
        !to_eve.contains("ADU-2026-000001") && !to_eve.contains("Siti"),
        "{to_eve}"
    );
    servers
        .wait_for("the answer to the unproven erasure", async |s| {
            s.sent_to(siti)
                .iter()
                .any(|m| m.text().contains("hapusdata") && m.text().contains("balas"))
        })
        .await;
    let erase_answer = servers
        .sent_to(siti)
        .iter()
        .map(|m| m.text())
        .find(|t| t.contains("hapusdata") && t.contains("balas"))
        .expect("Siti is told how to erase her data for real");
    assert!(erase_answer.contains("reply"), "{erase_answer}");
    tx.send(()).unwrap();
    served.await.unwrap().unwrap();

    let store = SledStore::open(&cfg.store.path, 16).unwrap();
    let case = case_of(&store, "ADU-2026-000001");
    let notes: Vec<String> = case.history.iter().filter_map(|e| e.note.clone()).collect();
    assert!(
        !notes
            .iter()
            .any(|n| n.contains("mencabut") || n.contains("kami tutup")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("Tabelnya sedang kami periksa."))
    );
    let officers: Vec<String> = store
        .outbox_pending(None, 1000)
        .unwrap()
        .into_iter()
        .filter(|r| r.msg.to == Identity::officers())
        .map(|r| r.msg.text)
        .collect();
    assert!(
        !officers.iter().any(|t| t.contains("mencabut")),
        "{officers:?}"
    );
    let siti_id = Identity::new(ChannelKind::Email, siti);
    assert!(store.guest_of(&siti_id).unwrap().is_some(), "not erased");
    assert!(!store.address_failing(&siti_id).unwrap(), "a forged bounce");
}

/// Issue 20, item 9: Budi's complaint is returned for more information; the notice reaches him
/// by e-mail too. He answers in that thread with the information and `selesai` on a line of
/// its own: the text lands on the case and the case goes back to review, as the same word
/// does in chat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selesai_in_a_reply_to_a_return_mail_moves_the_case_back() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = mail_config(dir.path(), &servers);
    let mut t = support::Chat::memory();
    let n = support::submit_complaint(&mut t, false).await;
    t.as_terminal("rina");
    t.say(&format!("pindah {n} terima")).await;
    t.say(&format!(
        "kembalikan {n} Mohon kirim tangkapan layar halamannya."
    ))
    .await;
    let stage = |t: &support::Chat| case_of(t.rt.store.as_ref(), &n).stage;
    assert_eq!(stage(&t), "info_needed");

    let running = pstbot::app::channels(&cfg, &t.rt, CancellationToken::new()).unwrap();
    let stop = CancellationToken::new();
    let mut tasks = vec![tokio::spawn(
        Arc::new(Outbox::new(
            t.rt.outbox_feed(),
            running.senders,
            cfg.delivery.clone(),
        ))
        .run(stop.clone()),
    )];
    tasks.extend(running.tasks.into_iter().map(tokio::spawn));
    servers
        .wait_for("the return notice to Budi", async |s| {
            s.sent_to(BUDI_MAIL)
                .iter()
                .any(|m| m.text().contains("tangkapan layar"))
        })
        .await;
    let notice = servers
        .sent_to(BUDI_MAIL)
        .into_iter()
        .find(|m| m.text().contains("tangkapan layar"))
        .unwrap();
    let notice_id = format!("<{}>", notice.parsed().message_id().unwrap());
    servers
        .deliver(&format!(
            "From: {BUDI_MAIL}\nTo: {USER}\nSubject: Re: {}\nMessage-ID: <budi-r1@example.go.id>\nIn-Reply-To: {notice_id}\nReferences: {notice_id}\n\nHalaman yang gagal: tabel kemiskinan 2025.\nselesai\n",
            notice.header("Subject")
        ))
        .await;
    for _ in 0..400 {
        if stage(&t) == "review" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(stage(&t), "review", "the case is back under review");
    let c = case_of(t.rt.store.as_ref(), &n);
    let note = c
        .history
        .iter()
        .find(|e| e.kind == "applicant_message")
        .and_then(|e| e.note.clone())
        .unwrap();
    assert_eq!(note, "Halaman yang gagal: tabel kemiskinan 2025.");
    stop.cancel();
    for task in tasks {
        task.abort();
    }
}

/// Issue 20, item 8: an officer working by e-mail sends a letter: `kirim CASE` in the text and
/// the PDF attached, in one mail (proven by the officer's secret). Siti gets the letter, by
/// e-mail, byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_officer_sends_a_letter_by_e_mail_with_kirim_and_the_attachment() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let path = support::config_file(dir.path(), "127.0.0.1:0");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&servers.email_section());
    text.push_str(OFFICERS_BY_MAIL);
    std::fs::write(&path, text).unwrap();
    let cfg = Config::load(&path).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(pstbot::app::serve(cfg.clone(), async {
        let _ = rx.await;
    }));
    let siti = "siti@example.org";
    servers.deliver(&complaint_mail("siti-1")).await;
    servers
        .wait_for("the receipt to Siti", async |s| !s.sent_to(siti).is_empty())
        .await;
    servers
        .deliver(&format!(
            "From: dodi@bps.example\nTo: {USER}\nSubject: [kunci-dodi-0123456789] surat\nMessage-ID: <officer-letter@bps.example>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\nContent-Type: text/plain; charset=utf-8\n\nkirim ADU-2026-000001\n--b1\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"surat-jawaban.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQgc3VyYXQgamF3YWJhbiBwZW5nYWR1YW4=\n--b1--\n"
        ))
        .await;
    servers
        .wait_for("the letter to Siti", async |s| s.sent_to(siti).len() >= 2)
        .await;
    let letter = servers
        .sent_to(siti)
        .into_iter()
        .find(|m| m.parsed().attachments().next().is_some())
        .expect("a mail with the letter");
    let att: Vec<_> = letter
        .parsed()
        .attachments()
        .map(|a| {
            use mail_parser::MimeHeaders;
            (
                a.attachment_name().unwrap_or_default().to_string(),
                a.contents().to_vec(),
            )
        })
        .collect();
    assert_eq!(
        att,
        vec![(
            "surat-jawaban.pdf".to_string(),
            b"%PDF-1.4 surat jawaban pengaduan".to_vec()
        )]
    );
    tx.send(()).unwrap();
    served.await.unwrap().unwrap();
}

/// Issue 19: a first mail written in prose, as people write to an office ("Selamat siang
/// Bapak/Ibu, … pengaduan …") with a PDF, starts the complaint; the PDF answers the evidence
/// question when the complaint reaches it; the answers greet nobody with buttons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prose_mail_starts_the_complaint_and_its_attachment_is_the_evidence() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = mail_config(dir.path(), &servers);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(pstbot::app::serve(cfg.clone(), async {
        let _ = rx.await;
    }));
    let pdf = "JVBERi0xLjQKJcfsj6IKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK";
    servers
        .deliver(&format!(
            "From: Rina <rina@example.org>\n\
To: {USER}\n\
Subject: Data kemiskinan\n\
Message-ID: <rina-1@example.org>\n\
MIME-Version: 1.0\n\
Content-Type: multipart/mixed; boundary=\"b1\"\n\
\n\
--b1\n\
Content-Type: text/plain; charset=utf-8\n\
\n\
Selamat siang Bapak/Ibu,\n\
\n\
Saya ingin menyampaikan pengaduan: tabel kemiskinan kabupaten di situs web\n\
tidak bisa diunduh sejak minggu lalu. Tangkapan layarnya saya lampirkan.\n\
\n\
Terima kasih,\n\
Rina\n\
--b1\n\
Content-Type: application/pdf\n\
Content-Disposition: attachment; filename=\"bukti.pdf\"\n\
Content-Transfer-Encoding: base64\n\
\n\
{pdf}\n\
--b1--\n"
        ))
        .await;
    servers
        .wait_for("the answer to Rina", async |s| {
            !s.sent_to("rina@example.org").is_empty()
        })
        .await;
    let first = servers.sent_to("rina@example.org").remove(0).text();
    assert!(first.contains("Pelindungan Data Pribadi"), "{first}");
    assert!(
        !first.contains("tombol") && !first.contains("Mohon pilih"),
        "no buttons by mail, no menu re-prompt: {first}"
    );
    // The rest, one answer per line: the guest book, then the complaint. The evidence question
    // is answered by the PDF of the first mail.
    servers
        .deliver(&format!(
            "From: Rina <rina@example.org>\n\
To: {USER}\n\
Subject: Re: Data kemiskinan\n\
Message-ID: <rina-2@example.org>\n\
\n\
ya\n\
Rina Marlina\n\
rina@example.org\n\
0812-3456-7890\n\
perempuan\n\
35\n\
S1\n\
pns\n\
Dinas Sosial Kabupaten Seluma\n\
pemda\n\
perencanaan\n\
kirim\n\
data\n\
Tabel kemiskinan kabupaten di situs web tidak bisa diunduh sejak minggu lalu.\n\
\n\
20/11/2026\n\
tidak\n\
-\n\
kirim\n"
        ))
        .await;
    servers
        .wait_for("the receipt to Rina", async |s| {
            s.sent_to("rina@example.org")
                .iter()
                .any(|m| m.text().contains("ADU-2026-"))
        })
        .await;
    tx.send(()).unwrap();
    served.await.unwrap().unwrap();
    let store = SledStore::open(&cfg.store.path, 16).unwrap();
    let case = case_of(&store, "ADU-2026-000001");
    let names: Vec<&str> = case
        .attachments
        .iter()
        .map(|a| a.filename.as_str())
        .collect();
    assert_eq!(names, ["bukti.pdf"], "the first mail's PDF is the evidence");
    let bytes = store
        .blob(&case.attachments[0].blob)
        .unwrap()
        .expect("kept");
    assert!(bytes.starts_with(b"%PDF"));
}

/// The ids of a thread header (`References`, `In-Reply-To`) as a mail program reads them.
fn thread_ids(m: &support::mail::Received, header: &str) -> Vec<String> {
    let p = m.parsed();
    let h = match header {
        "References" => p.references(),
        _ => p.in_reply_to(),
    };
    match (h.as_text_list(), h.as_text()) {
        (Some(list), _) => list.iter().map(|s| format!("<{s}>")).collect(),
        (None, Some(t)) => vec![format!("<{t}>")],
        _ => Vec::new(),
    }
}

fn own_id(m: &support::mail::Received) -> String {
    format!("<{}>", m.parsed().message_id().unwrap())
}

/// Issue 20, item 10: a case is one conversation in the applicant's mail program, also across
/// a restart. On `pstbot serve` with real mail servers: a complaint filed by mail, then the
/// receipt, an officer's reply, her reply in the thread and its confirmation, a stage change,
/// the answer with the rating, and after a restart one more reply: every mail has the case's
/// subject, names in `References` every earlier mail of the thread in order (ours and hers),
/// and answers the latest in `In-Reply-To`. A mail outside the case is answered
/// `Re: <her subject>` under her mail and its `References`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_is_one_thread_with_the_full_references_chain_and_answers_say_re() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let path = support::config_file(dir.path(), "127.0.0.1:0");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&servers.email_section());
    text.push_str(OFFICERS_BY_MAIL);
    std::fs::write(&path, text).unwrap();
    let cfg = Config::load(&path).unwrap();
    let serve = |cfg: Config| {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(pstbot::app::serve(cfg, async {
            let _ = rx.await;
        }));
        (tx, task)
    };
    let siti = "siti@example.org";
    let n = "ADU-2026-000001";
    let mut officer_n = 0;
    let mut officer = async |servers: &MailServers, command: String, what: &str| {
        officer_n += 1;
        let before = servers.sent_to(siti).len();
        servers
            .deliver(&officer_mail(
                officer_n,
                "dodi@bps.example",
                "",
                "[kunci-dodi-0123456789] perintah",
                &command,
            ))
            .await;
        servers
            .wait_for(what, async |s| {
                s.sent_to(siti)[before..]
                    .iter()
                    .any(|m| m.text().contains(what))
            })
            .await;
    };
    let (stop, served) = serve(cfg.clone());
    servers.deliver(&complaint_mail("thr-1")).await;
    servers
        .wait_for("the receipt", async |s| !s.sent_to(siti).is_empty())
        .await;
    officer(
        &servers,
        format!("balas {n} Tabelnya sedang kami periksa."),
        "Tabelnya sedang kami periksa",
    )
    .await;
    // Her answer to the officer's reply, as her mail program writes it.
    let replied = servers.sent_to(siti).pop().unwrap();
    let mut refs = thread_ids(&replied, "References");
    refs.push(own_id(&replied));
    servers
        .deliver(&format!(
            "From: {siti}\nTo: {USER}\nSubject: Re: {}\nMessage-ID: <thr-2@example.org>\nIn-Reply-To: {}\nReferences: {}\n\nTerima kasih, saya tunggu.\n",
            replied.parsed().subject().unwrap(),
            own_id(&replied),
            refs.join("\n "),
        ))
        .await;
    servers
        .wait_for("the confirmation", async |s| {
            s.sent_to(siti)
                .iter()
                .any(|m| m.text().contains(&format!("kami tambahkan ke {n}")))
        })
        .await;
    officer(&servers, format!("pindah {n} terima"), "ditelaah").await;
    officer(
        &servers,
        format!("pindah {n} jawab Tabel sudah dapat diunduh kembali."),
        "Tabel sudah dapat diunduh kembali",
    )
    .await;
    // A restart: the chain is read back from the store.
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();
    let (stop, served) = serve(cfg.clone());
    officer(
        &servers,
        format!("balas {n} Terima kasih atas kesabaran Ibu."),
        "kesabaran Ibu",
    )
    .await;

    // A mail about something else, in a thread of her own: answered under it.
    let before = servers.sent_to(siti).len();
    servers
        .deliver(&format!(
            "From: {siti}\nTo: {USER}\nSubject: RE: Re: Jadwal\r\n konsultasi\nMessage-ID: <thr-c2@example.org>\nIn-Reply-To: <thr-c1@example.org>\nReferences: <thr-c0@example.org> <thr-c1@example.org>\n\nhalo\n"
        ))
        .await;
    servers
        .wait_for("the answer outside the case", async |s| {
            s.sent_to(siti).len() > before
        })
        .await;
    stop.send(()).unwrap();
    served.await.unwrap().unwrap();

    let mails = servers.sent_to(siti);
    let (case_mails, others): (Vec<_>, Vec<_>) = mails.iter().partition(|m| {
        thread_ids(m, "References").first() == Some(&format!("<pstbot.{n}@{DOMAIN}>"))
    });
    assert!(case_mails.len() >= 6, "{}", case_mails.len());
    let subject = format!("[{n}] Pengaduan — PST BPS Provinsi Bengkulu");
    let mut chain = vec![
        format!("<pstbot.{n}@{DOMAIN}>"),
        "<thr-1@example.org>".to_string(),
    ];
    for (i, m) in case_mails.iter().enumerate() {
        assert_eq!(m.parsed().subject(), Some(subject.as_str()), "mail {i}");
        if thread_ids(m, "In-Reply-To") == ["<thr-2@example.org>"] {
            // The confirmation answers her mail in the thread.
            chain.push("<thr-2@example.org>".into());
        }
        assert_eq!(thread_ids(m, "References"), chain, "mail {i}: {}", m.text());
        assert_eq!(
            thread_ids(m, "In-Reply-To"),
            [chain.last().unwrap().clone()],
            "mail {i}"
        );
        assert!(!chain.contains(&own_id(m)), "mail {i} names itself");
        chain.push(own_id(m));
    }
    assert!(chain.contains(&"<thr-2@example.org>".to_string()));
    assert!(
        case_mails.last().unwrap().text().contains("kesabaran Ibu"),
        "the mail after the restart continues the chain"
    );
    assert_eq!(others.len(), 1, "only the answer outside the case");
    let answer = others[0];
    assert_eq!(
        answer.parsed().subject(),
        Some("Re: Jadwal konsultasi"),
        "one Re:, on one line"
    );
    assert_eq!(thread_ids(answer, "In-Reply-To"), ["<thr-c2@example.org>"]);
    assert_eq!(
        thread_ids(answer, "References"),
        [
            "<thr-c0@example.org>",
            "<thr-c1@example.org>",
            "<thr-c2@example.org>"
        ]
    );
}

/// A row tried again (its mail left, but the delivery was not recorded: a crash, a lost
/// answer) is the same mail: the same `Message-ID` and the same chain, never naming itself;
/// once recorded, the next mail of the thread names it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_tried_again_keeps_its_id_and_joins_the_chain_once() {
    let servers = MailServers::start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = mail_config(dir.path(), &servers);
    let store = pstbot::store::memory::MemoryStore::new();
    let ch = pstbot::channels::email::send::EmailChannel::new(
        pstbot::channels::email::EmailSettings::of(&cfg)
            .unwrap()
            .unwrap(),
        pstbot::dialogs::Bot::load(&cfg).unwrap().texts,
    )
    .unwrap();
    let to = "siti@example.org";
    // Rows as a commit queues them, so that a delivery can be recorded.
    let siti = Identity::new(ChannelKind::Email, to);
    let mut c = pstbot::store::Commit::new(
        pstbot::store::DedupeKey::new(&siti, "m1"),
        chrono::Utc::now(),
        siti.clone(),
        Default::default(),
    );
    c.session = None;
    struct Three(Identity);
    impl pstbot::store::Followups for Three {
        fn messages(&self, _: &pstbot::store::Applied) -> Vec<OutboundMessage> {
            (0..3)
                .map(|i| {
                    OutboundMessage::text(self.0.clone(), format!("Kabar {i}")).about(Topic::case(
                        "case_update",
                        "ADU-2026-000007",
                        &[],
                    ))
                })
                .collect()
        }
        fn case_timers(&self, _: &pstbot::cases::Case) -> Vec<pstbot::store::Timer> {
            Vec::new()
        }
    }
    let pstbot::store::Committed::Applied(a) = store.commit_with(c, &Three(siti)).unwrap() else {
        panic!("applied")
    };
    let record = |row: &OutboxRow, d: pstbot::outbox::Delivered| {
        let mut rec = pstbot::store::SentRecord::delivered(row, chrono::Utc::now(), d.provider_ref);
        rec.thread = d.thread;
        store.outbox_sent(rec).unwrap();
    };
    let first = ch.send(&a.rows[0], &store).await.unwrap();
    record(&a.rows[0], first);
    let tried = ch.send(&a.rows[1], &store).await.unwrap();
    let again = ch.send(&a.rows[1], &store).await.unwrap();
    assert_eq!(tried, again, "the same mail, the same chain");
    record(&a.rows[1], again);
    ch.send(&a.rows[2], &store).await.unwrap();

    let mails = servers.sent_to(to);
    assert_eq!(mails.len(), 4);
    let root = format!("<pstbot.ADU-2026-000007@{DOMAIN}>");
    let (one, two, two_again, three) = (&mails[0], &mails[1], &mails[2], &mails[3]);
    assert_eq!(own_id(two), own_id(two_again));
    assert_eq!(thread_ids(two, "References"), [root.clone(), own_id(one)]);
    assert_eq!(
        thread_ids(two_again, "References"),
        thread_ids(two, "References")
    );
    assert_eq!(
        thread_ids(three, "References"),
        [root, own_id(one), own_id(two)],
        "the retried mail once"
    );
    assert_eq!(thread_ids(three, "In-Reply-To"), [own_id(two)]);
}
