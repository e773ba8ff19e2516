//! The flood limit (`conversation.messages_per_minute`): a sender over it is told once per
//! window, and their messages are recorded as handled but not processed. On a store that
//! several processes share (PostgreSQL) the windows are counted in the store
//! ([`Coordination::flood_count`]), so that a person is limited the same whichever processes
//! take their messages; otherwise here, in memory.

use super::{Runtime, RuntimeError};
use crate::message::{ChannelKind, Identity, OutboundMessage};
use crate::store::{Coordination, DedupeKey};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// One sender's current flood window.
struct FloodWindow {
    start: DateTime<Utc>,
    count: u32,
    /// Whether the sender was already told about the limit in this window.
    told: bool,
}

/// Whether a message is within its sender's limit.
pub(crate) enum Flood {
    Allowed,
    Throttled { tell: bool },
}

/// The senders' current windows: a fixed one-minute window per sender on the runtime's clock
/// (so tests on a fixed clock are exact).
pub(crate) struct FloodGate {
    /// Messages one sender may send per minute; `0` is no limit.
    per_minute: u32,
    windows: Mutex<HashMap<Identity, FloodWindow>>,
}

impl FloodGate {
    pub(crate) fn new(per_minute: u32) -> Self {
        FloodGate {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a message against its sender's limit at `now`: in the store when several
    /// processes share it (a person spreading messages over them is limited as on one), here
    /// otherwise.
    pub(crate) fn check(
        &self,
        store: &dyn Coordination,
        who: &Identity,
        now: DateTime<Utc>,
    ) -> Flood {
        // The terminal (`pstbot chat`) is local and used for scripting: never limited.
        if self.per_minute == 0 || who.channel == ChannelKind::Terminal {
            return Flood::Allowed;
        }
        match store.flood_count(who, now) {
            Ok(Some(n)) if n <= self.per_minute => return Flood::Allowed,
            // Exactly one message is the first over the limit in a window: it tells.
            Ok(Some(n)) => {
                return Flood::Throttled {
                    tell: n == self.per_minute + 1,
                };
            }
            Ok(None) => {}
            Err(e) => {
                // A limit against abuse is no reason to turn a person away: counted here.
                tracing::warn!(error = %e, "flood limit: cannot count in the store; counting in this process");
            }
        }
        self.check_here(who, now)
    }

    /// Counts a message in this process's own windows.
    fn check_here(&self, who: &Identity, now: DateTime<Utc>) -> Flood {
        let window = chrono::Duration::minutes(1);
        let mut flood = self.windows.lock().expect("flood lock");
        // Bounded memory under many senders: forget finished windows now and then.
        if flood.len() > 10_000 {
            flood.retain(|_, w| now - w.start < window);
        }
        let w = flood.entry(who.clone()).or_insert(FloodWindow {
            start: now,
            count: 0,
            told: false,
        });
        if now - w.start >= window || now < w.start {
            *w = FloodWindow {
                start: now,
                count: 0,
                told: false,
            };
        }
        w.count += 1;
        if w.count <= self.per_minute {
            Flood::Allowed
        } else {
            let tell = !w.told;
            w.told = true;
            Flood::Throttled { tell }
        }
    }
}

impl Runtime {
    /// A message over the flood limit: acknowledged and recorded as handled (a re-delivery stays
    /// a duplicate), not processed, and the sender told once per window. Nothing reaches the
    /// officers.
    pub(super) async fn throttled(
        &self,
        key: DedupeKey,
        who: &Identity,
        tell: bool,
    ) -> Result<Vec<(u64, OutboundMessage)>, RuntimeError> {
        tracing::warn!(from = %who.masked(), channel = who.channel.as_str(), "flood limit: message recorded, not processed");
        let mut msgs = Vec::new();
        if tell {
            let lang = self.plan_context(self.clock.now()).lang_of(who)?;
            msgs.push(OutboundMessage::text(
                who.clone(),
                self.bot.sys("flood_notice", &lang),
            ));
        }
        let done = self.commit_messages(&key, who, msgs).await?;
        Ok(done
            .map(|(applied, msgs)| applied.queued.into_iter().zip(msgs).collect())
            .unwrap_or_default())
    }
}
