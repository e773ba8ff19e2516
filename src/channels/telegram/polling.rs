//! Long polling (`telegram.mode = "polling"`, the default): `getUpdates` with an offset that
//! moves past an update only after it is durably handled. Telegram keeps every update not
//! confirmed by a later offset, so a crash or restart gets them again, and the runtime's
//! dedupe by `update_id` makes the ones handled before change nothing.

use super::Telegram;
use super::inbound::{ProcessError, process};
use crate::runtime::Runtime;
use std::sync::Arc;
use std::time::Duration;
use teloxide::payloads::GetUpdatesSetters;
use teloxide::prelude::Requester;
use tokio_util::sync::CancellationToken;

/// Seconds one `getUpdates` waits for news. Below teloxide's 17 s HTTP timeout.
const POLL_SECONDS: u32 = 10;
const MAX_PAUSE: Duration = Duration::from_secs(60);

/// Sleeps `d`, or less if `stop` fires; says whether to go on.
async fn pause(d: Duration, stop: &CancellationToken) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => true,
        _ = stop.cancelled() => false,
    }
}

/// Polls until `stop`. Each update is processed to the end (its transaction flushed) before
/// the next; an update that cannot be handled now stops the batch, and the same offset is
/// asked again after a pause.
pub async fn run(tg: Arc<Telegram>, rt: Arc<Runtime>, stop: CancellationToken) {
    let mut wait = Duration::from_secs(1);
    // Who we are (to know `/cmd@thisbot`), and no webhook (getUpdates refuses while one is set).
    loop {
        let ready = async {
            tg.identify().await?;
            tg.bot.delete_webhook().await
        };
        let r = tokio::select! {
            r = ready => r,
            _ = stop.cancelled() => return,
        };
        match r {
            Ok(_) => break,
            Err(e) => {
                tracing::warn!(error = %e, "telegram: cannot reach the Bot API; trying again");
                if !pause(wait, &stop).await {
                    return;
                }
                wait = (wait * 2).min(MAX_PAUSE);
            }
        }
    }
    tracing::info!(
        bot = tg.username().unwrap_or_default(),
        "telegram: long polling"
    );
    wait = Duration::from_secs(1);
    let mut offset: Option<i32> = None;
    while !stop.is_cancelled() {
        let mut req = tg.bot.get_updates().timeout(POLL_SECONDS);
        if let Some(o) = offset {
            req = req.offset(o);
        }
        let got = tokio::select! {
            r = req => r,
            _ = stop.cancelled() => break,
        };
        let updates = match got {
            Ok(u) => {
                wait = Duration::from_secs(1);
                u
            }
            Err(e) => {
                tracing::warn!(error = %e, "telegram: getUpdates failed; trying again");
                if !pause(wait, &stop).await {
                    break;
                }
                wait = (wait * 2).min(MAX_PAUSE);
                continue;
            }
        };
        for u in updates {
            match process(&tg, &rt, &u).await {
                Ok(()) => offset = Some(u.id.0 as i32 + 1),
                Err(e) => {
                    match &e {
                        ProcessError::Download(_) => {
                            tracing::warn!(update = u.id.0, error = %e, "telegram: update not handled yet; will retry")
                        }
                        ProcessError::Runtime(_) => {
                            tracing::error!(update = u.id.0, error = %e, "telegram: update not stored; will retry")
                        }
                    }
                    if !pause(wait, &stop).await {
                        break;
                    }
                    wait = (wait * 2).min(MAX_PAUSE);
                    break;
                }
            }
        }
    }
    // Tell Telegram what is handled, so a restart does not fetch it again (it would be
    // recognised anyway). `limit = 1, timeout = 0`: returns at once.
    if let Some(o) = offset {
        let confirm = tg.bot.get_updates().offset(o).limit(1).timeout(0);
        if let Err(e) = tokio::time::timeout(Duration::from_secs(5), confirm)
            .await
            .unwrap_or_else(|_| {
                Err(teloxide::RequestError::Io(Arc::new(std::io::Error::other(
                    "timed out",
                ))))
            })
        {
            tracing::debug!(error = %e, "telegram: could not confirm the last updates (they will be recognised)");
        }
    }
    tracing::info!("telegram: polling stopped");
}
