//! The web chat in a real browser: headless Debian `chromium`, driven through `chromedriver`
//! (WebDriver) with fantoccini, against `pstbot serve` on 127.0.0.1 (in-process, on a sled
//! store, with the example config). A visitor opens the page on a 360 px wide screen, switches
//! the language, clicks through the menu, types answers, uploads a file, files a complaint,
//! sees its number, and sees an officer's reply arrive without reloading. A screenshot of the
//! finished conversation is saved as `target/test-artifacts/webchat.png`.
//!
//! Needs `chromium` and `chromium-driver` (`.ci/run` installs them).

mod support;

use fantoccini::{Client, ClientBuilder, Locator};
use pstbot::message::{ChannelKind, Identity, InboundBody, InboundMessage};
use pstbot::runtime::{Runtime, SystemClock};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;

/// How long the page may take to show something before the test gives up (a readiness wait,
/// not a timing assertion).
const PATIENCE: Duration = Duration::from_secs(30);
const ENTER: &str = "\u{E007}";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn chromedriver(port: u16) -> Driver {
    let bin = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("chromedriver is installed (apt-get install chromium-driver)");
    let child = Command::new(bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    Driver(child)
}

async fn connect(port: u16, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            // A phone-sized screen: headless windows are never narrower than 500 px.
            "mobileEmulation": {
                "deviceMetrics": { "width": 360, "height": 780, "pixelRatio": 1.0, "touch": false }
            },
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--window-size=360,780",
                "--force-device-scale-factor=1",
                "--lang=id",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let started = Instant::now();
    loop {
        let http = hyper_util::client::legacy::connect::HttpConnector::new();
        let attempt = ClientBuilder::new(http)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await;
        match attempt {
            Ok(c) => return c,
            // chromedriver is still starting.
            Err(e) if started.elapsed() < PATIENCE => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot start a browser session: {e}"),
        }
    }
}

/// The texts of the bot's messages on the page.
async fn bot_texts(c: &Client) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css("#log .msg.bot")).await.unwrap() {
        out.push(e.text().await.unwrap_or_default());
    }
    out
}

