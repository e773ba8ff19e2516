//! Disk trouble: a child `pstbot serve` whose store lives on a small tmpfs that fills up.
//! While the disk is full the service stays up, refuses new work (webhooks answer 503 so the
//! gateway retries, `/healthz` says the store is unavailable), logs the trouble once, and takes
//! work again by itself once space returns — nothing acknowledged is lost, nothing refused is
//! half-done. A store folder that is read-only at start is refused with a clear error.
//!
//! Needs root (it mounts a tmpfs); prints why and passes without checking otherwise.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use support::gateway::FakeGateway;

const SECRET: &str = "disk-secret";

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A tmpfs mounted for the test, unmounted (and the child killed) however the test ends.
struct Mounted {
    dir: PathBuf,
    child: Option<Child>,
}

impl Mounted {
    fn new(dir: &Path, size: &str, options: &str) -> Option<Mounted> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}{options}"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        ok.then(|| Mounted {
            dir: dir.to_path_buf(),
            child: None,
        })
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

fn write_config(dir: &Path, port: u16, gateway: &str) -> PathBuf {
    let path = support::config_file(dir, &format!("127.0.0.1:{port}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let text = format!(
        "{text}\n[sms]\ngateway_url = \"{gateway}\"\napi_key = \"k\"\nwebhook_secret = \"{SECRET}\"\n\n\
         [delivery]\nbackoff_initial = \"50ms\"\nbackoff_max = \"500ms\"\n\n\
         [delivery.limits.sms]\nper_chat_per_minute = 6000\ngroup_per_minute = 6000\nper_second = 1000\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn spawn(config: &Path, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_pstbot"))
        .arg("--config")
        .arg(config)
        .arg("serve")
        .env_remove("PSTBOT_CONFIG")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("pstbot starts")
}

async fn health(client: &reqwest::Client, port: u16) -> Option<(u16, serde_json::Value)> {
    let r = client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.json().await.unwrap_or_default()))
}

