//! The `pstbot` binary as a user runs it: `check`, piped `chat`, and `serve` with `/healthz`.

use crate::support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};

fn pstbot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pstbot"));
    c.env_remove("PSTBOT_CONFIG").env("RUST_LOG", "warn");
    c
}

/// Runs a command that must succeed; returns what it printed.
fn succeeds(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn chat(config: &std::path::Path, script: &str) -> String {
    let mut child = pstbot()
        .args(["--config", config.to_str().unwrap(), "chat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "chat failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const GUEST_BOOK: &str = "ya\nBudi Santoso\nbudi@example.go.id\n08123456789\n1\n3\n4\n3\nDinas Kominfo Provinsi Bengkulu\n3\n2\nkirim\n";

#[test]
fn check_accepts_the_shipped_dialogs() {
    let said = succeeds(
        pstbot()
            .args(["--config", "config.example.toml", "check"])
            .current_dir(support::repo()),
    );
    assert!(said.starts_with("OK: 9 dialogs"), "{said}");
}

#[test]
fn check_rejects_a_broken_dialog_naming_file_and_step() {
    let dir = tempfile::tempdir().unwrap();
    let dialogs = dir.path().join("dialogs");
    std::fs::create_dir_all(dialogs.join("data")).unwrap();
    for e in std::fs::read_dir(support::repo().join("dialogs"))
        .unwrap()
        .chain(std::fs::read_dir(support::repo().join("dialogs/data")).unwrap())
    {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            let rel = e
                .path()
                .strip_prefix(support::repo().join("dialogs"))
                .unwrap()
                .to_path_buf();
            std::fs::copy(e.path(), dialogs.join(rel)).unwrap();
        }
    }
    let janji = dialogs.join("janji.toml");
    let text = std::fs::read_to_string(&janji).unwrap().replacen(
        "kind = \"appointment\"",
        "kind = \"appointment\"\nnext = \"nowhere\"",
        1,
    );
    std::fs::write(&janji, text).unwrap();
    let config = support::config_file(dir.path(), "127.0.0.1:0");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        &support::repo().join("dialogs").display().to_string(),
        &dialogs.display().to_string(),
    );
    std::fs::write(&config, text).unwrap();
    let out = pstbot()
        .args(["--config", config.to_str().unwrap(), "check"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("janji.toml, step `when`: goes to unknown step `nowhere`"),
        "{err}"
    );
}

#[test]
fn invalid_config_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = support::config_file(dir.path(), "127.0.0.1:0");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "timezone = \"Asia/Jakarta\"",
        "timezone = \"Asia/Bengkulu\"",
    );
    std::fs::write(&config, text).unwrap();
    let out = pstbot()
        .args(["--config", config.to_str().unwrap(), "serve"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`office.timezone`"));
}

#[test]
fn piped_chat_completes_the_guest_book_and_each_service() {
    let dir = tempfile::tempdir().unwrap();
    let config = support::config_file(dir.path(), "127.0.0.1:0");
    let fixtures = support::repo().join("tests/fixtures");
    let rek = format!(
        "halo\n1\n{GUEST_BOOK}tidak\nSurvei Kepuasan Layanan Perizinan 2027\nDinas PMPTSP Provinsi Bengkulu\nBidang Pengaduan\nSiti Aminah\n0736 21234\nPermendagri 18/2020\nMengukur kepuasan masyarakat atas layanan perizinan.\n1\nProvinsi Bengkulu\n1,3\n1\n01/03/2027\n30/04/2027\n5\nkarakteristik responden, kepuasan per unsur\nlaporan di situs dinas\n/file {}\n/file {}\nkirim\n",
        fixtures.join("kuesioner.pdf").display(),
        fixtures.join("surat-pengantar.pdf").display()
    );
    let out = chat(&config, &rek);
    assert!(out.contains("REK-2026-") || out.contains("REK-20"), "{out}");
    let rek_number = support::case_number(&out).expect("a case number is printed");
    assert!(rek_number.starts_with("REK-"));

    // Same person, new run: returning guest, a paid product and a complaint.
    let out = chat(
        &config,
        "menu\n2\n1\nkirim\n1\n2\nselesai\nSusenas Maret 2024 modul konsumsi\n2024\nProvinsi Bengkulu\n1\nBahan skripsi tentang kemiskinan\nlewati\nkirim\n",
    );
    assert!(out.contains("Selamat datang kembali"), "{out}");
    assert!(
        support::case_number(&out).is_some_and(|n| n.starts_with("PRD-")),
        "{out}"
    );
    let out = chat(
        &config,
        "menu\n3\n1\nkirim\n1\nPetugas loket datang terlambat pada hari Senin pagi.\n16/11/2026\nlewati\ntidak\n-\nkirim\nmenu\n4\n",
    );
    let adu = support::case_number(&out).expect("complaint number");
    assert!(adu.starts_with("ADU-"), "{out}");
    assert!(
        out.contains(&rek_number),
        "status lists the first case:\n{out}"
    );
}

#[test]
fn serve_answers_healthz_and_stops_on_sigint() {
    serve_then_stop("-INT");
}

#[test]
fn serve_stops_gracefully_on_sigterm() {
    serve_then_stop("-TERM");
}

/// `pstbot serve` in the background; its log goes to a pipe of its own, not the harness's.
fn serve(config: &std::path::Path) -> std::process::Child {
    pstbot()
        .args(["--config", config.to_str().unwrap(), "serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn serve_then_stop(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let config = support::config_file(dir.path(), &format!("127.0.0.1:{port}"));
    let mut child = serve(&config);
    let mut body = String::new();
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .unwrap();
            s.read_to_string(&mut body).unwrap();
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("\"status\":\"ok\""), "{body}");
    // Graceful shutdown, exit 0 (a killed process would not report success).
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "serve exits cleanly on {signal}: {status:?}"
    );
    // The store was closed properly: it opens at once.
    pstbot::store::sled::SledStore::open(&dir.path().join("data"), 8).unwrap();
}

#[test]
fn one_terminal_walks_a_recommendation_and_a_complaint_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let config = support::config_file(dir.path(), "127.0.0.1:0");
    let fixtures = support::repo().join("tests/fixtures");
    let q = fixtures.join("kuesioner.pdf").display().to_string();
    let letter = fixtures.join("surat-pengantar.pdf").display().to_string();
    let submit = format!(
        "halo\n1\n{GUEST_BOOK}tidak\nSurvei Kepuasan Layanan Perizinan 2027\nDinas PMPTSP Provinsi Bengkulu\nBidang Pengaduan\nSiti Aminah\n0736 21234\nPermendagri 18/2020\nMengukur kepuasan masyarakat atas layanan perizinan.\n1\nProvinsi Bengkulu\n1,3\n1\n01/03/2027\n30/04/2027\n5\nkarakteristik responden, kepuasan per unsur\nlaporan di situs dinas\n/file {q}\n/file {letter}\nkirim\n"
    );
    let walk = format!(
        "{submit}/as wali\nantrian\nkembalikan REK-2026-000001 Mohon lampirkan jadwal lapangan\n/as tamu\n/file {q}\nselesai\n/as wali\npindah REK-2026-000001 setujui\n/as rina\npindah REK-2026-000001 lengkap\npindah REK-2026-000001 ajukan\n/as kepala\npindah REK-2026-000001 tandatangani\n/as rina\nkirim REK-2026-000001\n/file {letter}\n/as tamu\nmenu\n7\n1\n5\n-\ntidak\n"
    );
    let out = chat(&config, &walk);
    // The applicant is told at each step, with the due date of the new stage.
    for fragment in [
        "REK-2026-000001",
        "── untuk / to terminal:tamu ──",
        "Mohon lampirkan jadwal lapangan",
        "sudah disetujui walidata",
        "Batas waktu tahap ini:",
        "[berkas / file: surat-pengantar.pdf",
        "── untuk / to chat petugas / officers' chat ──",
    ] {
        assert!(out.contains(fragment), "missing {fragment:?} in:\n{out}");
    }
    // A complaint escalates to the pimpinan, who answers it.
    let complaint = "/as tamu\nmenu\n3\n1\nkirim\n1\nPetugas loket bersikap tidak sopan kepada saya.\n20/11/2026\nlewati\nya\n-\nkirim\n/as rina\npindah ADU-2026-000001 terima\neskalasi ADU-2026-000001 Perlu keputusan pimpinan\n/as kepala\npindah ADU-2026-000001 jawab Petugas sudah dibina.\nlihat ADU-2026-000001\n";
    let out = chat(&config, complaint);
    for fragment in [
        "ADU-2026-000001",
        "Ditindaklanjuti pimpinan",
        "Petugas sudah dibina",
        "Budi Santoso",
        "Hasil tindak lanjut disampaikan",
    ] {
        assert!(out.contains(fragment), "missing {fragment:?} in:\n{out}");
    }
}

#[test]
fn backup_while_serving_then_restore_into_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let port = support::free_port();
    let config = support::config_file(dir.path(), &format!("127.0.0.1:{port}"));
    // Something to back up: a guest book entry and a case, through the terminal.
    chat(&config, &format!("menu\n3\n{GUEST_BOOK}"));
    let mut child = serve(&config);
    let sock = dir.path().join("data/admin.sock");
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let file = dir.path().join("pst.pstbak");
    let said = succeeds(
        pstbot()
            .args(["--config", config.to_str().unwrap(), "backup"])
            .arg(&file),
    );
    assert!(said.contains("backup written"), "{said}");
    // The report and the export also work while the service holds the store.
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let out = dir.path().join("laporan");
    let said = succeeds(
        pstbot()
            .args([
                "--config",
                config.to_str().unwrap(),
                "report",
                "--month",
                &month,
            ])
            .arg("--out")
            .arg(&out),
    );
    assert!(said.contains("Files / berkas"), "{said}");
    assert!(out.join(format!("laporan-{month}.xlsx")).exists());
    // (Office-local days: from yesterday to tomorrow covers today in any time zone.)
    let day = |d: i64| {
        (chrono::Utc::now() + chrono::Duration::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };
    let csv = succeeds(pstbot().args([
        "--config",
        config.to_str().unwrap(),
        "export",
        "guestbook",
        "--from",
        &day(-1),
        "--to",
        &day(1),
    ]));
    assert!(csv.contains("Budi Santoso"), "{csv}");
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());

    // Restore into a fresh folder: the guest is there.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("/data\"", "/restored\"");
    let config2 = dir.path().join("restore.toml");
    std::fs::write(&config2, text).unwrap();
    succeeds(
        pstbot()
            .args(["--config", config2.to_str().unwrap(), "restore"])
            .arg(&file),
    );
    let store = pstbot::store::sled::SledStore::open(&dir.path().join("restored"), 8).unwrap();
    use pstbot::store::prelude::*;
    let guests = store.guests().unwrap();
    assert_eq!(guests.len(), 1);
    assert_eq!(guests[0].name(), Some("Budi Santoso"));
    drop(store);
    // A second restore into the same folder is refused.
    let out = pstbot()
        .args(["--config", config2.to_str().unwrap(), "restore"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds data"));
}
