//! The service's control socket, and the CLI verbs that go through it.
//!
//! sled allows one process per store, so while `pstbot serve` runs, `pstbot backup`,
//! `pstbot report` and `pstbot export` ask the service over a Unix socket in the store folder
//! (`admin.sock`, mode 0600: only the service's own user can use it): the service writes the
//! backup or the report, or reads the guest book. With no service running, each command opens
//! the store itself. The reports themselves are built from a store by [`crate::reports`]; this
//! module only decides who holds the store.

use super::write_backup_of;
use crate::config::Config;
use crate::config::StoreBackend;
use crate::dialogs::Bot;
use crate::store::open::OpenStore;
use crate::store::{Store, StoreError};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

/// The service's control socket in the store folder.
pub fn socket_path(config: &Config) -> PathBuf {
    config.store.path.join("admin.sock")
}

/// What the control socket serves with: the running service's pieces.
#[derive(Clone)]
pub struct Control {
    pub store: OpenStore,
    pub rt: Arc<crate::runtime::Runtime>,
}

impl Control {
    /// Answers one request line: `ok …` on the first line (and a body after it), or `error …`.
    fn answer(&self, line: &str) -> Vec<u8> {
        let words: Vec<&str> = line.split(' ').collect();
        let r: crate::Result<(String, Vec<u8>)> = match words[..] {
            ["backup", file] if Path::new(file).is_absolute() => {
                tracing::info!("backup requested");
                write_backup_of(&self.store, Path::new(file))
                    .map(|s| (format!("{} {} {}", s.trees, s.entries, s.bytes), Vec::new()))
            }
            ["report", month, dir] if Path::new(dir).is_absolute() => crate::reports::monthly_to(
                self.rt.store.as_ref(),
                &self.rt.bot,
                month,
                Path::new(dir),
            )
            .map(|text| (String::new(), text.into_bytes())),
            ["verify"] => super::verify_open(&self.store).map(|(ok, lines)| {
                (
                    if ok { "sound" } else { "damaged" }.to_string(),
                    lines.join("\n").into_bytes(),
                )
            }),
            ["salvage", file] if Path::new(file).is_absolute() => {
                tracing::warn!("salvage requested");
                super::salvage_open(&self.store, Path::new(file)).map(|(s, lines)| {
                    (
                        format!("{} {} {}", s.trees, s.entries, s.bytes),
                        lines.join("\n").into_bytes(),
                    )
                })
            }
            ["export-guestbook", from, to] => {
                crate::reports::guestbook_csv(self.rt.store.as_ref(), &self.rt.bot, from, to)
                    .map(|(n, csv)| (n.to_string(), csv))
            }
            _ => Err(crate::Error::msg(
                "expected `backup /FILE`, `salvage /FILE`, `verify`, `report YYYY-MM /DIR` or `export-guestbook FROM TO`",
            )),
        };
        match r {
            Ok((head, body)) => {
                let mut out = format!("ok {head}\n").into_bytes();
                out.extend(body);
                out
            }
            Err(e) => format!("error {}\n", e.to_string().replace('\n', " ")).into_bytes(),
        }
    }
}

