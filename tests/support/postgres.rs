//! A throwaway PostgreSQL cluster for the tests, started by the test itself (as the e-mail
//! tests start Dovecot): Debian's `postgresql` package (`.ci/run` installs it), `initdb` in a
//! temp dir, the server on a free port of 127.0.0.1 and a socket in the temp dir.
//!
//! PostgreSQL refuses to run as root, and tests run as root here and in CI: then `initdb` and
//! the server run as the `postgres` user the package creates (through `runuser`), in folders
//! handed to it. A small watchdog shell stops the server when the test process is gone, so a
//! cluster shared by a whole test binary (a `static`, never dropped) does not outlive it, and
//! removes the cluster's files then (a few hundred MB each, which filled CI's disk).
//!
//! `fsync` is off: the tests kill processes, never the machine, and what a killed server had
//! written is in the page cache. Benchmarks start their own cluster with `fsync` on.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The user the cluster's superuser is called.
pub const USER: &str = "pstbot";

/// A running cluster.
pub struct PgCluster {
    pub dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
    as_root: bool,
    fsync: bool,
    server: Option<Child>,
    databases: AtomicU64,
}

/// Debian's PostgreSQL programs (the newest version installed).
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|p| p.join("initdb").exists());
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop().unwrap_or_else(|| {
        panic!("PostgreSQL is not installed: `apt-get install -y postgresql` (as .ci/run does)")
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Runs a PostgreSQL program, as the `postgres` user when we are root.
fn program(as_root: bool, bin: &Path, name: &str) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(name));
        c
    } else {
        Command::new(bin.join(name))
    }
}

fn chown_to_postgres(p: &Path) {
    let ok = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(p)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "chown {} to postgres", p.display());
}

impl PgCluster {
    /// `initdb` and start a cluster (fsync off: see the module's note).
    pub fn start() -> PgCluster {
        Self::start_with(false)
    }

    /// [`PgCluster::start`] with `fsync` as asked (benchmarks measure with it on).
    pub fn start_with(fsync: bool) -> PgCluster {
        let bin = bin_dir();
        let dir = tempfile::tempdir().unwrap();
        let as_root =
            String::from_utf8_lossy(&Command::new("id").arg("-u").output().expect("id").stdout)
                .trim()
                == "0";
        let root = dir.path();
        std::fs::set_permissions(root, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        for d in ["data", "sock"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        if as_root {
            // The whole temp dir, so that the watchdog (the `postgres` user) can remove it.
            chown_to_postgres(root);
        }
        let out = program(as_root, &bin, "initdb")
            .args(["-D"])
            .arg(root.join("data"))
            .args([
                "-U",
                USER,
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .stdout(Stdio::null())
            .output()
            .expect("run initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut cluster = PgCluster {
            port: free_port(),
            dir,
            bin,
            as_root,
            fsync,
            server: None,
            databases: AtomicU64::new(0),
        };
        cluster.start_server();
        cluster
    }

    /// Starts the server (and its watchdog) and waits until it takes connections.
    fn start_server(&mut self) {
        let root = self.dir.path();
        let postgres = self.bin.join("postgres");
        let script = format!(
            "{postgres} -D {data} -p {port} -k {sock} -c listen_addresses=127.0.0.1 \
             -c fsync={fsync} -c max_connections=200 -c shared_buffers=64MB {wal}\
             -c log_min_messages=fatal >{log} 2>&1 & pg=$!; \
             while [ -d /proc/{me} ] && kill -0 $pg 2>/dev/null; do sleep 0.5; done; \
             kill -INT $pg 2>/dev/null; wait $pg; \
             [ -d /proc/{me} ] || rm -rf {root}",
            postgres = postgres.display(),
            data = root.join("data").display(),
            sock = root.join("sock").display(),
            port = self.port,
            fsync = if self.fsync { "on" } else { "off" },
            // Less WAL kept on disk for the tests' clusters; a benchmark's (fsync on) keeps
            // PostgreSQL's defaults, as its recorded figures were measured with them.
            wal = if self.fsync {
                ""
            } else {
                "-c max_wal_size=64MB -c min_wal_size=32MB "
            },
            log = root.join("sock").join("server.log").display(),
            me = std::process::id(),
            root = root.display(),
        );
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", &script]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &script]);
            c
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        self.server = Some(child);
        let started = Instant::now();
        while !self.ready() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "postgres did not start: {}",
                std::fs::read_to_string(root.join("sock").join("server.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn ready(&self) -> bool {
        Command::new(self.bin.join("pg_isready"))
            .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    /// Stops the server the way a database restart does (a fast shutdown: connections are cut,
    /// everything committed stays), then starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.start_server();
    }

    /// Stops the server (fast shutdown) and its watchdog.
    pub fn stop(&mut self) {
        let out = program(self.as_root, &self.bin, "pg_ctl")
            .args(["-D"])
            .arg(self.dir.path().join("data"))
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = out;
        if let Some(mut c) = self.server.take() {
            let _ = c.wait();
        }
    }

    /// The URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// A new, empty database; returns its URL.
    pub fn fresh_database(&self) -> String {
        let n = self.databases.fetch_add(1, Ordering::Relaxed);
        let name = format!("t{}_{n}", std::process::id());
        let out = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                USER,
                &name,
            ])
            .output()
            .expect("run createdb");
        assert!(
            out.status.success(),
            "createdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.url(&name)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One cluster for a whole test binary, started on first use.
pub fn shared() -> &'static PgCluster {
    static CLUSTER: std::sync::OnceLock<PgCluster> = std::sync::OnceLock::new();
    CLUSTER.get_or_init(PgCluster::start)
}
