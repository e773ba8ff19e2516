//! `pstbot serve` child processes on one PostgreSQL database (for the scale-out tests that run
//! the real binary: the mailbox lease, the CLI beside running services), and the binary's
//! other commands run against the same database.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// A child `pstbot serve`, SIGKILLed however the test ends.
pub struct Serving {
    pub child: Child,
    pub port: u16,
    /// Its config file (backend `postgres`; the URL comes from `PSTBOT_STORE_URL`).
    pub config: PathBuf,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serving {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// Writes a config for a process on PostgreSQL in a folder of its own under `dir`, listening
/// on `port`, changed by `edit`, with `extra` appended; returns its path.
pub fn postgres_config(
    dir: &Path,
    port: u16,
    extra: &str,
    edit: impl Fn(String) -> String,
) -> PathBuf {
    let sub = dir.join(format!("p{port}"));
    std::fs::create_dir_all(&sub).unwrap();
    let path = super::config_file(&sub, &format!("127.0.0.1:{port}"));
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "[store]\n",
        "[store]\nbackend = \"postgres\"\n",
        1,
    );
    std::fs::write(&path, format!("{}\n{extra}", edit(text))).unwrap();
    path
}

/// Starts `pstbot serve` on the database `url` with `extra` config, and waits for `/healthz`.
pub async fn serve(dir: &Path, url: &str, extra: &str) -> Serving {
    serve_edited(dir, url, extra, |t| t).await
}

/// [`serve`] with the example config changed by `edit` first.
pub async fn serve_edited(
    dir: &Path,
    url: &str,
    extra: &str,
    edit: impl Fn(String) -> String,
) -> Serving {
    let port = super::free_port();
    let config = postgres_config(dir, port, extra, edit);
    let child = Command::new(env!("CARGO_BIN_EXE_pstbot"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .env_remove("PSTBOT_CONFIG")
        .env("PSTBOT_STORE_URL", url)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("pstbot starts");
    let serving = Serving {
        child,
        port,
        config,
    };
    let client = reqwest::Client::new();
    for _ in 0..600 {
        if let Ok(r) = client.get(serving.url("/healthz")).send().await
            && r.status() == 200
        {
            return serving;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("pstbot serve did not become healthy");
}

/// Runs `pstbot --config CONFIG ARGS…` on the database `url` (as an administrator beside the
/// running services would) and returns what it did.
pub fn pstbot(config: &Path, url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pstbot"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("PSTBOT_CONFIG")
        .env("PSTBOT_STORE_URL", url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("pstbot runs")
}

/// [`pstbot`] that must succeed; returns its standard output.
pub fn succeeds(config: &Path, url: &str, args: &[&str]) -> String {
    let out = pstbot(config, url, args);
    assert!(
        out.status.success(),
        "pstbot {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    client
}

/// The pid in a lease holder's name (`host-pid-random`).
pub fn pid_of(holder: &str) -> u32 {
    holder.rsplit('-').nth(1).unwrap().parse().unwrap()
}

/// The process holding the lease `name` now, if any (its pid).
pub async fn lease_holder(db: &tokio_postgres::Client, name: &str) -> Option<u32> {
    db.query_opt(
        "SELECT holder FROM leases WHERE name = $1 AND until > now()",
        &[&name],
    )
    .await
    .unwrap()
    .map(|r| pid_of(r.get(0)))
}

/// How many established TCP connections process `pid` has to `port` on this machine (read
/// from `/proc`: the sockets among its open files that `/proc/net/tcp` lists as connected to
/// that port).
pub fn connections_to(pid: u32, port: u16) -> usize {
    let mut inodes = std::collections::BTreeSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let remote_port = f
                .get(2)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            // State 01: established.
            if remote_port == Some(port) && f.get(3) == Some(&"01") {
                inodes.insert(f[9].to_string());
            }
        }
    }
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter(|l| {
                    let l = l.to_string_lossy();
                    l.strip_prefix("socket:[")
                        .and_then(|s| s.strip_suffix(']'))
                        .is_some_and(|i| inodes.contains(i))
                })
                .count()
        })
        .unwrap_or(0)
}

/// `pstbot chat --as USER` on the database `url` with `script` piped in (one message a line);
/// what it printed. It must succeed.
pub fn chat(config: &Path, url: &str, user: &str, script: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_pstbot"))
        .arg("--config")
        .arg(config)
        .args(["chat", "--as", user])
        .env_remove("PSTBOT_CONFIG")
        .env("PSTBOT_STORE_URL", url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pstbot chat starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "chat failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
