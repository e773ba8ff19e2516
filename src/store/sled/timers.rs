//! The sled store's timers: the due index in key order, and each owner's list.

use super::SledStore;
use super::keys::{T_TIMER_OWNERS, T_TIMERS, dec, time_key};
use super::tx::{tx_done, tx_remove_timer};
use crate::store::records::Timer;
use crate::store::{Result, TimerStore};
use ::sled::Transactional;
use chrono::{DateTime, Utc};

impl TimerStore for SledStore {
    fn timers_due(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>> {
        let mut end = time_key(until).to_vec();
        end.push(0xff);
        self.e()?.trees[T_TIMERS]
            .range(..end)
            .take(limit)
            .map(|kv| {
                let (k, v) = kv?;
                dec(&k, &v)
            })
            .collect()
    }

    fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>> {
        match self.e()?.trees[T_TIMERS].first()? {
            Some((k, v)) => Ok(Some(dec::<Timer>(&k, &v)?.due)),
            None => Ok(None),
        }
    }

    fn timers_of(&self, owner: &str) -> Result<Vec<Timer>> {
        let keys: Vec<Vec<u8>> = self
            .get(T_TIMER_OWNERS, owner.as_bytes())?
            .unwrap_or_default();
        let mut out = Vec::new();
        for k in keys {
            if let Some(t) = self.get::<Timer>(T_TIMERS, &k)? {
                out.push(t);
            }
        }
        out.sort_by(|a, b| a.due.cmp(&b.due).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    fn drop_timer(&self, timer: &Timer) -> Result<()> {
        let r = (move || -> Result<()> {
            let _writing = self.writing();
            let trees = [&self.e()?.trees[T_TIMERS], &self.e()?.trees[T_TIMER_OWNERS]];
            tx_done(trees.transaction(|t| tx_remove_timer(&t[0], &t[1], timer)))
        })();
        self.noted(r)
    }
}
