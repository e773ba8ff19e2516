//! What several `pstbot serve` processes on one database share: a person's turn (a session
//! advisory lock, keyed by a hash of their identity, held on a pooled connection from before
//! the plan until after the commit) and leases (rows of `leases`: one scheduler, one Telegram
//! poller, one IMAP reader at a time; a process that dies leaves its lease to expire).
//!
//! A process killed while it holds a turn loses its connection, and the server releases the
//! lock at once.
//!
//! Outbox claims (rows of `outbox_claims`, one per chat) say which process sends a chat's
//! rows: taken where nobody holds them or the holder let them lapse, with `FOR UPDATE SKIP
//! LOCKED` so that processes claiming at once never wait for each other, renewed while the
//! chat has rows, let go when it has none. On CockroachDB (no advisory locks) a turn would be a row locked in an open
//! transaction instead; see `docs/operations.md`.

use super::rows::{clean, record};
use super::{Conn, PgStore};
use crate::message::Identity;
use crate::store::{Claimed, Coordination, OutboxRow, Result, SharedTurn, WebLogNotice};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// The advisory lock key of a person: 8 bytes of the SHA-256 of their identity, with the
/// namespace's top byte (so pstbot's keys keep clear of the migrations' lock).
fn turn_key(who: &Identity) -> i64 {
    let h = Sha256::digest(who.to_string().as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h[..8]);
    b[0] = 0x50;
    i64::from_be_bytes(b)
}

/// Turns held: the connection with the locks, released when dropped (and then the permit).
struct Held {
    conn: Option<Conn>,
    keys: Vec<i64>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(c) = self.conn.take()
            && self
                .keys
                .iter()
                .any(|k| c.execute("SELECT pg_advisory_unlock($1)", &[k]).is_err())
        {
            // A lock may have stayed with the connection; it must not go back to the pool.
            drop(deadpool_postgres::Object::take(c.0));
        }
    }
}

impl Coordination for PgStore {
    /// Each turn keeps a pooled connection for its lock and needs another for its reads and
    /// commit: so at most half the pool holds turns (`PgStore::turns`), or with as many
    /// people at once as connections every turn would wait for a connection no one gives
    /// back (`scale_out_kill::more_people_at_once_than_pooled_connections`). Several people's
    /// turns taken together are locks on one connection under one permit: one per person
    /// would let a round of timers for more people than there are permits wait for itself
    /// (30 s, then again on every tick; `scale_out_kill`, with its web visitors).
    fn turns(&self, people: &[&Identity]) -> Result<Option<SharedTurn>> {
        let permit = self.turn_permit()?;
        let mut held = Held {
            conn: Some(self.conn()?),
            keys: Vec::with_capacity(people.len()),
            _permit: permit,
        };
        for who in people {
            let key = turn_key(who);
            if held.keys.contains(&key) {
                continue;
            }
            let conn = held.conn.as_ref().expect("held");
            conn.execute("SELECT pg_advisory_lock($1)", &[&key])?;
            held.keys.push(key);
        }
        Ok(Some(Box::new(held)))
    }

    fn lease(&self, name: &str, ttl: std::time::Duration) -> Result<bool> {
        let ms = ttl.as_millis().min(i64::MAX as u128) as i64;
        let row = self.conn()?.query_opt(
            "INSERT INTO leases (name, holder, until)
             VALUES ($1, $2, now() + make_interval(secs => $3::bigint / 1000.0))
             ON CONFLICT (name) DO UPDATE SET holder = $2, until = excluded.until
               WHERE leases.holder = $2 OR leases.until < now()
             RETURNING holder",
            &[&name, &self.holder, &ms],
        )?;
        Ok(row.is_some())
    }

    fn shared(&self) -> bool {
        true
    }