/// Waits until the bot's messages after the first `before` contain every fragment; returns
/// them.
async fn wait_bot(c: &Client, before: usize, fragments: &[&str]) -> String {
    let started = Instant::now();
    loop {
        let all = bot_texts(c).await;
        if all.len() > before {
            let new = all[before..].join("\n");
            if fragments.iter().all(|f| new.contains(f)) {
                return new;
            }
        }
        if started.elapsed() > PATIENCE {
            let status = c
                .find(Locator::Id("status"))
                .await
                .unwrap()
                .text()
                .await
                .unwrap_or_default();
            panic!(
                "the page did not show {fragments:?}; last bot messages: {:?}; status: {status:?}",
                all.iter().rev().take(2).collect::<Vec<_>>()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Types an answer into the text box and presses Enter; waits for the bot's answer.
async fn answer(c: &Client, text: &str, fragments: &[&str]) -> String {
    let before = bot_texts(c).await.len();
    let box_ = c.find(Locator::Id("text")).await.unwrap();
    box_.send_keys(&format!("{text}{ENTER}")).await.unwrap();
    wait_bot(c, before, fragments).await
}

/// Clicks the button labelled `label` in the newest message; waits for the bot's answer.
async fn press(c: &Client, label: &str, fragments: &[&str]) -> String {
    let before = bot_texts(c).await.len();
    let xpath = format!(
        "(//div[contains(@class,'msg')][.//button[contains(@class,'choice')]])[last()]//button[contains(., '{label}')]"
    );
    c.find(Locator::XPath(&xpath))
        .await
        .unwrap_or_else(|e| panic!("no button {label:?}: {e}"))
        .click()
        .await
        .unwrap();
    wait_bot(c, before, fragments).await
}

/// `pstbot serve` in-process on a sled store with the example config, on a free port.
struct Service {
    rt: Arc<Runtime>,
    port: u16,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<pstbot::Result<()>>,
    _dir: tempfile::TempDir,
}

impl Service {
    async fn start() -> Service {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config =
            pstbot::config::Config::load(&config_file(dir.path(), &format!("127.0.0.1:{port}")))
                .unwrap();
        let sled = pstbot::app::open_store(&config).unwrap();
        let rt: Arc<Runtime> =
            Arc::new(pstbot::app::build_on(&config, Arc::new(SystemClock), sled.store()).unwrap());
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(pstbot::app::serve_runtime(
            config,
            rt.clone(),
            sled,
            async move {
                let _ = stop_rx.await;
            },
        ));
        Service {
            rt,
            port,
            stop,
            server,
            _dir: dir,
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}

/// A headless chromium with its own profile, driven through its own chromedriver.
struct Browser {
    client: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start() -> Browser {
        let driver_port = free_port();
        let driver = chromedriver(driver_port);
        let profile = tempfile::tempdir().unwrap();
        let client = connect(driver_port, profile.path()).await;
        Browser {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// Waits for the element matching the CSS selector `css` to appear.
async fn appears(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
        .unwrap()
}

/// The text of the element at `at`.
async fn text_of(c: &Client, at: Locator<'_>) -> String {
    c.find(at).await.unwrap().text().await.unwrap()
}

/// Presses the language button; waits for the bot's menu, which shows every fragment.
async fn switch_language(c: &Client, fragments: &[&str]) -> String {
    let before = bot_texts(c).await.len();
    c.find(Locator::Id("lang"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_bot(c, before, fragments).await
}

fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let dir = target.join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_files_a_complaint_in_a_real_browser_and_sees_the_officers_reply_live() {
    let service = Service::start().await;
    let port = service.port;
    let browser = Browser::start().await;
    let c = &browser.client;
    let base = format!("http://127.0.0.1:{port}");
    // The service may still be binding its port: the page is retried until it loads.
    let started = Instant::now();
    loop {
        c.goto(&format!("{base}/")).await.unwrap();
        if c.find(Locator::Id("log")).await.is_ok() {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "the page does not load");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The menu opens by itself, with the office and its hours in the header.
    wait_bot(c, 0, &["Selamat datang", "Jam layanan"]).await;
    let header = text_of(c, Locator::Css("header")).await;
    assert!(
        header.contains("BPS Provinsi Bengkulu") && header.contains("Jam layanan"),
        "{header}"
    );
    let privacy = c.find(Locator::Id("privacy")).await.unwrap();
    assert_eq!(privacy.text().await.unwrap(), "Data Anda dilindungi");

    // Switch to English and back: the page's labels and the bot follow.
    // The bot confirms and shows the menu again in English.
    switch_language(c, &["Welcome", "Complaint"]).await;
    assert!(bot_texts(c).await.join("\n").contains("Language: English."));
    let send = text_of(c, Locator::Id("send")).await;
    assert_eq!(send, "Send");
    switch_language(c, &["Selamat datang", "Pengaduan"]).await;
    assert_eq!(text_of(c, Locator::Id("send")).await, "Kirim");

    // The complaint, by buttons and typed answers.
    press(c, "Pengaduan", &["Pelindungan Data Pribadi"]).await;
    press(c, "Ya", &["nama lengkap"]).await;
    answer(c, "Budi Santoso", &["e-mail"]).await;
    answer(c, "budi.santoso@example.go.id", &["Nomor HP"]).await;
    answer(c, "0812-3456-7890", &["Jenis kelamin"]).await;
    press(c, "Laki", &["Kelompok umur"]).await;
    answer(c, "1", &["Pendidikan"]).await;
    answer(c, "3", &["Pekerjaan"]).await;
    answer(c, "4", &["instansi"]).await;
    answer(c, "Dinas Kominfo Provinsi Bengkulu", &["Kategori instansi"]).await;
    answer(c, "pemerintah daerah", &["tujuan"]).await;
    answer(c, "2", &["Mohon periksa"]).await;
    press(c, "Kirim", &["tentang apa"]).await;
    answer(c, "2", &["Ceritakan"]).await;
    answer(
        c,
        "Tabel kemiskinan kabupaten di situs web tidak bisa diunduh.",
        &["Kapan"],
    )
    .await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Jakarta)
        .format("%d/%m/%Y")
        .to_string();
    answer(c, &today, &["bukti"]).await;
    // The evidence, through the file picker; the size limit is shown next to it.
    let hint = text_of(c, Locator::Id("attach-hint")).await;
    assert!(hint.contains("20 MB") && hint.contains("PDF"), "{hint}");
    let before = bot_texts(c).await.len();
    let fixture = repo().join("tests/fixtures/kuesioner.pdf");
    c.find(Locator::Id("attach"))
        .await
        .unwrap()
        .send_keys(&fixture.display().to_string())
        .await
        .unwrap();
    wait_bot(c, before, &["dirahasiakan"]).await;
    press(c, "Tidak", &["LAPOR"]).await;
    answer(c, "-", &["Mohon periksa", "kuesioner.pdf"]).await;
    let done = press(c, "Kirim", &["ADU-"]).await;
    let n = case_number(&done).expect("the page shows the case number");
    assert!(n.starts_with("ADU-"), "{n}");

    // An officer answers from the admin chat; the page shows it without a reload.
    let before = bot_texts(c).await.len();
    let replies = service
        .rt
        .handle(InboundMessage {
            id: "officer-1".into(),
            from: Identity::new(ChannelKind::Terminal, "rina"),
            body: InboundBody::Text(format!(
                "balas {n} Terima kasih, Bapak. Tabelnya sudah kami perbaiki."
            )),
            reply_to: None,
            trust: pstbot::message::Trust::Proven,
        })
        .await
        .unwrap();
    assert!(
        replies
            .iter()
            .any(|m| m.text.contains("diteruskan ke pemohon")),
        "{replies:?}"
    );
    let live = wait_bot(c, before, &["Tabelnya sudah kami perbaiki"]).await;
    assert!(live.contains(&n), "{live}");

    // Usable at 360 px: nothing is wider than the screen.
    let widths = c
        .execute(
            "return [window.innerWidth, document.documentElement.scrollWidth];",
            vec![],
        )
        .await
        .unwrap();
    let w: Vec<u64> = serde_json::from_value(widths).unwrap();
    assert!(
        w[0] <= 360 && w[1] <= w[0],
        "viewport and content width: {w:?}"
    );

    let png = c.screenshot().await.unwrap();
    let path = artifacts().join("webchat.png");
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());

    // Coming back later (a reload) shows the whole conversation again.
    c.refresh().await.unwrap();
    wait_bot(c, 0, &["Tabelnya sudah kami perbaiki"]).await;
    let all = bot_texts(c).await.join("\n");
    assert!(all.contains(&n) && all.contains("Ceritakan"), "{all}");

    browser.close().await;
    service.stop().await;
}

/// The office's own website (another port on 127.0.0.1: the same site, as a subdomain of the
/// office's domain would be) with the one `<script>` tag of the widget.
async fn office_website(chat_port: u16) -> u16 {
    let html = format!(
        "<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>BPS Provinsi Bengkulu</title></head><body><h1>BPS Provinsi Bengkulu</h1>\
         <p>Selamat datang di situs kami.</p>\
         <script src=\"http://127.0.0.1:{chat_port}/widget.js\" defer></script></body></html>"
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let html = html.clone();
            async move { axum::response::Html(html) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_opens_the_chat_from_the_office_website_by_keyboard() {
    let service = Service::start().await;
    let port = service.port;
    let site = office_website(port).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    let started = Instant::now();
    let bubble = loop {
        c.goto(&format!("http://127.0.0.1:{site}/")).await.unwrap();
        if let Ok(b) = c
            .wait()
            .at_most(Duration::from_secs(2))
            .for_element(Locator::Css("button[aria-label*='Buka obrolan PST']"))
            .await
        {
            break b;
        }
        assert!(started.elapsed() < PATIENCE, "the widget does not appear");
    };
    assert_eq!(
        bubble.attr("aria-expanded").await.unwrap().as_deref(),
        Some("false")
    );
    // Opened with the keyboard (Enter on the focused bubble).
    bubble.send_keys(ENTER).await.unwrap();
    let frame = appears(c, "iframe[src*='/chat?embed=1']").await;
    assert!(frame.is_displayed().await.unwrap());
    assert_eq!(
        bubble.attr("aria-expanded").await.unwrap().as_deref(),
        Some("true")
    );
    frame.clone().enter_frame().await.unwrap();
    wait_bot(c, 0, &["Selamat datang"]).await;
    press(c, "Informasi", &["Silakan ketik pertanyaan"]).await;
    // The × in the chat closes the frame and gives the focus back to the bubble.
    c.find(Locator::Id("close"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.enter_parent_frame().await.unwrap();
    let started = Instant::now();
    while frame.is_displayed().await.unwrap() {
        assert!(started.elapsed() < PATIENCE, "the chat does not close");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A later visit to the website: the conversation is still there (same site: the session
    // cookie holds in the frame).
    c.goto(&format!("http://127.0.0.1:{site}/")).await.unwrap();
    let bubble = appears(c, "button[aria-label*='Buka obrolan PST']").await;
    bubble.click().await.unwrap();
    let frame = appears(c, "iframe[src*='/chat?embed=1']").await;
    frame.enter_frame().await.unwrap();
    wait_bot(c, 0, &["Silakan ketik pertanyaan"]).await;
    let mine = c
        .find_all(Locator::Css("#log .msg.me"))
        .await
        .unwrap()
        .len();
    assert_eq!(mine, 1, "the visitor's earlier choice is shown again");
    browser.close().await;
    service.stop().await;
}
