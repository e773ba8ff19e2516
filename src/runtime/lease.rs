//! A job that runs in one process at a time among those on a shared store: Telegram long
//! polling and IMAP reading (two processes polling would race for the same updates and
//! mails). The job runs while this process holds its lease ([`Coordination::lease`]),
//! renewed every [`LEASE_RENEW`]; when the lease is lost (another process holds it, or it
//! could not be renewed before it lapsed by this process's clock) the job is stopped, and
//! taken up again once the lease is back. A process that dies leaves the lease to lapse
//! after [`LEASE_TTL`]; the others ask for it every [`LEASE_RENEW`], so one of them takes
//! the job over within `LEASE_TTL + LEASE_RENEW` (8 s). On a store of one process the lease
//! is always held and the job simply runs.
//!
//! [`Coordination::lease`]: crate::store::Coordination::lease

use crate::store::Store;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long a job's lease lasts unless renewed, and how often it is renewed (or asked for).
pub const LEASE_TTL: Duration = Duration::from_secs(6);
pub const LEASE_RENEW: Duration = Duration::from_secs(2);

/// Asks for (or renews) the lease `name`; `None` when the store could not answer.
async fn ask(store: &Arc<dyn Store>, name: &'static str) -> Option<bool> {
    let store = store.clone();
    match tokio::task::spawn_blocking(move || store.lease(name, LEASE_TTL)).await {
        Ok(Ok(held)) => Some(held),
        Ok(Err(e)) => {
            tracing::warn!(lease = name, error = %e, "cannot ask for a lease; trying again");
            None
        }
        Err(e) => {
            tracing::warn!(lease = name, error = %e, "cannot ask for a lease; trying again");
            None
        }
    }
}

/// Runs `job` (given a token that stops it) while this process holds the lease `name`,
/// until `stop`; then lets go of the lease, so another process takes the job at once.
pub async fn run_leased<F, Fut>(
    store: Arc<dyn Store>,
    name: &'static str,
    stop: CancellationToken,
    job: F,
) where
    F: Fn(CancellationToken) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    while !stop.is_cancelled() {
        // Wait for the lease.
        let asked = Instant::now();
        if ask(&store, name).await != Some(true) {
            tokio::select! {
                _ = tokio::time::sleep(LEASE_RENEW) => continue,
                _ = stop.cancelled() => break,
            }
        }
        tracing::info!(
            lease = name,
            "this process holds the lease: the job runs here"
        );
        let mut until = asked + LEASE_TTL;
        let token = stop.child_token();
        let mut running = tokio::spawn(job(token.clone()));
        let mut ended = false;
        loop {
            tokio::select! {
                _ = &mut running => { ended = true; break }
                _ = tokio::time::sleep(LEASE_RENEW) => {}
            }
            let asked = Instant::now();
            match ask(&store, name).await {
                Some(true) => until = asked + LEASE_TTL,
                // Another process took it: it lapsed while this one could not renew it.
                Some(false) => break,
                // Still ours until it lapses by our clock (with a renewal's time to spare).
                None if Instant::now() + LEASE_RENEW < until => {}
                None => break,
            }
        }
        token.cancel();
        if ended {
            // It stopped on its own: not at once again.
            tokio::select! {
                _ = tokio::time::sleep(LEASE_RENEW) => {}
                _ = stop.cancelled() => {}
            }
        } else {
            let _ = running.await;
            if !stop.is_cancelled() {
                tracing::warn!(
                    lease = name,
                    "the lease went to another process: the job stopped here"
                );
            }
        }
    }
    let _ = tokio::task::spawn_blocking(move || store.release(name)).await;
}
