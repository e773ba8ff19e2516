#![allow(dead_code)]
//! A switchable fault injector on 127.0.0.1, in front of any fake provider (HTTP, SMTP, IMAP):
//! pstbot talks to the proxy's port; the test sets how the "provider" behaves meanwhile.
//!
//! - [`Mode::Pass`]: bytes go both ways unchanged;
//! - [`Mode::Down`]: the port is closed (connection refused), open connections are cut;
//! - [`Mode::Slow`]: connections are accepted and held this long before anything is passed;
//! - [`Mode::Drop`]: the request reaches the provider, the answer is cut after a few bytes;
//! - [`Mode::Answer`]: the proxy itself answers every connection with these bytes and closes
//!   (an HTTP 429/5xx/garbage answer, an SMTP greeting refusing service) — the provider never
//!   sees the request.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinHandle;

#[derive(Debug, Clone)]
pub enum Mode {
    Pass,
    Down,
    Slow(Duration),
    Drop,
    Answer(Vec<u8>),
}

impl Mode {
    /// An HTTP answer with `status`, an optional `Retry-After` and `body`.
    pub fn http(status: u16, retry_after: Option<u64>, body: &str) -> Mode {
        let retry = retry_after
            .map(|s| format!("Retry-After: {s}\r\n"))
            .unwrap_or_default();
        Mode::Answer(
            format!(
                "HTTP/1.1 {status} Fault\r\nContent-Type: application/json\r\n{retry}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        )
    }

    /// `200 OK` with a body that is not what the API documents.
    pub fn garbage(body: &str) -> Mode {
        Mode::http(200, None, body)
    }

    pub fn name(&self) -> String {
        match self {
            Mode::Pass => "pass".into(),
            Mode::Down => "down".into(),
            Mode::Slow(d) => format!("slow {d:?}"),
            Mode::Drop => "drop mid-answer".into(),
            Mode::Answer(b) => {
                let s = String::from_utf8_lossy(b);
                let first = s.lines().next().unwrap_or("").to_string();
                let body = s.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
                format!("answer {first} {body}")
            }
        }
    }
}

struct Inner {
    mode: Mode,
    listener: Option<JoinHandle<()>>,
    conns: Vec<JoinHandle<()>>,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    upstream: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FaultProxy {
    /// A proxy to `upstream`, passing everything.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = socket.local_addr().unwrap();
        let p = FaultProxy {
            addr,
            upstream,
            inner: Arc::new(Mutex::new(Inner {
                mode: Mode::Pass,
                listener: None,
                conns: Vec::new(),
            })),
        };
        p.listen(socket.listen(128).unwrap());
        p
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn listen(&self, listener: tokio::net::TcpListener) {
        let inner = self.inner.clone();
        let upstream = self.upstream;
        let task = tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    continue;
                };
                let mode = inner.lock().unwrap().mode.clone();
                let t = tokio::spawn(serve(conn, upstream, mode));
                let mut i = inner.lock().unwrap();
                i.conns.retain(|c| !c.is_finished());
                i.conns.push(t);
            }
        });
        self.inner.lock().unwrap().listener = Some(task);
    }

    /// Switches the behaviour: open connections are cut, so pooled ones see the new mode too.
    pub async fn set(&self, mode: Mode) {
        let rebind = {
            let mut i = self.inner.lock().unwrap();
            for c in i.conns.drain(..) {
                c.abort();
            }
            let was_down = i.listener.is_none();
            if matches!(mode, Mode::Down)
                && let Some(l) = i.listener.take()
            {
                l.abort();
            }
            i.mode = mode.clone();
            was_down && !matches!(mode, Mode::Down)
        };
        if rebind {
            // The same port again, as a provider coming back.
            for _ in 0..100 {
                let socket = TcpSocket::new_v4().unwrap();
                socket.set_reuseaddr(true).unwrap();
                if socket.bind(self.addr).is_ok()
                    && let Ok(l) = socket.listen(128)
                {
                    self.listen(l);
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("cannot listen on {} again", self.addr);
        }
        // Let the aborted listener release the port before anyone connects.
        tokio::task::yield_now().await;
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let mut i = self.inner.lock().unwrap();
        if let Some(l) = i.listener.take() {
            l.abort();
        }
        for c in i.conns.drain(..) {
            c.abort();
        }
    }
}

async fn serve(mut conn: TcpStream, upstream: SocketAddr, mode: Mode) {
    match mode {
        Mode::Down => {}
        Mode::Answer(bytes) => {
            // Read what the client sends first (an HTTP request), unless it waits for a
            // greeting (SMTP, IMAP): then answer at once.
            let mut buf = [0u8; 16 * 1024];
            let _ = tokio::time::timeout(Duration::from_millis(200), conn.read(&mut buf)).await;
            let _ = conn.write_all(&bytes).await;
            let _ = conn.shutdown().await;
        }
        Mode::Slow(d) => {
            tokio::time::sleep(d).await;
            pass(conn, upstream).await;
        }
        Mode::Pass => pass(conn, upstream).await,
        Mode::Drop => {
            let Ok(mut up) = TcpStream::connect(upstream).await else {
                return;
            };
            let (mut cr, mut cw) = conn.split();
            let (mut ur, mut uw) = up.split();
            let to_up = tokio::io::copy(&mut cr, &mut uw);
            let cut = async {
                let mut buf = [0u8; 12];
                if let Ok(n) = ur.read(&mut buf).await {
                    let _ = cw.write_all(&buf[..n.min(12)]).await;
                }
            };
            tokio::select! {
                _ = to_up => {}
                _ = cut => {}
            }
            // Both sides are dropped here: the answer stops mid-way.
        }
    }
}

async fn pass(mut conn: TcpStream, upstream: SocketAddr) {
    if let Ok(mut up) = TcpStream::connect(upstream).await {
        let _ = tokio::io::copy_bidirectional(&mut conn, &mut up).await;
    }
}