/// Serves the control socket (backups, reports and exports while the service holds the
/// store) until `stop`.
pub async fn serve_socket(
    control: Control,
    path: PathBuf,
    stop: CancellationToken,
) -> crate::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    loop {
        let conn = tokio::select! {
            c = listener.accept() => c,
            _ = stop.cancelled() => break,
        };
        let Ok((stream, _)) = conn else { continue };
        let control = control.clone();
        tokio::spawn(async move {
            let (rd, mut wr) = stream.into_split();
            let mut line = String::new();
            let mut rd = BufReader::new(rd.take(4096));
            if rd.read_line(&mut line).await.is_err() {
                return;
            }
            let line = line.trim_end().to_string();
            let reply = tokio::task::spawn_blocking(move || control.answer(&line))
                .await
                .unwrap_or_else(|e| format!("error {e}\n").into_bytes());
            let _ = wr.write_all(&reply).await;
        });
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// Sends one request to the running service. `None` when no service is running (nothing
/// listens on the socket); otherwise the rest of the `ok` line and the body.
pub fn ask_service(config: &Config, line: &str) -> crate::Result<Option<(String, Vec<u8>)>> {
    use std::io::{BufRead, Read, Write};
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(socket_path(config)) else {
        return Ok(None);
    };
    stream.write_all(format!("{line}\n").as_bytes())?;
    let mut rd = std::io::BufReader::new(stream);
    let mut head = String::new();
    rd.read_line(&mut head)?;
    let head = head.trim_end();
    if let Some(err) = head.strip_prefix("error ") {
        return Err(crate::Error::msg(format!(
            "the running service refused: {err}"
        )));
    }
    let Some(rest) = head.strip_prefix("ok") else {
        return Err(crate::Error::msg(format!(
            "unexpected answer from the running service: {head:?}"
        )));
    };
    let mut body = Vec::new();
    rd.read_to_end(&mut body)?;
    Ok(Some((rest.trim_start().to_string(), body)))
}

/// Opens the store of a config for a one-off command. sled allows one process at a time,
/// so this fails with a clear word while `pstbot serve` runs on the same store.
fn open_store(config: &Config) -> crate::Result<std::sync::Arc<dyn Store>> {
    // A shared database: opened beside the running services.
    if config.store.backend == StoreBackend::Postgres {
        return Ok(OpenStore::open(&config.store)?.store());
    }
    if !config.store.path.exists() {
        return Err(crate::Error::Report(crate::reports::ReportError::Input(
            format!(
                "no store at {} (has `pstbot serve` ever run with this config?)",
                config.store.path.display()
            ),
        )));
    }
    match crate::store::sled::SledStore::open_with(
        &config.store.path,
        config.store.cache_mb,
        config.store.compression,
    ) {
        Ok(s) => Ok(std::sync::Arc::new(s)),
        Err(StoreError::Engine(e)) if e.contains("lock") || e.contains("WouldBlock") => Err(
            crate::Error::Report(crate::reports::ReportError::Input(format!(
                "the store at {} is in use by a running `pstbot serve`; use the officers' `laporan` command in the admin chat, or run this while the service is stopped",
                config.store.path.display()
            ))),
        ),
        Err(e) => Err(e.into()),
    }
}

/// `pstbot report --month YYYY-MM [--out DIR]`: writes the monthly report (one CSV per table,
/// the XLSX workbook and the chart) to `out` (default: `reports.out_dir`/YYYY-MM) and returns
/// the summary with the files written. While `pstbot serve` runs, the service writes it.
pub fn run_monthly(config: &Config, month: &str, out: Option<&Path>) -> crate::Result<String> {
    let bot = Bot::load(config)?;
    let period = crate::reports::Period::month(&bot.calendar, month)?;
    let dir = std::path::absolute(
        out.map(Path::to_path_buf)
            .unwrap_or_else(|| config.reports.out_dir.join(period.key())),
    )?;
    if let Some((_, text)) = ask_service(config, &format!("report {month} {}", dir.display()))? {
        return Ok(String::from_utf8_lossy(&text).into_owned());
    }
    let store = open_store(config)?;
    crate::reports::monthly_to(store.as_ref(), &bot, month, &dir)
}

/// `pstbot export guestbook --from DATE --to DATE [--out FILE]`: the visit register of the
/// days `from..=to` as CSV, with personal data (the admin runs it on the server; recorded in
/// the audit log). Without `out`, the CSV goes to `sink` (standard output). Returns how many
/// visits were written. While `pstbot serve` runs, the service reads the store.
pub fn run_guestbook_export(
    config: &Config,
    from: &str,
    to: &str,
    out: Option<&Path>,
    sink: &mut dyn std::io::Write,
) -> crate::Result<usize> {
    let bot = Bot::load(config)?;
    let (n, bytes) = match ask_service(config, &format!("export-guestbook {from} {to}"))? {
        Some((head, body)) => (head.trim().parse().unwrap_or(0), body),
        None => {
            let store = open_store(config)?;
            crate::reports::guestbook_csv(store.as_ref(), &bot, from, to)?
        }
    };
    match out {
        Some(path) => {
            crate::reports::write_file(path, &bytes)?;
        }
        None => sink.write_all(&bytes)?,
    }
    Ok(n)
}
