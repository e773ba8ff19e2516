//! The office's commands while every process runs on one PostgreSQL database (issue 22): two
//! `pstbot serve` processes take an applicant's web chat and an officer's Telegram messages
//! (webhook mode) in turn, and the real binary's `report`, `export guestbook` and `backup`
//! (restored into an empty database) run beside them and see the data; an applicant's
//! `datasaya` and `hapusdata` go to one process and the erasure shows on the other (and in
//! the export); an officer's `antrian` and `lihat` on one process (and in `pstbot chat`) see a
//! case made on the other.

use crate::support;

use pstbot::cases::CaseNumber;
use pstbot::store::postgres::PgStore;
use pstbot::store::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::postgres::shared;
use support::serving::{Serving, chat, postgres_config, serve_edited, succeeds};
use support::telegram_api::{FakeBotApi, TOKEN};
use support::web_visitor;

/// Rina's Telegram user id (an officer: `petugas`, `resepsionis`).
const RINA: u64 = 7100;
const HOOK_SECRET: &str = "hook-Secret_42";

/// Telegram by webhook: any process takes any update.
fn telegram(api: &FakeBotApi) -> String {
    format!(
        "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\nmode = \"webhook\"\n\
         webhook_url = \"https://pst.example.go.id/webhook/telegram\"\nwebhook_secret = \"{HOOK_SECRET}\"\n",
        api.url()
    )
}

/// The example config with Rina known on Telegram.
fn rina_on_telegram(config: String) -> String {
    config.replacen(
        "# telegram_user_id = 123456789",
        &format!("telegram_user_id = {RINA}"),
        1,
    )
}

static IDS: AtomicU64 = AtomicU64::new(1);

/// A web chat visitor whose session token travels in a header, so any process takes it.
struct Visitor {
    client: reqwest::Client,
    token: String,
}

impl Visitor {
    async fn start(on: &Serving) -> Visitor {
        let client = reqwest::Client::new();
        let token = web_visitor::start_session(&client, on.port)
            .await
            .expect("a session");
        Visitor { client, token }
    }

    /// Says `text` to `on`; the replies' texts, one after the other (choices in brackets).
    async fn say(&self, on: &Serving, text: &str) -> String {
        let id = format!("w{}", IDS.fetch_add(1, Ordering::Relaxed));
        let v = web_visitor::say(&self.client, on.port, &self.token, &id, text).await;
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                let mut t = m["text"].as_str().unwrap_or_default().to_string();
                for c in m["choices"].as_array().into_iter().flatten() {
                    t.push_str(&format!("\n[{}]", c["label"].as_str().unwrap_or_default()));
                }
                t
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Says `text` to `on`; every fragment must be in the answer.
    async fn expect(&self, on: &Serving, text: &str, fragments: &[&str]) -> String {
        let out = self.say(on, text).await;
        for f in fragments {
            assert!(out.contains(f), "after {text:?} expected {f:?} in:\n{out}");
        }
        out
    }
}

/// An officer's Telegram message posted to one process's webhook; the reply the officer got.
async fn officer_says(api: &FakeBotApi, on: &Serving, text: &str, fragment: &str) -> String {
    let before = api.sent_to(RINA as i64).len();
    let m = api.message(RINA as i64, RINA, serde_json::json!({"text": text}));
    let update = api.update_json("message", m).to_string();
    let r = reqwest::Client::new()
        .post(on.url("/webhook/telegram"))
        .header("content-type", "application/json")
        .header(
            pstbot::channels::telegram::webhook::SECRET_HEADER,
            HOOK_SECRET,
        )
        .body(update)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let found = api
        .wait_for(Duration::from_secs(20), |api| {
            api.sent_to(RINA as i64)[before..]
                .iter()
                .any(|s| s.text.contains(fragment))
        })
        .await;
    let got: Vec<String> = api.sent_to(RINA as i64)[before..]
        .iter()
        .map(|s| s.text.clone())
        .collect();
    assert!(
        found,
        "after {text:?} Rina expected {fragment:?} in {got:#?}"
    );
    got.join("\n")
}

/// An office day as `DD/MM/YYYY`, `days` from today.
fn day(days: i64, format: &str) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .format(format)
        .to_string()
}

