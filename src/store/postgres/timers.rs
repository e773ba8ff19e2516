//! The PostgreSQL store's timers: found by due time and by owner.

use super::PgStore;
use super::rows::clean;
use super::writes::delete_timer;
use crate::store::records::Timer;
use crate::store::{Result, TimerStore};
use chrono::{DateTime, Utc};

impl TimerStore for PgStore {
    fn timers_due(&self, until: DateTime<Utc>, limit: usize) -> Result<Vec<Timer>> {
        self.records(
            "SELECT record FROM timers WHERE due <= $1 ORDER BY due, id LIMIT $2",
            &[&until, &super::rows::limit(limit)],
        )
    }

    fn next_timer_due(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(self
            .records::<Timer>("SELECT record FROM timers ORDER BY due, id LIMIT 1", &[])?
            .into_iter()
            .next()
            .map(|t| t.due))
    }

    fn timers_of(&self, owner: &str) -> Result<Vec<Timer>> {
        let mut out: Vec<Timer> = self.records(
            "SELECT record FROM timers WHERE owner = $1",
            &[&clean(owner)],
        )?;
        out.sort_by(|a, b| a.due.cmp(&b.due).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    fn drop_timer(&self, t: &Timer) -> Result<()> {
        delete_timer(&self.conn()?, t)?;
        Ok(())
    }
}
