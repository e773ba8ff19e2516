//! Stop mid-dialog, start again on the same sled directory: the conversation continues where it
//! stopped and case numbers continue.

use crate::support;

use support::{Chat, monday_morning};

#[tokio::test]
async fn a_restart_resumes_the_dialog_and_continues_case_numbers() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut t = Chat::sled(dir.path(), monday_morning());
        t.say("halo").await;
        t.expect("3", &["setuju"]).await;
        t.fill_guest_book("Rudi Hartono").await;
        t.expect("kirim", &["tentang apa"]).await;
        t.expect("2", &["Ceritakan"]).await;
        t.expect(
            "Tabel kemiskinan kabupaten di situs web tidak bisa diunduh sejak minggu lalu.",
            &["Kapan"],
        )
        .await;
        // The process stops here (the runtime and its store are dropped).
    }
    {
        let mut t = Chat::sled(dir.path(), monday_morning() + chrono::Duration::minutes(30));
        t.expect("kembali", &["Ceritakan"]).await; // the step before is remembered too
        t.expect(
            "Tabel kemiskinan kabupaten di situs web tidak bisa diunduh sejak minggu lalu.",
            &["Kapan"],
        )
        .await;
        t.expect("16/11/2026", &["bukti"]).await;
        t.expect("lewati", &["dirahasiakan"]).await;
        t.expect("tidak", &["LAPOR"]).await;
        t.expect("-", &["Mohon periksa", "tidak bisa diunduh"])
            .await;
        t.expect("kirim", &["ADU-2026-000001"]).await;
        t.expect("menu", &["Pengaduan"]).await;
        t.expect("3", &["Selamat datang kembali, Rudi Hartono"])
            .await;
        t.expect("1", &["Mohon periksa"]).await;
        t.expect("kirim", &["tentang apa"]).await;
    }
    {
        let mut t = Chat::sled(dir.path(), monday_morning() + chrono::Duration::hours(1));
        t.expect("3", &["Ceritakan"]).await;
        t.expect(
            "Petugas loket tidak ada di tempat pada jam layanan hari Senin.",
            &["Kapan"],
        )
        .await;
        t.expect("23/11/2026", &["bukti"]).await;
        t.expect("lewati", &["dirahasiakan"]).await;
        t.expect("tidak", &["LAPOR"]).await;
        t.expect("-", &["Mohon periksa"]).await;
        t.expect("kirim", &["ADU-2026-000002"]).await;
    }
}
