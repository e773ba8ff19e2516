//! The HTTP listener of `pstbot serve`, built to stay up under abuse: one client cannot take
//! the service down by opening many connections, sending half a request, or trickling bytes.
//!
//! - **Caps**: at most `max_connections` open connections in all, and `max_connections_per_ip`
//!   from one address; a connection over a cap is closed at once, so the others (a provider's
//!   webhook, a visitor's chat) keep their place. The total cap stays below the process's
//!   open-files limit ([`raise_open_files_limit`] lifts the soft limit to the hard one at start),
//!   so `accept` never fails for want of file descriptors while the service holds its own files.
//! - **Timeouts**: a request's headers must arrive within `header_read_timeout` — and the same
//!   clock runs while a kept-alive connection waits for its next request, so an idle or
//!   trickling connection is closed — and its body within `body_read_timeout`.
//! - **Graceful stop**: on shutdown no connection is accepted any more and the open ones finish
//!   their requests.

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How many connections, and how slow, the listener allows (`[http]` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections in all; `0`: derived from the open-files limit.
    pub max_connections: usize,
    /// Open connections from one address; `0`: no per-address cap (behind a reverse proxy,
    /// every visitor comes from the proxy's address).
    pub max_connections_per_ip: usize,
    /// Time for a request's headers to arrive, and for an idle kept-alive connection to send
    /// its next request.
    pub header_read_timeout: Duration,
    /// Time for a request's body to arrive.
    pub body_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 0,
            max_connections_per_ip: 256,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
        }
    }
}

/// File descriptors kept free of HTTP connections: the store's files, the outbox's and the
/// channels' own connections, the IMAP session, logs.
const FD_RESERVE: u64 = 256;

/// Lifts the soft open-files limit to the hard one (Linux starts processes at 1,024 while
/// allowing far more) and returns the limit now in force, when it can be read.
pub fn raise_open_files_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!(error = %e, "could not read or raise the open-files limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .ok()
                .map(|(soft, _)| soft)
        }
    }
}

impl Limits {
    /// The total cap in force: the configured one, never above what the open-files limit
    /// leaves after the reserve.
    pub fn total_cap(&self, open_files: Option<u64>) -> usize {
        let by_files = open_files
            .map(|n| n.saturating_sub(FD_RESERVE).max(16) as usize)
            .unwrap_or(4096);
        match self.max_connections {
            0 => by_files.min(65_536),
            n => n.min(by_files),
        }
    }
}

/// Counts open connections, in all and per address.
#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

/// A connection's place in the counts; given back when the connection ends.
struct Slot {
    counts: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.per_ip.remove(&self.ip);
            }
        }
    }
}

/// Takes a place for a connection from `ip`, or `None` when a cap is reached.
fn take_slot(
    counts: &Arc<Mutex<Counts>>,
    ip: IpAddr,
    total_cap: usize,
    per_ip_cap: usize,
) -> Option<Slot> {
    let mut c = counts.lock().unwrap_or_else(|e| e.into_inner());
    let from_ip = c.per_ip.get(&ip).copied().unwrap_or(0);
    if c.total >= total_cap || (per_ip_cap > 0 && from_ip >= per_ip_cap) {
        return None;
    }
    c.total += 1;
    *c.per_ip.entry(ip).or_insert(0) += 1;
    Some(Slot {
        counts: counts.clone(),
        ip,
    })
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes, then lets the open
/// connections finish. Handlers see the peer's address as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let total_cap = limits.total_cap(raise_open_files_limit());
    tracing::info!(
        max_connections = total_cap,
        per_ip = limits.max_connections_per_ip,
        "http: connection limits"
    );
    let app = app.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_read_timeout,
    ));
    let counts = Arc::new(Mutex::new(Counts::default()));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(limits.header_read_timeout))
        .keep_alive_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    let mut refused = RefusalLog::default();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_error(&e).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Some(slot) = take_slot(&counts, peer.ip(), total_cap, limits.max_connections_per_ip)
        else {
            refused.note(peer.ip());
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut req: axum::extract::Request<_>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                req
            })
            .map_request(|req: hyper::Request<hyper::body::Incoming>| {
                req.map(axum::body::Body::new)
            });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = conn.await {
                tracing::trace!(error = %e, "http: connection ended");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// What to do when `accept` fails: a connection that went away is nothing; running out of
/// file descriptors (which the caps should prevent) is logged and waited out briefly.
async fn accept_error(e: &std::io::Error) {
    use std::io::ErrorKind::*;
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted
    ) {
        return;
    }
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    let log = {
        let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
        let due = last.is_none_or(|t| t.elapsed() > Duration::from_secs(60));
        if due {
            *last = Some(Instant::now());
        }
        due
    };
    if log {
        tracing::error!(error = %e, "http: accept failed (logged once a minute)");
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Logs refused connections at most once a minute, with how many and from how many addresses
/// (never which: an address is personal data).
#[derive(Default)]
struct RefusalLog {
    since: Option<Instant>,
    count: u64,
}

impl RefusalLog {
    fn note(&mut self, _ip: IpAddr) {
        self.count += 1;
        if self
            .since
            .is_none_or(|t| t.elapsed() > Duration::from_secs(60))
        {
            tracing::warn!(
                refused = self.count,
                "http: connections over the caps refused (logged once a minute)"
            );
            self.since = Some(Instant::now());
            self.count = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_respect_both_caps_and_come_back() {
        let counts = Arc::new(Mutex::new(Counts::default()));
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let s1 = take_slot(&counts, a, 3, 2).unwrap();
        let s2 = take_slot(&counts, a, 3, 2).unwrap();
        assert!(take_slot(&counts, a, 3, 2).is_none(), "per-address cap");
        let s3 = take_slot(&counts, b, 3, 2).unwrap();
        assert!(take_slot(&counts, b, 3, 2).is_none(), "total cap");
        drop(s1);
        let s4 = take_slot(&counts, b, 3, 2).unwrap();
        drop((s2, s3, s4));
        let c = counts.lock().unwrap();
        assert_eq!(c.total, 0);
        assert!(c.per_ip.is_empty());
    }

    #[test]
    fn the_total_cap_stays_below_the_open_files_limit() {
        let l = Limits::default();
        assert_eq!(l.total_cap(Some(1024)), 768);
        assert_eq!(l.total_cap(Some(1_048_576)), 65_536);
        let set = Limits {
            max_connections: 500,
            ..l
        };
        assert_eq!(set.total_cap(Some(1024)), 500);
        assert_eq!(set.total_cap(Some(600)), 344);
    }
}
