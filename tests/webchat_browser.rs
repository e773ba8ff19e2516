//! The web chat in a real browser: headless Debian `chromium`, driven through `chromedriver`
//! (WebDriver) with fantoccini, against `pstbot serve` on 127.0.0.1 (in-process, on a sled
//! store, with the example config). A visitor opens the page on a 360 px wide screen, switches
//! the language, clicks through the menu, types answers, uploads a file, files a complaint,
//! sees its number, and sees an officer's reply arrive without reloading. Issue 21 on a 360 × 740
//! screen: the page keeps the screen's height after 50 messages; axe-core (vendored in
//! `tests/fixtures/axe-core`) finds no violation; the Menu and Lewati buttons, the officer's
//! reply style, a case number kept whole, the keyboard-open layout; the widget on another site
//! (`localhost` page, pstbot on `127.0.0.1`), fresh and resumed; the widget on a long
//! right-to-left page with its own fixed layers. Screenshots are saved under
//! `$CARGO_TARGET_DIR/test-artifacts/` (or `target/test-artifacts/`), each path printed.
//!
//! Needs `chromium` and `chromium-driver` (`.ci/run` installs them).

use crate::support;

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

/// The phone screen of issue 21: 360 × 740 CSS pixels.
const WIDTH: u32 = 360;
const HEIGHT: u32 = 740;