/// Ani files a complaint through the web chat, her messages going to `a` and `b` in turn;
/// returns its number.
async fn ani_complains(ani: &Visitor, a: &Serving, b: &Serving) -> String {
    let steps: &[(&str, &[&str])] = &[
        ("menu", &["Pengaduan"]),
        ("3", &["setuju"]),
        ("ya", &["nama lengkap"]),
        ("Ani Lestari", &["e-mail"]),
        ("ani.lestari@example.go.id", &["Nomor HP"]),
        ("0812-3456-7890", &["Jenis kelamin"]),
        ("2", &["Kelompok umur"]),
        ("3", &["Pendidikan"]),
        ("4", &["Pekerjaan"]),
        ("3", &["instansi"]),
        ("Dinas Kominfo Provinsi Bengkulu", &["Kategori instansi"]),
        ("pemerintah daerah", &["tujuan"]),
        ("2", &["Mohon periksa"]),
        ("kirim", &["tentang apa"]),
        ("2", &["Ceritakan"]),
        (
            "Tabel kemiskinan kabupaten di situs web tidak bisa diunduh.",
            &["Kapan"],
        ),
    ];
    for (i, (text, fragments)) in steps.iter().enumerate() {
        ani.expect(if i % 2 == 0 { a } else { b }, text, fragments)
            .await;
    }
    ani.expect(a, &day(-3, "%d/%m/%Y"), &["bukti"]).await;
    ani.expect(b, "lewati", &["dirahasiakan"]).await;
    ani.expect(a, "tidak", &["LAPOR"]).await;
    ani.expect(b, "-", &["Mohon periksa"]).await;
    let done = ani.expect(a, "kirim", &["ADU-"]).await;
    support::case_number(&done).expect("a case number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_export_backup_privacy_and_officers_commands_work_while_two_processes_run() {
    let url = shared().fresh_database();
    let api = FakeBotApi::start().await;
    let dir = tempfile::tempdir().unwrap();
    let a = serve_edited(dir.path(), &url, &telegram(&api), rina_on_telegram).await;
    let b = serve_edited(dir.path(), &url, &telegram(&api), rina_on_telegram).await;

    // A case made through both processes (its last message, `kirim`, to A).
    let ani = Visitor::start(&a).await;
    let n = ani_complains(&ani, &a, &b).await;
    // The officer's commands on B see it.
    officer_says(&api, &b, "antrian", &n).await;
    let seen = officer_says(&api, &b, &format!("lihat {n}"), "Ani Lestari").await;
    assert!(seen.contains("Tabel kemiskinan"), "{seen}");

    // The administrator's commands, on a machine of their own (no service's control socket:
    // each opens the database itself), while both processes run.
    let admin = postgres_config(dir.path(), support::free_port(), "", |t| t);
    // An officer at the terminal (`pstbot chat`, a third process on the database) too.
    let said = chat(&admin, &url, "rina", &format!("antrian\nlihat {n}\n"));
    for f in [n.as_str(), "Ani Lestari", "Tabel kemiskinan"] {
        assert!(said.contains(f), "{f:?} not in {said}");
    }
    let month = day(0, "%Y-%m");
    let out = dir.path().join("laporan");
    let said = succeeds(
        &admin,
        &url,
        &["report", "--month", &month, "--out", out.to_str().unwrap()],
    );
    for f in [
        "received: 1 (REK 0, PRD 0, ADU 1)",
        "visits: 1",
        "Files / berkas",
    ] {
        assert!(said.contains(f), "{f:?} not in {said}");
    }
    assert!(out.join(format!("laporan-{month}.xlsx")).exists());
    let csv = succeeds(
        &admin,
        &url,
        &[
            "export",
            "guestbook",
            "--from",
            &day(-1, "%Y-%m-%d"),
            "--to",
            &day(1, "%Y-%m-%d"),
        ],
    );
    assert!(csv.contains("Ani Lestari"), "{csv}");
    let file = dir.path().join("pst.pstbak");
    let said = succeeds(&admin, &url, &["backup", file.to_str().unwrap()]);
    assert!(said.contains("backup written"), "{said}");
    // The backup restored into an empty database holds the guest and the case.
    let empty = shared().fresh_database();
    let said = succeeds(&admin, &empty, &["restore", file.to_str().unwrap()]);
    assert!(said.contains("restored"), "{said}");
    let restored = PgStore::open(&empty, 2).unwrap();
    let guests = restored.guests().unwrap();
    assert_eq!(guests.len(), 1);
    assert_eq!(guests[0].name(), Some("Ani Lestari"));
    let case = restored
        .case(&CaseNumber::parse(&n).unwrap())
        .unwrap()
        .expect("the case is in the backup");
    assert!(case.open);
    drop(restored);

    // Ani's rights, her messages to one process or the other.
    ani.expect(&b, "datasaya", &["Ani Lestari", &n]).await;
    ani.expect(&a, "hapusdata", &["Lanjutkan?", &n]).await;
    ani.expect(&b, "ya", &["sudah kami hapus"]).await;
    let mine = ani
        .expect(&a, "datasaya", &["Kami belum menyimpan data pribadi"])
        .await;
    assert!(!mine.contains("Ani Lestari"), "{mine}");
    // The erasure shows in the export and to the officer on the other process.
    let csv = succeeds(
        &admin,
        &url,
        &[
            "export",
            "guestbook",
            "--from",
            &day(-1, "%Y-%m-%d"),
            "--to",
            &day(1, "%Y-%m-%d"),
        ],
    );
    assert!(!csv.contains("Ani Lestari"), "{csv}");
    let seen = officer_says(&api, &a, &format!("lihat {n}"), "data dihapus").await;
    assert!(seen.contains("ditutup / closed"), "{seen}");
    assert!(!seen.contains("Ani Lestari"), "{seen}");
}
