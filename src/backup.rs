//! `pstbot backup FILE` and `pstbot restore FILE`.
//!
//! sled allows one process per store, so while `pstbot serve` runs, `pstbot backup` asks the
//! service for the snapshot over a Unix socket in the store folder (`admin.sock`, mode 0600:
//! only the service's own user can use it). The service writes the file (to `FILE.part`, then
//! renamed, so a file named FILE is always complete). With no service running, the command
//! opens the store itself. Restore goes into an empty store folder only, with the service
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

fn answer(r: crate::Result<BackupStats>) -> String {
    match r {
        Ok(s) => format!("ok {} {} {}\n", s.trees, s.entries, s.bytes),
        Err(e) => format!("error {}\n", e.to_string().replace('\n', " ")),
    }
}

/// Serves backup requests on the control socket until `stop`.
pub async fn serve_socket(
    store: Arc<SledStore>,
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
        let store = store.clone();
        tokio::spawn(async move {
            let (rd, mut wr) = stream.into_split();
            let mut line = String::new();
            let mut rd = BufReader::new(rd.take(4096));
            if rd.read_line(&mut line).await.is_err() {
                return;
            }
            let reply = match line.trim_end().strip_prefix("backup ") {
                Some(file) if Path::new(file).is_absolute() => {
                    let file = PathBuf::from(file);
                    tracing::info!("backup requested");
                    let r = tokio::task::spawn_blocking(move || write_backup(&store, &file))
                        .await
                        .unwrap_or_else(|e| Err(crate::Error::msg(e.to_string())));
                    answer(r)
                }
                _ => "error expected `backup /absolute/path`\n".to_string(),
            };
            let _ = wr.write_all(reply.as_bytes()).await;
        });
    }
    let _ = std::fs::remove_file(&path);
    Ok(())
}

/// `pstbot backup FILE`: through the running service if there is one, else directly.
pub async fn backup(config: &Config, file: &Path) -> crate::Result<BackupStats> {
    let file = std::path::absolute(file)?;
    match tokio::net::UnixStream::connect(socket_path(config)).await {
        Ok(stream) => {
            let (rd, mut wr) = stream.into_split();
            wr.write_all(format!("backup {}\n", file.display()).as_bytes())
                .await?;
            let mut line = String::new();
            BufReader::new(rd).read_line(&mut line).await?;
            parse_answer(&line)
        }
        Err(_) => {
            let store = SledStore::open(&config.store.path, config.store.cache_mb)?;
            let stats = write_backup(&store, &file)?;
            Ok(stats)
        }
    }
}

fn parse_answer(line: &str) -> crate::Result<BackupStats> {
    let line = line.trim_end();
    if let Some(err) = line.strip_prefix("error ") {
        return Err(crate::Error::msg(format!(
            "the service could not back up: {err}"
        )));
    }
    let nums: Vec<u64> = line
        .strip_prefix("ok ")
        .unwrap_or_default()
        .split(' ')
        .filter_map(|n| n.parse().ok())
        .collect();
    match nums[..] {
        [trees, entries, bytes] => Ok(BackupStats {
            trees,
            entries,
            bytes,
        }),
        _ => Err(crate::Error::msg(format!(
            "unexpected answer from the service: {line:?}"
        ))),
    }
}

/// `pstbot restore FILE`: into the configured store folder, which must be empty.
pub fn restore(config: &Config, file: &Path) -> crate::Result<BackupStats> {
    std::fs::create_dir_all(&config.store.path)?;
    let stats = SledStore::restore_from(&config.store.path, file)?;
    // Opening checks the schema version of what was restored.
    SledStore::open(&config.store.path, config.store.cache_mb)?;
    Ok(stats)
}
