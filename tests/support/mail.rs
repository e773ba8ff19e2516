//! Real mail servers on 127.0.0.1 for the e-mail tests, started and stopped by the test:
//! Dovecot (IMAP, Debian's `dovecot-imapd`) with a throwaway user in a temp dir, and an SMTP
//! sink on aiosmtpd (Debian's `python3-aiosmtpd`, see `smtp_sink.py`). `.ci/run` installs both.

use async_imap::Session;
use futures_util::StreamExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const USER: &str = "pst@bps.example";
pub const PASSWORD: &str = "rahasia-uji";
pub const DOMAIN: &str = "bps.example";

/// A mail as the SMTP sink received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub rcpt: Vec<String>,
    pub raw: Vec<u8>,
}

impl Received {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("a mail")
    }
    pub fn header(&self, name: &str) -> String {
        self.parsed()
            .header_raw(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    }
    pub fn text(&self) -> String {
        self.parsed()
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default()
    }
}

pub struct MailServers {
    pub dir: tempfile::TempDir,
    pub imap_port: u16,
    pub smtp_port: u16,
    dovecot: Child,
    smtp: Child,
}

fn sh(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().expect("run");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn dovecot_binary() -> PathBuf {
    for p in ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"] {
        if Path::new(p).exists() {
            return PathBuf::from(p);
        }
    }
    panic!(
        "dovecot is not installed: `apt-get install -y dovecot-imapd python3-aiosmtpd` (as .ci/run does)"
    );
}

impl MailServers {
    pub fn start() -> MailServers {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        // Dovecot's unprivileged processes must reach the mail and socket folders.
        std::fs::set_permissions(root, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        for d in ["run", "mail", "sink"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        let as_root = sh("id", &["-u"]) == "0";
        let (internal, login, mail_user) = if as_root {
            (
                "dovecot".to_string(),
                "dovenull".to_string(),
                "dovecot".to_string(),
            )
        } else {
            let me = sh("id", &["-un"]);
            (me.clone(), me.clone(), me)
        };
        if as_root {
            let uid: u32 = sh("id", &["-u", &mail_user]).parse().unwrap();
            let gid: u32 = sh("id", &["-g", &mail_user]).parse().unwrap();
            std::os::unix::fs::chown(root.join("mail"), Some(uid), Some(gid)).unwrap();
        }
        let imap_port = super::free_port();
        let r = root.display();
        let conf = format!(
            r#"protocols = imap
listen = 127.0.0.1
base_dir = {r}/run
state_dir = {r}/run/state
instance_name = pstbot-test-{imap_port}
log_path = {r}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal}
default_login_user = {login}
first_valid_uid = 0
mail_location = maildir:{r}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {r}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_user} home={r}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"#
        );
        std::fs::write(root.join("dovecot.conf"), conf).unwrap();
        std::fs::write(
            root.join("users"),
            format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"),
        )
        .unwrap();
        let dovecot = Command::new(dovecot_binary())
            .arg("-F")
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdin(Stdio::null())
            .spawn()
            .expect("start dovecot");
        let smtp_port = super::free_port();
        let script = super::repo().join("tests/support/smtp_sink.py");
        let smtp = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(root.join("sink"))
            .arg(smtp_port.to_string())
            .stdin(Stdio::null())
            .spawn()
            .expect("start the SMTP sink (/usr/bin/python3 with python3-aiosmtpd)");
        let servers = MailServers {
            dir,
            imap_port,
            smtp_port,
            dovecot,
            smtp,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", imap_port)).is_err()
            || !servers.dir.path().join("sink/ready").exists()
        {
            assert!(
                Instant::now() < deadline,
                "mail servers did not start; dovecot log:\n{}",
                std::fs::read_to_string(servers.dir.path().join("dovecot.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        servers
    }

    /// The `[email]` section for these servers.
    pub fn email_section(&self) -> String {
        format!(
            r#"
[email]
smtp_host = "127.0.0.1"
smtp_port = {}
smtp_security = "none"
from_address = "{USER}"
from_name = "PST BPS Provinsi Bengkulu"
reply_to = "{USER}"
signature = "Pelayanan Statistik Terpadu\nBPS Provinsi Bengkulu"
imap_host = "127.0.0.1"
imap_port = {}
imap_security = "none"
imap_user = "{USER}"
imap_password = "{PASSWORD}"
imap_folder = "INBOX"
poll_seconds = 1
"#,
            self.smtp_port, self.imap_port
        )
    }

    async fn session(&self) -> Session<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.imap_port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap();
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .unwrap()
    }

    /// Delivers a mail into the inbox (IMAP APPEND), as a mail server would.
    pub async fn deliver(&self, raw: &str) {
        let mut s = self.session().await;
        s.append(
            "INBOX",
            None,
            None,
            raw.replace('\n', "\r\n").replace("\r\r\n", "\r\n"),
        )
        .await
        .unwrap();
        s.logout().await.unwrap();
    }

    /// The flags of every mail in the inbox, by UID.
    pub async fn flags(&self) -> Vec<(u32, Vec<String>)> {
        let mut s = self.session().await;
        s.select("INBOX").await.unwrap();
        let mut out = Vec::new();
        {
            let mut f = s.uid_fetch("1:*", "FLAGS").await.unwrap();
            while let Some(m) = f.next().await {
                let m = m.unwrap();
                out.push((
                    m.uid.unwrap_or(0),
                    m.flags().map(|f| format!("{f:?}")).collect(),
                ));
            }
        }
        s.logout().await.unwrap();
        out.sort();
        out
    }

    /// How many mails `folder` holds (0 when it does not exist).
    pub async fn count(&self, folder: &str) -> u32 {
        let mut s = self.session().await;
        let n = s.select(folder).await.map(|m| m.exists).unwrap_or(0);
        s.logout().await.unwrap();
        n
    }

    /// Takes pstbot's marks off every mail: what the mailbox looks like when pstbot crashed
    /// after handling mail and before marking it.
    pub async fn unmark_all(&self) {
        let mut s = self.session().await;
        s.select("INBOX").await.unwrap();
        {
            let updates: Vec<_> = s
                .uid_store("1:*", "-FLAGS (\\Seen $PstbotHandled)")
                .await
                .unwrap()
                .collect()
                .await;
            for u in updates {
                u.unwrap();
            }
        }
        s.logout().await.unwrap();
    }

    /// Every mail the SMTP sink accepted, in order.
    pub fn sent(&self) -> Vec<Received> {
        let sink = self.dir.path().join("sink");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&sink)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|p| Received {
                rcpt: std::fs::read_to_string(p.with_extension("rcpt"))
                    .unwrap_or_default()
                    .lines()
                    .map(str::to_string)
                    .collect(),
                raw: std::fs::read(&p).unwrap(),
            })
            .collect()
    }

    /// The mails sent to `addr`.
    pub fn sent_to(&self, addr: &str) -> Vec<Received> {
        self.sent()
            .into_iter()
            .filter(|m| m.rcpt.iter().any(|r| r.eq_ignore_ascii_case(addr)))
            .collect()
    }

    /// Waits (up to a minute) until `cond` holds.
    pub async fn wait_for(&self, what: &str, mut cond: impl AsyncFnMut(&MailServers) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !cond(self).await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for MailServers {
    fn drop(&mut self) {
        for c in [&mut self.dovecot, &mut self.smtp] {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
        }
        for c in [&mut self.dovecot, &mut self.smtp] {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match c.try_wait() {
                    Ok(Some(_)) => break,
                    _ if Instant::now() > deadline => {
                        let _ = c.kill();
                        let _ = c.wait();
                        break;
                    }
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
    }
}