async fn wait_health(client: &reqwest::Client, port: u16, want: u16, secs: u64) -> bool {
    for _ in 0..secs * 10 {
        if health(client, port).await.is_some_and(|(s, _)| s == want) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

async fn sms(client: &reqwest::Client, port: u16, id: &str, from: &str, text: &str) -> u16 {
    client
        .post(format!("http://127.0.0.1:{port}/webhook/sms"))
        .header("x-sms-secret", SECRET)
        .json(&serde_json::json!({ "id": id, "from": from, "text": text }))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// A web chat post as a browser on the service's own page makes it.
fn web(
    client: &reqwest::Client,
    port: u16,
    path: &str,
    cookie: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut b = client
        .post(format!("http://127.0.0.1:{port}{path}"))
        .header("origin", format!("http://127.0.0.1:{port}"))
        .header("sec-fetch-site", "same-origin")
        .header("x-pstbot-chat", "1")
        .header("content-type", "application/json");
    if let Some(c) = cookie {
        b = b.header("cookie", format!("pstbot_session={c}"));
    }
    b
}

/// Fills the file system of `dir` up to the last byte.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0xAAu8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
    path
}

fn count(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_refuses_work_logs_once_and_recovers_without_restart() {
    if !is_root() {
        println!("SKIPPED: mounting a tmpfs needs root; disk trouble not checked");
        return;
    }
    let gw = FakeGateway::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(mut mount) = Mounted::new(&dir.path().join("data"), "6m", "") else {
        println!("SKIPPED: `mount -t tmpfs` failed (no privilege in this container?)");
        return;
    };
    let port = support::free_port();
    let config = write_config(dir.path(), port, &gw.url());
    let log = dir.path().join("serve.log");
    mount.child = Some(spawn(&config, &log));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert!(
        wait_health(&client, port, 200, 30).await,
        "pstbot did not start"
    );

    // Healthy: a message is taken and answered.
    assert_eq!(
        sms(&client, port, "ok-1", "+6281300000001", "halo").await,
        200
    );
    assert!(
        gw.wait_for(Duration::from_secs(20), |rs| rs
            .iter()
            .any(|r| r.reference.starts_with("sms:ok-1#")))
            .await,
        "no reply while healthy"
    );

    // A web chat visitor opened the page before the disk filled.
    let r = web(&client, port, "/api/web/session", None)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim_start_matches("pstbot_session=").to_string())
        .expect("a session cookie");

    // The disk fills up. Messages may still be taken while sled buffers; the first refusal
    // comes soon, and from then on every message is refused with 503 until space returns.
    let filler = fill(&mount.dir);
    let mut acked = vec!["ok-1".to_string()];
    let mut refused = Vec::new();
    for i in 0..400 {
        let id = format!("full-{i}");
        let from = format!("+62813000001{:02}", i % 50);
        match sms(&client, port, &id, &from, "halo").await {
            200 => acked.push(id),
            503 => {
                refused.push((id, from));
                break;
            }
            s => panic!("unexpected answer {s} while the disk fills"),
        }
    }
    assert!(!refused.is_empty(), "a full disk never refused a message");
    for i in 0..30 {
        let id = format!("refused-{i}");
        let from = format!("+62813000002{:02}", i % 10);
        assert_eq!(
            sms(&client, port, &id, &from, "halo").await,
            503,
            "a message was taken while the store cannot write"
        );
        refused.push((id, from));
    }
    // The web chat visitor is asked, in both languages, to try again shortly.
    let r = web(&client, port, "/api/web/messages", Some(&cookie))
        .body(r#"{"id":"web-1","text":"halo"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let said = r.text().await.unwrap();
    assert!(
        said.contains("coba lagi sebentar lagi") && said.contains("try again shortly"),
        "{said}"
    );
    let (status, body) = health(&client, port).await.expect("the service stays up");
    assert_eq!(status, 503, "/healthz must report the store: {body}");
    assert_eq!(body["status"], "store unavailable");
    // The trouble is logged once, not once per refused request.
    assert_eq!(
        count(&log, "the store cannot write"),
        1,
        "log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // Space returns: the service takes work again by itself.
    std::fs::remove_file(&filler).unwrap();
    assert!(
        wait_health(&client, port, 200, 60).await,
        "the store did not recover after space returned"
    );
    // The gateway retries what was refused; all of it is taken now.
    for (id, from) in &refused {
        assert_eq!(sms(&client, port, id, from, "halo").await, 200, "{id}");
        acked.push(id.clone());
    }
    let r = web(&client, port, "/api/web/messages", Some(&cookie))
        .body(r#"{"id":"web-1","text":"halo"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the web chat takes the message again");
    let all_answered = |rs: &[support::gateway::Received]| {
        acked.iter().all(|id| {
            let prefix = format!("sms:{id}#");
            rs.iter()
                .any(|r| r.status == 200 && r.reference.starts_with(&prefix))
        })
    };
    let answered = gw.wait_for(Duration::from_secs(60), all_answered).await;
    let rs = gw.delivered();
    let missing: Vec<&String> = acked
        .iter()
        .filter(|id| {
            let prefix = format!("sms:{id}#");
            !rs.iter().any(|r| r.reference.starts_with(&prefix))
        })
        .collect();
    assert!(answered, "acknowledged but never answered: {missing:?}");
    assert_eq!(count(&log, "the store cannot write"), 1);
    assert_eq!(count(&log, "the store takes writes again"), 1);
    println!(
        "disk trouble: {} messages acknowledged and answered, {} refused with 503 then taken on retry",
        acked.len() - refused.len(),
        refused.len()
    );

    // And the store is sound after a kill and a start on the same disk.
    let mut child = mount.child.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    pstbot::store::sled::SledStore::open(&mount.dir, 8).expect("the store opens without repair");
}

/// Issue 17, item 6: the web chat alone on a disk that fills up. The first post the store
/// cannot take is answered 503 "try again shortly" (not 500), like every one after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_web_post_on_a_full_disk_is_503() {
    if !is_root() {
        println!("SKIPPED: mounting a tmpfs needs root; disk trouble not checked");
        return;
    }
    let gw = FakeGateway::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let Some(mut mount) = Mounted::new(&dir.path().join("data"), "6m", "") else {
        println!("SKIPPED: `mount -t tmpfs` failed (no privilege in this container?)");
        return;
    };
    let port = support::free_port();
    let config = write_config(dir.path(), port, &gw.url());
    // Roomy limits: this test posts until the disk refuses, not until a limit does.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(
            "messages_per_minute_per_session = 30",
            "messages_per_minute_per_session = 100000",
        )
        .replace(
            "messages_per_minute_per_ip = 120",
            "messages_per_minute_per_ip = 100000",
        );
    std::fs::write(&config, text).unwrap();
    let log = dir.path().join("serve.log");
    mount.child = Some(spawn(&config, &log));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert!(
        wait_health(&client, port, 200, 30).await,
        "pstbot did not start"
    );
    let r = web(&client, port, "/api/web/session", None)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim_start_matches("pstbot_session=").to_string())
        .expect("a session cookie");
    let _filler = fill(&mount.dir);
    let mut answers = Vec::new();
    for i in 0..2000 {
        let r = web(&client, port, "/api/web/messages", Some(&cookie))
            .body(format!(r#"{{"id":"full-{i}","text":"halo {i}"}}"#))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let body = r.text().await.unwrap_or_default();
        answers.push(status);
        if status != 200 {
            assert_eq!(
                status,
                503,
                "the first refused web post (after {} taken): {body}",
                answers.len() - 1
            );
            assert!(body.contains("try again shortly"), "{body}");
            break;
        }
    }
    assert_ne!(
        answers.last(),
        Some(&200),
        "a full disk never refused a web post"
    );
    for i in 0..5 {
        let r = web(&client, port, "/api/web/messages", Some(&cookie))
            .body(format!(r#"{{"id":"again-{i}","text":"halo"}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
    }
    println!(
        "web posts on a filling disk: {} taken, then 503",
        answers.len() - 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_store_folder_is_refused_at_start_with_a_clear_error() {
    if !is_root() {
        println!("SKIPPED: mounting a tmpfs needs root; read-only store not checked");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let Some(mount) = Mounted::new(&dir.path().join("data"), "4m", ",ro") else {
        println!("SKIPPED: `mount -t tmpfs` failed (no privilege in this container?)");
        return;
    };
    let gw = FakeGateway::start(vec![]).await;
    let config = write_config(dir.path(), support::free_port(), &gw.url());
    let out = Command::new(env!("CARGO_BIN_EXE_pstbot"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env_remove("PSTBOT_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "pstbot served on a read-only store");
    assert!(
        err.contains(&mount.dir.display().to_string()) && err.contains("Read-only"),
        "the error must name the folder and the cause: {err}"
    );
}
