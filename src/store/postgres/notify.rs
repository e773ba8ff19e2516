//! Live events across processes: what one process commits is announced with `NOTIFY` in the
//! transaction that writes it (PostgreSQL delivers it to the listeners when, and only if,
//! that transaction commits), and each process holds connections of its own, outside the
//! pool, that `LISTEN` for them: one for the web chat's log entries (when it shows logs live)
//! and one for the outbox's queued rows.
//!
//! **Web chat logs.** The payload is the session id (the SHA-256 of the visitor's token, never
//! the token) and the entry's sequence number: nothing a visitor wrote, nothing that
//! identifies them.
//!
//! **The outbox.** A commit that queues rows says so once (not once per row): its process's
//! holder name and the [`chat_tag`]s of the chats it queued for — 32 bits of a hash of each
//! chat's identity, shared by many possible addresses (a tag matches several phone numbers),
//! so nothing a person wrote and nothing that names them. The process holding such a chat's
//! outbox claim reads its rows at once, instead of at its next read of the queue.
//!
//! A lost connection is made again (after a second, then every second); what was committed
//! meanwhile is announced as missed ([`WebLogNotice::Missed`], [`OutboxNotice::Missed`]):
//! the pages read the log again from where each stands, the outbox reads its queue again.

use super::PgStore;
use crate::store::{OutboxNotice, Result, WebLogNotice};
use futures_util::StreamExt;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::CancellationToken;

/// The channel every web log entry is announced on.
pub(super) const CHANNEL: &str = "pstbot_web_log";

/// The channel every commit that queues outbox rows is announced on.
const OUTBOX_CHANNEL: &str = "pstbot_outbox";

/// The `application_name` of the web chat's listening connection (`pg_stat_activity` shows
/// it).
pub(super) const LISTENER_NAME: &str = "pstbot-listen";

/// The `application_name` of the outbox's listening connection.
pub(super) const OUTBOX_LISTENER_NAME: &str = "pstbot-listen-outbox";

/// How many notices wait for their reader at most; past that they are dropped and a "missed"
/// notice is said instead.
const BACKLOG: usize = 4096;

/// At most this many chats are named in one outbox notice (a payload holds 8000 bytes); a
/// commit that queued for more names none, and the listeners read their whole queue.
const TAGS_AT_MOST: usize = 256;

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

/// Announces, in the transaction on `c`, rows queued by process `holder` for the chats tagged
/// `tags`: delivered to the other processes if, and when, that transaction commits.
pub(super) fn announce_outbox(
    c: &super::Conn,
    holder: &str,
    tags: &std::collections::BTreeSet<u32>,
) -> std::result::Result<(), tokio_postgres::Error> {
    c.execute(
        "SELECT pg_notify($1, $2)",
        &[&OUTBOX_CHANNEL, &outbox_payload(holder, tags)],
    )?;
    Ok(())
}

/// The payload of a commit that queued rows for the chats tagged `tags`, by process `holder`.
fn outbox_payload(holder: &str, tags: &std::collections::BTreeSet<u32>) -> String {
    let mut p = holder.to_string();
    if tags.len() <= TAGS_AT_MOST {
        for t in tags {
            p.push_str(&format!(" {t:08x}"));
        }
    }
    p
}

/// The notice of an outbox payload for the process `me` (`None`: its own commit, whose rows
/// it handed to its worker already, or not one of ours).
fn outbox_notice(me: &str, payload: &str) -> Option<OutboxNotice> {
    let mut words = payload.split(' ');
    if words.next()? == me {
        return None;
    }
    let tags = words
        .map(|w| u32::from_str_radix(w, 16).ok())
        .collect::<Option<Vec<u32>>>()?;
    Some(match tags.is_empty() {
        true => OutboxNotice::Missed,
        false => OutboxNotice::Queued(tags),
    })
}

/// Hands notices to their reader without ever waiting for it: when it falls behind, the
/// notices that do not fit are dropped and `missed` follows.
struct Out<T> {
    tx: mpsc::Sender<T>,
    missed: T,
    behind: bool,
}