async fn connect(port: u16, profile: &std::path::Path, height: u32) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            // A phone-sized screen: headless windows are never narrower than 500 px.
            "mobileEmulation": {
                "deviceMetrics": { "width": WIDTH, "height": height, "pixelRatio": 1.0, "touch": false }
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
                format!("--window-size={WIDTH},{height}"),
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
        Browser::sized(HEIGHT).await
    }

    /// A browser whose screen is `height` CSS pixels tall (a phone with its keyboard open is
    /// shorter).
    async fn sized(height: u32) -> Browser {
        let driver_port = free_port();
        let driver = chromedriver(driver_port);
        let profile = tempfile::tempdir().unwrap();
        let client = connect(driver_port, profile.path(), height).await;
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

/// Runs `script` in the page (or the frame entered) and returns what it returns.
async fn js(c: &Client, script: &str) -> serde_json::Value {
    c.execute(script, vec![]).await.unwrap()
}

/// The accessibility violations axe-core (vendored, `tests/fixtures/axe-core`) finds on the
/// page, one line each.
async fn axe_violations(c: &Client) -> Vec<String> {
    let axe = std::fs::read_to_string(repo().join("tests/fixtures/axe-core/axe.min.js")).unwrap();
    c.execute(&axe, vec![]).await.unwrap();
    let found = c
        .execute_async(
            "var done = arguments[arguments.length - 1]; \
             axe.run(document, { resultTypes: ['violations'] }).then(function (r) { \
               done(r.violations.map(function (v) { return { id: v.id, impact: v.impact, \
                 help: v.help, nodes: v.nodes.map(function (n) { return n.target.join(' '); }) }; })); \
             }).catch(function (e) { done('axe failed: ' + e); });",
            vec![],
        )
        .await
        .unwrap();
    assert!(found.is_array(), "{found}");
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect()
}

/// Saves a screenshot of the browser's screen as `<artifacts>/<name>.png`.
async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let path = artifacts().join(format!("{name}.png"));
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// Opens the chat page at `url`, retrying while the service is still binding its port.
async fn open_chat(c: &Client, url: &str) {
    let started = Instant::now();
    loop {
        c.goto(url).await.unwrap();
        if c.find(Locator::Id("log")).await.is_ok() {
            return;
        }
        assert!(started.elapsed() < PATIENCE, "the page does not load");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    // Issue 21, item 4: the official name, and the greeting shown from its first line (not
    // scrolled to its bottom with "Selamat datang" hidden).
    assert!(header.contains("Pelayanan Statistik Terpadu"), "{header}");
    let greeting_top = js(
        c,
        "var m = document.querySelector('#log .msg.bot'), l = document.getElementById('log'); \
         return m.getBoundingClientRect().top - l.getBoundingClientRect().top;",
    )
    .await;
    assert!(
        greeting_top.as_f64().unwrap() >= 0.0,
        "the greeting's first line is above the conversation's top: {greeting_top}"
    );
    assert_eq!(text_of(c, Locator::Id("menu")).await, "Menu");
    let privacy = c.find(Locator::Id("privacy")).await.unwrap();
    assert_eq!(privacy.text().await.unwrap(), "Data Bapak/Ibu dilindungi");

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
    // An optional question: skipped with a button (issue 21, item 4).
    press(c, "Lewati", &["Mohon periksa", "kuesioner.pdf"]).await;
    let done = press(c, "Kirim", &["ADU-"]).await;
    let n = case_number(&done).expect("the page shows the case number");
    assert!(n.starts_with("ADU-"), "{n}");
    // The case number is on one line, never broken at its hyphens.
    let lines = js(
        c,
        &format!(
            "var s = Array.from(document.querySelectorAll('#log .nobr')).filter(function (e) {{ \
               return e.textContent === '{n}'; }}); \
             return s.map(function (e) {{ return e.getClientRects().length; }});"
        ),
    )
    .await;
    let lines: Vec<u64> = serde_json::from_value(lines).unwrap();
    assert!(
        !lines.is_empty() && lines.iter().all(|l| *l == 1),
        "line boxes of each shown {n}: {lines:?}"
    );

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
    // The officer's words are shown as theirs: named, and in a style of their own.
    let officer = text_of(c, Locator::Css("#log .msg.officer")).await;
    assert!(
        officer.starts_with("Petugas PST") && officer.contains("Tabelnya sudah kami perbaiki"),
        "{officer}"
    );
    let colours = js(
        c,
        "var bg = function (q) { return getComputedStyle(document.querySelector(q)).backgroundColor; }; \
         return [bg('#log .msg.officer'), bg('#log .msg.bot:not(.officer)')];",
    )
    .await;
    assert_ne!(
        colours[0], colours[1],
        "the officer's reply looks like the bot's"
    );
    // With an officer's reply, skip buttons, a file and a case number: still no violation.
    let violations = axe_violations(c).await;
    assert!(
        violations.is_empty(),
        "axe violations:\n{}",
        violations.join("\n")
    );

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

    shot(c, "webchat").await;

    // The Menu button is always there.
    let before = bot_texts(c).await.len();
    c.find(Locator::Id("menu"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_bot(c, before, &["Selamat datang"]).await;

    // Coming back later (a reload) shows the whole conversation again.
    c.refresh().await.unwrap();
    wait_bot(c, 0, &["Tabelnya sudah kami perbaiki"]).await;
    let all = bot_texts(c).await.join("\n");
    assert!(all.contains(&n) && all.contains("Ceritakan"), "{all}");

    // The privacy page explains; it does not ask the consent question of the chat.
    c.goto(&format!("{base}/privacy")).await.unwrap();
    let privacy = text_of(c, Locator::Css("main")).await;
    assert!(privacy.contains("Tujuan"), "{privacy}");
    assert!(
        !privacy.contains("(ya/tidak)") && !privacy.contains("setuju?"),
        "{privacy}"
    );

    browser.close().await;
    service.stop().await;
}

/// The office's own website with the one `<script>` tag of the widget: served on 127.0.0.1 but
/// opened as `http://localhost:PORT/`, another site than pstbot on `127.0.0.1` (as
/// `bengkulu.bps.go.id` is another site than pstbot on its own host). `head` and `body` are the
/// page's own styles and content.
async fn office_website(chat_port: u16, head: &str, body: &str) -> u16 {
    let html = format!(
        "<!doctype html><html lang=\"id\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>BPS Provinsi Bengkulu</title>{head}</head><body>{body}\
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

/// Opens the office page and waits for the widget's bubble.
async fn bubble_on(c: &Client, url: &str) -> fantoccini::elements::Element {
    let started = Instant::now();
    loop {
        c.goto(url).await.unwrap();
        if let Ok(b) = c
            .wait()
            .at_most(Duration::from_secs(2))
            .for_element(Locator::Css("button[aria-label*='Buka obrolan PST']"))
            .await
        {
            return b;
        }
        assert!(started.elapsed() < PATIENCE, "the widget does not appear");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_opens_the_chat_from_the_office_website_by_keyboard() {
    let service = Service::start().await;
    let port = service.port;
    let site = office_website(
        port,
        "",
        "<h1>BPS Provinsi Bengkulu</h1><p>Selamat datang di situs kami.</p>",
    )
    .await;
    let browser = Browser::start().await;
    let c = &browser.client;
    // Issue 21, item 2: the office page on `localhost`, pstbot on `127.0.0.1`: another site,
    // whose frame gets no SameSite cookie. The chat works on the page's token.
    let page = format!("http://localhost:{site}/");
    let bubble = bubble_on(c, &page).await;
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
    // The frame's page fits the frame: no second scrollbar.
    let fits = js(
        c,
        "return [document.documentElement.scrollHeight, window.innerHeight, location.hostname, \
                 window.top === window ? 'top' : 'framed'];",
    )
    .await;
    assert_eq!(fits[0], fits[1], "the frame scrolls as a whole: {fits}");
    assert_eq!(fits[2], "127.0.0.1");
    assert_eq!(fits[3], "framed");
    c.enter_parent_frame().await.unwrap();
    shot(c, "webchat-widget-cross-site").await;
    frame.clone().enter_frame().await.unwrap();
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
    // A later visit to the website: the conversation is still there (the frame kept its token
    // in its storage, which the browser keeps for this office site).
    let top = js(c, "return location.hostname;").await;
    assert_eq!(top, "localhost");
    let bubble = bubble_on(c, &page).await;
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

/// Issue 21, item 1: the page keeps the screen's height however long the conversation grows;
/// only the conversation scrolls, and the header and the text box stay on screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_messages_scroll_inside_the_conversation_and_the_page_keeps_its_height() {
    let service = Service::start().await;
    let browser = Browser::start().await;
    let c = &browser.client;
    open_chat(c, &format!("http://127.0.0.1:{}/", service.port)).await;
    wait_bot(c, 0, &["Selamat datang"]).await;
    for i in 0..25 {
        answer(c, &format!("halo {i}"), &[]).await;
    }
    let m = js(
        c,
        "var l = document.getElementById('log'); \
         return { doc: document.documentElement.scrollHeight, body: document.body.scrollHeight, \
                  view: window.innerHeight, messages: l.querySelectorAll('.msg').length, \
                  log: l.scrollHeight, logView: l.clientHeight, \
                  newest: l.lastElementChild.getBoundingClientRect().top - l.getBoundingClientRect().top, \
                  header: document.querySelector('header').getBoundingClientRect().top, \
                  box: document.getElementById('text').getBoundingClientRect().bottom };",
    )
    .await;
    eprintln!("page after 50 messages: {m}");
    assert!(m["messages"].as_u64().unwrap() >= 50, "{m}");
    assert_eq!(m["view"].as_u64(), Some(u64::from(HEIGHT)), "{m}");
    assert_eq!(m["doc"], m["view"], "the page grew: {m}");
    assert_eq!(m["body"], m["view"], "the body grew: {m}");
    assert!(m["log"].as_f64() > m["logView"].as_f64(), "{m}");
    // The newest message is in view (from its start when it is taller than the window).
    let newest = m["newest"].as_f64().unwrap();
    assert!(
        newest >= 0.0 && newest < m["logView"].as_f64().unwrap(),
        "the newest message in view: {m}"
    );
    assert_eq!(m["header"].as_f64(), Some(0.0), "{m}");
    assert!(m["box"].as_f64().unwrap() <= f64::from(HEIGHT), "{m}");
    // Scrolling the page (a wheel over the text box or the footer) moves nothing.
    let scrolled = js(c, "window.scrollTo(0, 5000); return window.scrollY;").await;
    assert_eq!(scrolled.as_f64(), Some(0.0));
    shot(c, "webchat-50-messages").await;
    browser.close().await;
    service.stop().await;
}

/// Issue 21, item 3: axe-core 4 (vendored in tests/fixtures/axe-core) finds no violation on
/// the chat page with a conversation: buttons, the visitor's answers, an officer's reply.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_finds_no_accessibility_violation_on_the_chat_page() {
    let service = Service::start().await;
    let browser = Browser::start().await;
    let c = &browser.client;
    open_chat(c, &format!("http://127.0.0.1:{}/", service.port)).await;
    wait_bot(c, 0, &["Selamat datang"]).await;
    press(c, "Informasi", &["Silakan ketik pertanyaan"]).await;
    answer(c, "Data inflasi Kota Bengkulu 2025", &[]).await;
    let mut violations = Vec::new();
    for lang in ["id", "en"] {
        if lang == "en" {
            switch_language(c, &["Language: English"]).await;
        }
        for v in axe_violations(c).await {
            violations.push(format!("[{lang}] {v}"));
        }
    }
    shot(c, "webchat-axe").await;
    assert!(
        violations.is_empty(),
        "axe violations:\n{}",
        violations.join("\n")
    );
    browser.close().await;
    service.stop().await;
}

/// Issue 21, item 4: with the on-screen keyboard open (the screen 431 px tall: 740 less a
/// 309 px keyboard, and `interactive-widget=resizes-content` makes the page follow it), the
/// conversation keeps at least 300 px and the text box stays on screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_keyboard_open_the_conversation_keeps_300_px() {
    let service = Service::start().await;
    let browser = Browser::sized(431).await;
    let c = &browser.client;
    open_chat(c, &format!("http://127.0.0.1:{}/", service.port)).await;
    wait_bot(c, 0, &["Selamat datang"]).await;
    c.find(Locator::Id("text"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let m = js(
        c,
        "var r = function (q) { return document.querySelector(q).getBoundingClientRect(); }; \
         return { view: window.innerHeight, log: r('#log').height, box: r('#text').bottom, \
                  menu: r('#menu').bottom, send: r('#send').bottom, \
                  doc: document.documentElement.scrollHeight };",
    )
    .await;
    eprintln!("keyboard open: {m}");
    assert_eq!(m["view"].as_u64(), Some(431), "{m}");
    assert!(
        m["log"].as_f64().unwrap() >= 300.0,
        "the conversation gets {m}"
    );
    assert!(m["box"].as_f64().unwrap() <= 431.0, "{m}");
    assert!(m["send"].as_f64().unwrap() <= 431.0, "{m}");
    assert!(
        m["menu"].as_f64().unwrap() > 0.0,
        "the Menu button is on screen: {m}"
    );
    assert_eq!(m["doc"].as_u64(), Some(431), "{m}");
    shot(c, "webchat-keyboard-open").await;
    browser.close().await;
    service.stop().await;
}

/// Issue 21, item 5: the widget on a real office page: long, right-to-left, with its own fixed
/// header and cookie banner at the highest z-index, a theme that styles every button and
/// iframe, and a transformed <body> (which would make a fixed bubble scroll away with the
/// page). Scrolled to the middle, the bubble is on screen and on top, and the chat opens
/// within the 360 × 740 screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_stays_reachable_on_a_long_right_to_left_page_with_its_own_fixed_layers() {
    let service = Service::start().await;
    let head = "<style>\
        html { direction: rtl; }\
        body { margin: 0; font-family: sans-serif; }\
        .masthead { position: fixed; top: 0; left: 0; right: 0; height: 64px; background: #222;\
                    color: #fff; z-index: 2147483647; }\
        .cookies { position: fixed; bottom: 0; left: 0; right: 0; height: 48px; background: #ffd;\
                   z-index: 2147483647; }\
        button { display: inline; background: red !important; width: 10px; }\
        iframe { max-width: 120px; height: 50px; border: 9px solid red; }\
        .wide { overflow-x: auto; } .wide table { width: 900px; }\
        </style>";
    let mut body = String::from(
        "<div class=\"masthead\">BPS Provinsi Bengkulu</div><div style=\"height:64px\"></div>\
         <div class=\"wide\"><table><tr><td>Tabel lebar yang bergulir ke samping, dari kanan \
         ke kiri.</td></tr></table></div>",
    );
    for i in 0..200 {
        body.push_str(&format!(
            "<p>Paragraf {i}: berita resmi statistik, publikasi, dan tabel dinamis.</p>"
        ));
    }
    body.push_str("<div class=\"cookies\">Situs ini memakai cookie.</div>");
    let site = office_website(service.port, head, &body).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    let bubble = bubble_on(c, &format!("http://localhost:{site}/")).await;
    let page = js(
        c,
        "window.scrollTo(0, document.documentElement.scrollHeight / 2); \
         return [document.documentElement.scrollHeight, window.scrollY];",
    )
    .await;
    assert!(page[0].as_f64().unwrap() > 5000.0, "a long page: {page}");
    assert!(page[1].as_f64().unwrap() > 2000.0, "scrolled: {page}");
    let on_top = "var b = arguments[0], r = b.getBoundingClientRect(); \
        var hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); \
        return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, \
                 hit: !!hit && (hit === b || b.contains(hit)), \
                 w: window.innerWidth, h: window.innerHeight };";
    let r = c
        .execute(on_top, vec![serde_json::to_value(&bubble).unwrap()])
        .await
        .unwrap();
    eprintln!("bubble: {r}");
    assert_eq!(r["hit"], true, "the bubble is covered: {r}");
    assert!(
        r["left"].as_f64().unwrap() >= 0.0 && r["top"].as_f64().unwrap() >= 0.0,
        "{r}"
    );
    assert!(
        r["right"].as_f64().unwrap() <= r["w"].as_f64().unwrap(),
        "{r}"
    );
    assert!(
        r["bottom"].as_f64().unwrap() <= r["h"].as_f64().unwrap(),
        "{r}"
    );
    bubble.click().await.unwrap();
    let frame = appears(c, "iframe[src*='/chat?embed=1']").await;
    let r = c
        .execute(on_top, vec![serde_json::to_value(&frame).unwrap()])
        .await
        .unwrap();
    eprintln!("frame: {r}");
    assert_eq!(r["hit"], true, "the chat is covered: {r}");
    assert!(
        r["left"].as_f64().unwrap() >= 0.0 && r["top"].as_f64().unwrap() >= 0.0,
        "{r}"
    );
    assert!(r["right"].as_f64().unwrap() <= f64::from(WIDTH), "{r}");
    assert!(r["bottom"].as_f64().unwrap() <= f64::from(HEIGHT), "{r}");
    assert!(
        r["bottom"].as_f64().unwrap() - r["top"].as_f64().unwrap() >= 400.0,
        "{r}"
    );
    frame.clone().enter_frame().await.unwrap();
    wait_bot(c, 0, &["Selamat datang"]).await;
    c.enter_parent_frame().await.unwrap();
    shot(c, "webchat-widget-office-page").await;
    // A theme with a transformed <body> (fixed elements inside it scroll away with the page):
    // closed and scrolled further, the bubble is still on screen and on top.
    bubble.click().await.unwrap();
    js(
        c,
        "document.body.style.transform = 'translateZ(0)'; window.scrollTo(0, 4000); return 0;",
    )
    .await;
    let r = c
        .execute(on_top, vec![serde_json::to_value(&bubble).unwrap()])
        .await
        .unwrap();
    eprintln!("bubble over a transformed body: {r}");
    assert_eq!(r["hit"], true, "{r}");
    assert!(
        r["top"].as_f64().unwrap() >= 0.0
            && r["bottom"].as_f64().unwrap() <= r["h"].as_f64().unwrap(),
        "{r}"
    );
    shot(c, "webchat-widget-transformed-body").await;
    browser.close().await;
    service.stop().await;
}

/// Issue 21, item 5: an office page wider than the phone (a wide table makes the whole page
/// scroll sideways, right to left): the browser's fixed layer is as wide as the page, and the
/// bubble must follow the part on screen. Scrolled to the far left (the end of a right-to-left
/// page), the bubble is on screen, and the chat opens within the 360 px screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_page_wider_than_the_phone_the_bubble_follows_the_screen() {
    let service = Service::start().await;
    let head = "<style>html { direction: rtl; } table { width: 900px; }</style>";
    let mut body = String::from(
        "<h1>BPS Provinsi Bengkulu</h1><table><tr><td>Tabel lebar yang bergulir</td></tr></table>",
    );
    for i in 0..60 {
        body.push_str(&format!("<p>Paragraf {i}: tabel dinamis.</p>"));
    }
    let site = office_website(service.port, head, &body).await;
    let browser = Browser::start().await;
    let c = &browser.client;
    let bubble = bubble_on(c, &format!("http://localhost:{site}/")).await;
    // Where an element is, against the part of the page on screen.
    let on_screen = "var r = arguments[0].getBoundingClientRect(), v = window.visualViewport; \
        return { left: r.left - v.offsetLeft, right: r.right - v.offsetLeft, \
                 top: r.top - v.offsetTop, bottom: r.bottom - v.offsetTop, \
                 w: v.width, h: v.height, page: window.innerWidth };";
    for (x, y) in [(-10_000, 0), (-10_000, 10_000), (0, 400)] {
        js(c, &format!("window.scrollTo({x}, {y}); return 0;")).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let r = c
            .execute(on_screen, vec![serde_json::to_value(&bubble).unwrap()])
            .await
            .unwrap();
        eprintln!("bubble, scrolled to {x},{y}: {r}");
        assert!(
            r["page"].as_f64().unwrap() > 500.0,
            "a page wider than the phone: {r}"
        );
        let f = |k: &str| r[k].as_f64().unwrap();
        assert!(
            f("left") >= 0.0 && f("right") <= f("w") && f("top") >= 0.0 && f("bottom") <= f("h"),
            "the bubble is off screen: {r}"
        );
    }
    js(c, "window.scrollTo(-10000, 0); return 0;").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    bubble.click().await.unwrap();
    let frame = appears(c, "iframe[src*='/chat?embed=1']").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = c
        .execute(on_screen, vec![serde_json::to_value(&frame).unwrap()])
        .await
        .unwrap();
    eprintln!("frame: {r}");
    let f = |k: &str| r[k].as_f64().unwrap();
    assert!(
        f("left") >= 0.0 && f("right") <= f("w") && f("top") >= 0.0 && f("bottom") <= f("h"),
        "the chat is off screen: {r}"
    );
    assert!(f("right") - f("left") >= 300.0, "{r}");
    frame.clone().enter_frame().await.unwrap();
    wait_bot(c, 0, &["Selamat datang"]).await;
    c.enter_parent_frame().await.unwrap();
    shot(c, "webchat-widget-wide-rtl-page").await;
    browser.close().await;
    service.stop().await;
}
