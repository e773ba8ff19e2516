//! The retention purge (SPEC §6) as the runtime runs it: the persons `privacy` finds inactive
//! are erased one at a time, each in their own turn and in one commit.

use super::{Runtime, RuntimeError};
use crate::privacy;

impl Runtime {
    /// Erases the personal data of every person inactive for longer than the retention
    /// period (`privacy.retention`) who has no open case. Returns how many were erased.
    pub async fn purge_inactive(&self) -> Result<usize, RuntimeError> {
        let now = self.clock.now();
        let Ok(retention) = chrono::Duration::from_std(self.settings.retention) else {
            return Ok(0);
        };
        let mut erased = 0;
        // Reading every guest and their cases takes seconds on a large store: off the async
        // workers, so webhooks are answered meanwhile.
        let store = self.store.clone();
        let candidates = tokio::task::spawn_blocking(move || {
            privacy::inactive_persons(store.as_ref(), now, retention)
        })
        .await
        .map_err(|e| RuntimeError::Join(e.to_string()))??;
        for who in candidates {
            let _turn = self.turns.of(&who).lock().await;
            let _shared = self.shared_turn(&who)?;
            // Checked again in the person's turn: they may have written since the scan.
            if !privacy::still_inactive(self.store.as_ref(), &who, now, retention)? {
                continue;
            }
            let done = self
                .commit_planned(|ctx| privacy::purge_plan(ctx, &who))
                .await?;
            if done.is_some() {
                erased += 1;
            }
        }
        if erased > 0 {
            tracing::info!(
                erased,
                "retention: personal data of inactive persons erased"
            );
        }
        Ok(erased)
    }
}