impl<T: Clone> Out<T> {
    /// `false`: nobody listens any more.
    fn send(&mut self, n: T) -> bool {
        if self.behind {
            match self.tx.try_send(self.missed.clone()) {
                Ok(()) => self.behind = false,
                Err(mpsc::error::TrySendError::Full(_)) => return true,
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        match self.tx.try_send(n) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.behind = true;
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}

/// How a listening connection reads a payload (`None`: nothing to tell).
type Reader<T> = dyn Fn(&str) -> Option<T> + Send + Sync;

/// What one listening connection listens for and how it reads it.
struct Listening<T> {
    channel: &'static str,
    /// Who listens, for the log.
    what: &'static str,
    missed: T,
    read: Box<Reader<T>>,
}

impl PgStore {
    /// Starts the web chat's listening connection's task on the store's runtime.
    pub(super) fn listen_web_logs(
        &self,
        stop: CancellationToken,
    ) -> Result<mpsc::Receiver<WebLogNotice>> {
        let listening = Listening {
            channel: CHANNEL,
            what: "web chat",
            missed: WebLogNotice::Missed,
            read: Box::new(notice),
        };
        Ok(self.listen(LISTENER_NAME, listening, stop))
    }

    /// Starts the outbox's listening connection's task on the store's runtime: notices of
    /// rows other processes queued.
    pub(super) fn listen_outbox(
        &self,
        stop: CancellationToken,
    ) -> Result<mpsc::Receiver<OutboxNotice>> {
        let me = self.holder.clone();
        let listening = Listening {
            channel: OUTBOX_CHANNEL,
            what: "outbox",
            missed: OutboxNotice::Missed,
            read: Box::new(move |p| outbox_notice(&me, p)),
        };
        Ok(self.listen(OUTBOX_LISTENER_NAME, listening, stop))
    }

    fn listen<T: Clone + Send + Sync + 'static>(
        &self,
        name: &str,
        listening: Listening<T>,
        stop: CancellationToken,
    ) -> mpsc::Receiver<T> {
        let (tx, rx) = mpsc::channel(BACKLOG);
        let mut config = self.config.clone();
        config.application_name(name);
        let shown = self.shown.clone();
        self.io.spawn(async move {
            let what = listening.what;
            let mut out = Out {
                tx,
                missed: listening.missed.clone(),
                behind: false,
            };
            loop {
                let open = listen_once(&config, &listening, &mut out, &stop).await;
                match open {
                    Ok(Ended::Stopped) => return,
                    Ok(Ended::Lost) => {
                        tracing::warn!(db = %shown, "{what}: the listening connection was lost; making it again")
                    }
                    Err(e) => {
                        tracing::warn!(db = %shown, error = %super::describe(&e), "{what}: cannot listen for notices; trying again")
                    }
                }
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = out.tx.closed() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        });
        rx
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
async fn listen_once<T: Clone + Send + Sync>(
    config: &tokio_postgres::Config,
    listening: &Listening<T>,
    out: &mut Out<T>,
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
    let listened = client
        .batch_execute(&format!("LISTEN {}", listening.channel))
        .await
        .map(|()| {
            // What was committed while no connection listened was not announced.
            out.send(listening.missed.clone())
        });
    let ended = match listened {
        Err(e) => Err(e),
        Ok(false) => Ok(Ended::Stopped),
        Ok(true) => loop {
            tokio::select! {
                _ = stop.cancelled() => break Ok(Ended::Stopped),
                got = nrx.recv() => match got {
                    Some(n) => {
                        if let Some(notice) = (listening.read)(n.payload())
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

    #[test]
    fn an_outbox_payload_names_its_chats_by_tag_and_its_own_process_is_skipped() {
        let tags: std::collections::BTreeSet<u32> = [1, 0xdead_beef].into_iter().collect();
        let p = outbox_payload("host-1-00ab", &tags);
        assert_eq!(p, "host-1-00ab 00000001 deadbeef");
        assert_eq!(
            outbox_notice("host-2-00cd", &p),
            Some(OutboxNotice::Queued(vec![1, 0xdead_beef]))
        );
        assert_eq!(outbox_notice("host-1-00ab", &p), None);
        assert_eq!(outbox_notice("x", "y zz"), None);
        // Too many chats to name: none is named, and the listeners read their queue.
        let many: std::collections::BTreeSet<u32> = (0..1000).collect();
        let p = outbox_payload("host-1-00ab", &many);
        assert_eq!(outbox_notice("x", &p), Some(OutboxNotice::Missed));
    }
}
