//! Web chat live events across processes: every entry appended to a web chat log is announced
//! with `NOTIFY` in the transaction that writes it (PostgreSQL delivers it to the listeners
//! when, and only if, that transaction commits), and each process that shows logs live holds
//! one connection of its own, outside the pool, that `LISTEN`s for them.
//!
//! The payload is the session id (the SHA-256 of the visitor's token, never the token) and the
//! entry's sequence number: nothing a visitor wrote, nothing that identifies them. A lost
//! connection is made again (after a second, then every second); what was written meanwhile
//! is announced as [`WebLogNotice::Missed`], and the pages read the log again from where each
//! stands.

use super::PgStore;
use crate::store::{Result, WebLogNotice};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::CancellationToken;

/// The channel every web log entry is announced on.
pub(super) const CHANNEL: &str = "pstbot_web_log";

/// The `application_name` of the listening connection (`pg_stat_activity` shows it).
pub(super) const LISTENER_NAME: &str = "pstbot-listen";

/// How many notices wait for the web chat at most; past that they are dropped and
/// [`WebLogNotice::Missed`] is said instead.
const BACKLOG: usize = 4096;

/// The payload of an entry's notice.
pub(super) fn payload(session: &str, seq: i64) -> String {
    format!("{session} {seq}")
}

/// The notice of a payload (`None`: not one of ours).
fn notice(payload: &str) -> Option<WebLogNotice> {
    let (session, seq) = payload.split_once(' ')?;
    Some(WebLogNotice::Appended {
        session: session.to_string(),
        seq: seq.parse().ok()?,
    })
}

/// Hands notices to the web chat without ever waiting for it: when it falls behind, the
/// notices that do not fit are dropped and [`WebLogNotice::Missed`] follows.
struct Out {
    tx: mpsc::Sender<WebLogNotice>,
    missed: bool,
}

impl Out {
    /// `false`: nobody listens any more.
    fn send(&mut self, n: WebLogNotice) -> bool {
        if self.missed {
            match self.tx.try_send(WebLogNotice::Missed) {
                Ok(()) => self.missed = false,
                Err(mpsc::error::TrySendError::Full(_)) => return true,
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        match self.tx.try_send(n) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.missed = true;
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

impl PgStore {
    /// Starts the listening connection's task on the store's runtime.
    pub(super) fn listen_web_logs(
        &self,
        stop: CancellationToken,
    ) -> Result<mpsc::Receiver<WebLogNotice>> {
        let (tx, rx) = mpsc::channel(BACKLOG);
        let mut config = self.config.clone();
        config.application_name(LISTENER_NAME);
        let shown = self.shown.clone();
        self.io.spawn(async move {
            let mut out = Out { tx, missed: false };
            loop {
                let open = listen_once(&config, &mut out, &stop).await;
                match open {
                    Ok(Ended::Stopped) => return,
                    Ok(Ended::Lost) => {
                        tracing::warn!(db = %shown, "web chat: the listening connection was lost; making it again")
                    }
                    Err(e) => {
                        tracing::warn!(db = %shown, error = %super::describe(&e), "web chat: cannot listen for log entries; trying again")
                    }
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = out.tx.closed() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
        Ok(rx)
    }
}

/// Why a listening connection ended.
enum Ended {
    /// The service stops, or nobody reads the notices any more.
    Stopped,
    /// The connection broke (the server restarted, the backend was terminated).
    Lost,
}

/// One listening connection, from connecting until it breaks or the service stops.
async fn listen_once(
    config: &tokio_postgres::Config,
    out: &mut Out,
    stop: &CancellationToken,
) -> std::result::Result<Ended, tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    // The connection's messages (notifications among them) come from polling it.
    let (ntx, mut nrx) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(m) = messages.next().await {
            match m {
                Ok(AsyncMessage::Notification(n)) => {
                    if ntx.send(n).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    let listening = client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map(|()| {
            // Entries appended while no connection listened were not announced.
            out.send(WebLogNotice::Missed)
        });
    let ended = match listening {
        Err(e) => Err(e),
        Ok(false) => Ok(Ended::Stopped),
        Ok(true) => loop {
            tokio::select! {
                _ = stop.cancelled() => break Ok(Ended::Stopped),
                got = nrx.recv() => match got {
                    Some(n) => {
                        if let Some(notice) = notice(n.payload())
                            && !out.send(notice)
                        {
                            break Ok(Ended::Stopped);
                        }
                    }
                    None => break Ok(Ended::Lost),
                },
            }
        },
    };
    driver.abort();
    ended
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_is_read_back_and_anything_else_ignored() {
        assert_eq!(
            notice(&payload("abc", 7)),
            Some(WebLogNotice::Appended {
                session: "abc".into(),
                seq: 7
            })
        );
        assert_eq!(notice("abc"), None);
        assert_eq!(notice("abc x"), None);
    }
}
