//! `pstbot serve` against a client that tries to take it down (issue 17, item 4), with a real
//! TCP client on loopback: half-sent requests by the thousand, bytes trickled one at a time,
//! idle kept-alive connections — under a low open-files limit too. Other clients (another
//! loopback address, 127.0.0.2) keep being served throughout.

use crate::support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A TCP connection from `source` (a loopback address) to the service.
fn connect_from(source: &str, port: u16) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    let from: SocketAddr = format!("{source}:0").parse().expect("an address");
    socket.bind(&from.into())?;
    let to: SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
    socket.connect_timeout(&to.into(), Duration::from_secs(2))?;
    let s: TcpStream = socket.into();
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    Ok(s)
}

/// `GET /healthz` from `source`: the status line, or why there was none.
fn healthz_from(source: &str, port: u16) -> Result<String, String> {
    let mut s = connect_from(source, port).map_err(|e| format!("connect: {e}"))?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut body = String::new();
    s.read_to_string(&mut body)
        .map_err(|e| format!("read: {e}"))?;
    Ok(body.lines().next().unwrap_or("").to_string())
}

const SMS_SECRET: &str = "abuse-sms-secret";

/// The SMS gateway's webhook call from `source` (a text from a citizen): the status line.
fn sms_webhook_from(source: &str, port: u16, id: &str) -> Result<String, String> {
    let mut s = connect_from(source, port).map_err(|e| format!("connect: {e}"))?;
    let body = format!(r#"{{"id":"{id}","from":"+6281234567890","text":"halo"}}"#);
    let request = format!(
        "POST /webhook/sms HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\nX-Sms-Secret: {SMS_SECRET}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = String::new();
    s.read_to_string(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    Ok(answer.lines().next().unwrap_or("").to_string())
}

/// Waits until the service answers `/healthz` (at most 10 s).
fn wait_until_serving(port: u16) {
    let start = Instant::now();
    while healthz_from("127.0.0.2", port).is_err() {
        assert!(start.elapsed() < Duration::from_secs(10), "never served");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A config serving on `port` with `http` lines added to `[http]`, and the SMS webhook.
fn config_with(dir: &std::path::Path, port: u16, http: &str) -> std::path::PathBuf {
    let path = support::config_file(dir, &format!("127.0.0.1:{port}"));
    let text = std::fs::read_to_string(&path).unwrap();
    let listen = format!("listen = \"127.0.0.1:{port}\"");
    assert!(
        text.contains(&listen),
        "the example config's [http] section"
    );
    // With the SMS gateway's webhook (its replies go nowhere: only the webhook's answer
    // matters).
    let text = format!(
        "{}\n[sms]\ngateway_url = \"http://127.0.0.1:9/\"\napi_key = \"k\"\n\
         webhook_secret = \"{SMS_SECRET}\"\n",
        text.replacen(&listen, &format!("{listen}\n{http}"), 1)
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// 1,100 half-sent requests from one client under `ulimit -n 1024`: the client gets its share
/// (the per-address cap), the service never runs out of file descriptors, and another client
/// is answered at once — during the flood and after it.
#[test]
fn a_thousand_half_sent_requests_from_one_client_leave_the_service_answerable() {
    let _ = rlimit::increase_nofile_limit(8192);
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let config = config_with(dir.path(), port, "");
    let log = dir.path().join("serve.log");
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 1024 && exec '{}' --config '{}' serve 2> '{}'",
            env!("CARGO_BIN_EXE_pstbot"),
            config.display(),
            log.display()
        ))
        .env_remove("PSTBOT_CONFIG")
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    wait_until_serving(port);
    let mut flood = Vec::new();
    for _ in 0..1100 {
        match connect_from("127.0.0.1", port) {
            Ok(mut s) => {
                let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ");
                flood.push(s);
            }
            Err(e) => panic!("the listener stopped taking connections: {e}"),
        }
    }
    // The flood holds its connections; another client is served meanwhile, and the SMS
    // gateway's webhook (from its own address) takes citizens' messages.
    let during = Instant::now();
    for i in 0..5 {
        assert_eq!(
            healthz_from("127.0.0.2", port).as_deref(),
            Ok("HTTP/1.1 200 OK"),
            "another client during the flood"
        );
        assert_eq!(
            sms_webhook_from("127.0.0.3", port, &format!("flood-{i}")).as_deref(),
            Ok("HTTP/1.1 200 OK"),
            "the SMS webhook during the flood"
        );
    }
    // (RELIABILITY.md quotes this line: `cargo test --test integration abuse:: -- --nocapture`)
    eprintln!(
        "during the flood: 5 health checks and 5 SMS webhook calls answered in {:?}",
        during.elapsed()
    );
    // Most of the flood was refused at once (closed by the service); the rest waits for its
    // headers (open, nothing to read yet).
    let refused = flood
        .iter_mut()
        .filter(|s| {
            s.set_nonblocking(true).unwrap();
            match (&**s).read(&mut [0u8; 64]) {
                // Closed (0 bytes) or answered and closed: refused either way.
                Ok(_n) => true,
                Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
            }
        })
        .count();
    eprintln!("half-sent flood: {refused} of 1100 refused at once");
    assert!(
        (1100 - 256..1100).contains(&refused),
        "the per-address cap (256) refuses the rest: {refused} refused"
    );
    drop(flood);
    assert_eq!(
        healthz_from("127.0.0.1", port).as_deref(),
        Ok("HTTP/1.1 200 OK"),
        "the flooding address itself, once it lets go"
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        !log.contains("Too many open files"),
        "the service never ran out of descriptors: {log}"
    );
}

/// Headers trickled a byte a second, a body that never comes, and an idle kept-alive
/// connection are all closed after the configured time; a normal client is served meanwhile.
#[test]
fn trickling_stalled_and_idle_connections_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let config = config_with(
        dir.path(),
        port,
        "header_read_timeout = \"2s\"\nbody_read_timeout = \"2s\"",
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pstbot"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env_remove("PSTBOT_CONFIG")
        .env("RUST_LOG", "warn")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until_serving(port);
    let closed_within = |mut s: TcpStream, feed: &'static [u8]| {
        let start = Instant::now();
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut fed = 0;
        loop {
            assert!(
                start.elapsed() < Duration::from_secs(8),
                "still open after 8 s"
            );
            if fed < feed.len() && s.write_all(&feed[fed..fed + 1]).is_err() {
                return start.elapsed();
            }
            fed += 1;
            let mut buf = [0u8; 512];
            match s.read(&mut buf) {
                Ok(0) => return start.elapsed(),
                Ok(_) => {} // a 408 or similar before the close
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return start.elapsed(),
            }
        }
    };
    // One header byte every half second, never finished.
    let trickle = connect_from("127.0.0.1", port).unwrap();
    let took = closed_within(
        trickle,
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    );
    assert!(took >= Duration::from_secs(1), "{took:?}");
    eprintln!("trickled headers closed after {took:?}");
    // A body announced and never sent.
    let mut stalled = connect_from("127.0.0.1", port).unwrap();
    stalled
        .write_all(
            format!(
                "POST /webhook/sms HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\
                 Content-Type: application/json\r\nX-Sms-Secret: {SMS_SECRET}\r\n\r\n{{"
            )
            .as_bytes(),
        )
        .unwrap();
    eprintln!(
        "stalled body closed after {:?}",
        closed_within(stalled, b"")
    );
    // A kept-alive connection left idle after a request.
    let mut idle = connect_from("127.0.0.1", port).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 1024];
    let n = idle.read(&mut first).unwrap();
    assert!(first[..n].starts_with(b"HTTP/1.1 200"));
    eprintln!(
        "idle keep-alive closed after {:?}",
        closed_within(idle, b"")
    );
    assert_eq!(
        healthz_from("127.0.0.2", port).as_deref(),
        Ok("HTTP/1.1 200 OK")
    );
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
}
