//! The fuzz corpora as a regression suite: every file in `fuzz/seeds/<target>/` (the documented
//! payloads the fuzzer starts from, by name) and `fuzz/corpus/<target>/` (what `cargo fuzz`
//! found and kept, minimized) goes through the same function the fuzz target calls
//! (`pstbot::fuzzing`), so a fixed crash stays fixed on stable `cargo test`.

use std::path::Path;

fn corpus(target: &str) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for kind in ["seeds", "corpus"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz")
            .join(kind)
            .join(target);
        files.extend(
            std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_file()),
        );
    }
    files.sort();
    files
}

#[test]
fn every_corpus_file_replays_without_a_panic() {
    let mut total = 0;
    for (name, run) in pstbot::fuzzing::TARGETS {
        let files = corpus(name);
        assert!(
            !files.is_empty(),
            "fuzz/seeds/{name} and fuzz/corpus/{name} are empty"
        );
        for f in &files {
            let data = std::fs::read(f).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{name}: {} panics", f.display());
        }
        println!("{name}: {} seed and corpus files replayed", files.len());
        total += files.len();
    }
    println!("{total} corpus files replayed in all");
}

/// The seeds are the documented payloads: they must be read as messages, not refused, or the
/// fuzzer would start from nothing useful.
#[test]
fn the_seeds_are_understood() {
    use pstbot::channels::whatsapp::translate::parse;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let wa = std::fs::read(root.join("whatsapp/text.json")).unwrap();
    assert_eq!(
        parse(&wa, pstbot::fuzzing::WHATSAPP_PHONE_NUMBER_ID)
            .unwrap()
            .len(),
        1
    );
    let sms = std::fs::read(root.join("sms/form.bin")).unwrap();
    assert!(pstbot::channels::sms::parse_inbound(&sms[1..], true).is_ok());
    let tg = std::fs::read(root.join("telegram/text.json")).unwrap();
    assert!(serde_json::from_slice::<teloxide::types::Update>(&tg).is_ok());
    let inputs =
        pstbot::fuzzing::engine_inputs(&std::fs::read(root.join("engine/complaint.bin")).unwrap());
    assert_eq!(inputs.len(), 12);
}
