//! `pstbot backup FILE` and `pstbot restore FILE`, and the service's control socket.
//!
//! sled allows one process per store, so while `pstbot serve` runs, `pstbot backup` asks the
//! service for the snapshot over a Unix socket in the store folder (`admin.sock`, mode 0600:
//! only the service's own user can use it). The service writes the file (to `FILE.part`, then
//! renamed, so a file named FILE is always complete). With no service running, the command
//! opens the store itself. `pstbot report` and `pstbot export` use the same socket. Restore goes into an empty store folder only, with the service
//! stopped.

use crate::config::Config;
use crate::store::backup::BackupStats;
use crate::store::sled::SledStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

/// The service's control socket in the store folder.
pub fn socket_path(config: &Config) -> PathBuf {
    config.store.path.join("admin.sock")
}

/// Writes a snapshot of `store` to `file` (through `FILE.part`, renamed when complete).
pub fn write_backup(store: &SledStore, file: &Path) -> crate::Result<BackupStats> {
    let mut part = file.as_os_str().to_owned();
    part.push(".part");
    let part = PathBuf::from(part);
    let out = std::fs::File::create(&part)?;
    let mut w = std::io::BufWriter::new(out);
    let stats = store.backup_to(&mut w)?;
    let out = w.into_inner().map_err(|e| e.into_error())?;
    out.sync_all()?;
    std::fs::rename(&part, file)?;
    Ok(stats)
}

/// What the control socket serves with: the running service's pieces.
#[derive(Clone)]
pub struct Control {
    pub sled: Arc<SledStore>,
    pub rt: Arc<crate::runtime::Runtime>,
}

impl Control {
    /// Answers one request line: `ok …` on the first line (and a body after it), or `error …`.
    fn answer(&self, line: &str) -> Vec<u8> {
        let words: Vec<&str> = line.split(' ').collect();
        let r: crate::Result<(String, Vec<u8>)> = match words[..] {
            ["backup", file] if Path::new(file).is_absolute() => {
                tracing::info!("backup requested");
                write_backup(&self.sled, Path::new(file))
                    .map(|s| (format!("{} {} {}", s.trees, s.entries, s.bytes), Vec::new()))
            }
            ["report", month, dir] if Path::new(dir).is_absolute() => crate::reports::monthly_to(
                self.rt.store.as_ref(),
                &self.rt.bot,
                month,
                Path::new(dir),
            )
            .map(|text| (String::new(), text.into_bytes())),
            ["export-guestbook", from, to] => {
                crate::reports::guestbook_csv(self.rt.store.as_ref(), &self.rt.bot, from, to)
                    .map(|(n, csv)| (n.to_string(), csv))
            }
            _ => Err(crate::Error::msg(
                "expected `backup /FILE`, `report YYYY-MM /DIR` or `export-guestbook FROM TO`",
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

/// `pstbot backup FILE`: through the running service if there is one, else directly.
pub fn backup(config: &Config, file: &Path) -> crate::Result<BackupStats> {
    let file = std::path::absolute(file)?;
    match ask_service(config, &format!("backup {}", file.display()))? {
        Some((head, _)) => {
            let nums: Vec<u64> = head.split(' ').filter_map(|n| n.parse().ok()).collect();
            match nums[..] {
                [trees, entries, bytes] => Ok(BackupStats {
                    trees,
                    entries,
                    bytes,
                }),
                _ => Err(crate::Error::msg(format!(
                    "unexpected answer from the running service: {head:?}"
                ))),
            }
        }
        None => {
            let store = SledStore::open_with(
                &config.store.path,
                config.store.cache_mb,
                config.store.compression,
            )?;
            write_backup(&store, &file)
        }
    }
}

/// `pstbot restore FILE`: into the configured store folder, which must be empty.
pub fn restore(config: &Config, file: &Path) -> crate::Result<BackupStats> {
    std::fs::create_dir_all(&config.store.path)?;
    let stats = SledStore::restore_from_with(&config.store.path, file, config.store.compression)?;
    // Opening checks the schema version of what was restored.
    SledStore::open_with(
        &config.store.path,
        config.store.cache_mb,
        config.store.compression,
    )?;
    Ok(stats)
}