    fn outbox_claim(
        &self,
        renew: &[Identity],
        take: &[Identity],
        ttl: std::time::Duration,
    ) -> Result<Claimed> {
        let ms = ttl.as_millis().min(i64::MAX as u128) as i64;
        let names = |w: &[Identity]| -> Vec<String> {
            let mut v: Vec<String> = w.iter().map(|w| clean(&w.to_string())).collect();
            // One order for every process: inserts of the same chats never wait in a cycle.
            v.sort();
            v.dedup();
            v
        };
        let take_names = names(take);
        let all = names(&[renew, take].concat());
        let (held, rows) = self
            .in_transaction(|c| {
                let mut held: std::collections::HashSet<String> = c
                    .query(
                        "INSERT INTO outbox_claims (chat, claimed_by, claimed_until)
                         SELECT chat, $2, now() + make_interval(secs => $3::bigint / 1000.0)
                           FROM unnest($1::text[]) AS chat ORDER BY chat
                         ON CONFLICT (chat) DO NOTHING
                         RETURNING chat",
                        &[&all, &self.holder, &ms],
                    )?
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                held.extend(
                    c.query(
                        "UPDATE outbox_claims
                            SET claimed_by = $2,
                                claimed_until = now() + make_interval(secs => $3::bigint / 1000.0)
                          WHERE chat IN (
                            SELECT chat FROM outbox_claims
                             WHERE chat = ANY($1) AND (claimed_by = $2 OR claimed_until < now())
                             ORDER BY chat FOR UPDATE SKIP LOCKED)
                         RETURNING chat",
                        &[&all, &self.holder, &ms],
                    )?
                    .iter()
                    .map(|r| r.get::<_, String>(0)),
                );
                let taken: Vec<&String> = take_names.iter().filter(|n| held.contains(*n)).collect();
                let rows = c
                    .query(
                        "SELECT record FROM outbox WHERE chat = ANY($1) ORDER BY id",
                        &[&taken],
                    )?
                    .iter()
                    .map(|r| record::<OutboxRow>(r, "record", &|| "outbox".to_string()))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Some((held, rows)))
            })?
            .unwrap_or_default();
        Ok(Claimed {
            held: renew
                .iter()
                .chain(take)
                .filter(|w| held.contains(&clean(&w.to_string())))
                .cloned()
                .collect(),
            rows: Some(rows),
        })
    }

    fn outbox_unclaim(&self, chats: &[Identity]) -> Result<()> {
        if chats.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = chats.iter().map(|w| clean(&w.to_string())).collect();
        self.conn()?.execute(
            "DELETE FROM outbox_claims WHERE chat = ANY($1) AND claimed_by = $2",
            &[&names, &self.holder],
        )?;
        Ok(())
    }

    fn watch_web_logs(
        &self,
        stop: tokio_util::sync::CancellationToken,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<WebLogNotice>>> {
        self.listen_web_logs(stop).map(Some)
    }

    fn watch_outbox(
        &self,
        stop: tokio_util::sync::CancellationToken,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<crate::store::OutboxNotice>>> {
        self.listen_outbox(stop).map(Some)
    }

    fn flood_count(&self, who: &Identity, now: DateTime<Utc>) -> Result<Option<u32>> {
        // Keyed by a hash: the table never holds an address. A window is one minute from
        // its sender's first message in it.
        let key = hex::encode(Sha256::digest(who.to_string().as_bytes()));
        let c = self.conn()?;
        let n: i32 = c
            .query_one(
                "INSERT INTO flood_windows (identity, window_start, count, told)
                 VALUES ($1, $2, 1, false)
                 ON CONFLICT (identity) DO UPDATE SET
                   window_start = CASE WHEN $2 >= flood_windows.window_start + interval '1 minute'
                                       THEN $2 ELSE flood_windows.window_start END,
                   count = CASE WHEN $2 >= flood_windows.window_start + interval '1 minute'
                                THEN 1 ELSE flood_windows.count + 1 END
                 RETURNING count",
                &[&key, &now],
            )?
            .get(0);
        if fastrand::u8(..) == 0 {
            // Now and then: forget the windows that ended minutes ago.
            c.execute(
                "DELETE FROM flood_windows WHERE window_start < $1 - interval '5 minutes'",
                &[&now],
            )?;
        }
        Ok(Some(n.max(0) as u32))
    }

    fn release(&self, name: &str) -> Result<()> {
        self.conn()?.execute(
            "DELETE FROM leases WHERE name = $1 AND holder = $2",
            &[&name, &self.holder],
        )?;
        Ok(())
    }
}
