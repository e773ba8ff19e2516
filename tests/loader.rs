//! The dialog loader refuses every kind of broken dialog with the file, the step and the
//! problem; the shipped dialogs load clean.

use crate::support;
// A copy of the shipped dialogs with one file edited: here, broken.
use crate::support::edited_dialogs as broken;

use pstbot::dialogs::load::load_dir;
use pstbot::text::LoadError;
use std::path::Path;

fn langs() -> Vec<String> {
    vec!["id".into(), "en".into()]
}

fn errors_of(dir: &Path) -> Vec<LoadError> {
    match load_dir(dir, &langs()) {
        Ok(_) => panic!("a broken dialog was accepted"),
        Err(e) => e.0,
    }
}

fn assert_error(errors: &[LoadError], file: &str, step: Option<&str>, fragment: &str) {
    assert!(
        errors
            .iter()
            .any(|e| e.file == file && e.step.as_deref() == step && e.problem.contains(fragment)),
        "no error {file} / {step:?} / {fragment:?} in {errors:#?}"
    );
}

#[test]
fn shipped_dialogs_load() {
    let loaded = load_dir(&support::repo().join("dialogs"), &langs()).unwrap();
    for id in [
        "menu",
        "guestbook",
        "rekomendasi",
        "produk",
        "pengaduan",
        "penilaian",
        "status",
        "info",
        "janji",
    ] {
        assert!(loaded.dialogs.contains_key(id), "{id} is shipped");
    }
}

#[test]
fn unknown_step_is_refused() {
    let dir = broken("pengaduan.toml", |s| {
        s.replacen(
            "id = \"occurred_on\"",
            "id = \"occurred_on\"\nnext = \"no_such_step\"",
            1,
        )
    });
    let errors = errors_of(dir.path());
    assert_error(
        &errors,
        "pengaduan.toml",
        Some("occurred_on"),
        "unknown step `no_such_step`",
    );
}

#[test]
fn unreachable_step_is_refused() {
    let dir = broken("janji.toml", |s| {
        format!("{s}\n[[steps]]\nid = \"orphan\"\nkind = \"text\"\nlabel = {{ id = \"x\", en = \"x\" }}\nprompt = {{ id = \"x\", en = \"x\" }}\n")
            .replacen("id = \"review\"\nkind = \"summary\"", "id = \"review\"\nkind = \"summary\"\nnext = \"@finish\"", 1)
    });
    let errors = errors_of(dir.path());
    assert_error(&errors, "janji.toml", Some("orphan"), "unreachable");
}

#[test]
fn bad_regex_is_refused() {
    let dir = broken("guestbook.toml", |s| {
        s.replacen("pattern = \"^[", "pattern = \"^(", 1)
    });
    let errors = errors_of(dir.path());
    assert_error(
        &errors,
        "guestbook.toml",
        Some("name"),
        "pattern does not compile",
    );
}

#[test]
fn missing_translation_is_refused() {
    let dir = broken("status.toml", |s| {
        s.lines()
            .filter(|l| !l.starts_with("prompt.en"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let errors = errors_of(dir.path());
    let step = std::fs::read_to_string(support::repo().join("dialogs/status.toml"))
        .unwrap()
        .lines()
        .skip_while(|l| !l.starts_with("[[steps]]"))
        .find_map(|l| {
            l.strip_prefix("id = \"")
                .map(|r| r.trim_end_matches('"').to_string())
        })
        .unwrap();
    assert_error(
        &errors,
        "status.toml",
        Some(&step),
        "prompt has no `en` translation",
    );
}

#[test]
fn missing_system_text_and_unknown_keys_and_kinds_are_refused() {
    let dir = broken("system.toml", |s| {
        s.replacen("[expect_email]", "[expect_emial]", 1)
    });
    let errors = errors_of(dir.path());
    assert_error(
        &errors,
        "system.toml",
        None,
        "text `expect_email` is missing",
    );
    assert_error(
        &errors,
        "system.toml",
        None,
        "text `expect_emial` is not a known system text",
    );

    let dir = broken("officers.toml", |s| {
        s.replacen("officers_new_case =", "officers_new_cas =", 1)
    });
    let errors = errors_of(dir.path());
    assert_error(
        &errors,
        "officers.toml",
        None,
        "text `officers_new_case` is missing",
    );
    assert_error(
        &errors,
        "officers.toml",
        None,
        "text `officers_new_cas` is not a known officers' text",
    );

    let dir = broken("janji.toml", |s| {
        s.replacen(
            "kind = \"appointment\"",
            "kind = \"appointment\"\nmultiple = true",
            1,
        )
    });
    assert_error(
        &errors_of(dir.path()),
        "janji.toml",
        Some("when"),
        "key `multiple` is not used by kind `appointment`",
    );

    let dir = broken("janji.toml", |s| {
        s.replacen("kind = \"appointment\"", "kind = \"calendar\"", 1)
    });
    assert_error(
        &errors_of(dir.path()),
        "janji.toml",
        Some("when"),
        "kind `calendar` is unknown",
    );

    let dir = broken("janji.toml", |s| {
        s.replacen(
            "kind = \"appointment\"",
            "kind = \"appointment\"\ncolour = \"red\"",
            1,
        )
    });
    assert_error(
        &errors_of(dir.path()),
        "janji.toml",
        None,
        "unknown field `colour`",
    );
}

#[test]
fn a_menu_option_starting_an_unknown_dialog_is_refused() {
    let dir = broken("menu.toml", |s| {
        s.replacen("start = \"janji\"", "start = \"janjian\"", 1)
    });
    assert_error(
        &errors_of(dir.path()),
        "menu.toml",
        Some("main"),
        "starts unknown dialog `janjian`",
    );
}

#[test]
fn broken_data_files_are_refused() {
    let dir = broken("data/catalog.toml", |s| {
        s.replacen("tariff =", "tarif =", 1)
    });
    let errors = errors_of(dir.path());
    assert!(
        errors.iter().any(|e| e.file == "data/catalog.toml"),
        "{errors:#?}"
    );
}

#[test]
fn all_problems_are_reported_at_once() {
    let dir = broken("pengaduan.toml", |s| {
        s.replacen(
            "id = \"occurred_on\"",
            "id = \"occurred_on\"\nnext = \"nowhere\"",
            1,
        )
        .replacen("kind = \"date\"", "kind = \"date\"\nmin_len = 3", 1)
    });
    let errors = errors_of(dir.path());
    assert!(errors.len() >= 2, "{errors:#?}");
    let all = pstbot::text::LoadErrors(errors).to_string();
    assert!(
        all.contains("pengaduan.toml, step `occurred_on`: goes to unknown step `nowhere`"),
        "{all}"
    );
}

#[test]
fn broken_workflows_are_refused_naming_file_and_state() {
    let dir = broken("workflows/adu.toml", |s| {
        s.replacen("to = \"review\"", "to = \"reveiw\"", 1)
    });
    assert_error(
        &errors_of(dir.path()),
        "workflows/adu.toml",
        Some("terima"),
        "unknown state `reveiw`",
    );

    let dir = broken("workflows/adu.toml", |s| {
        s.replacen("sla = \"10 working_days\"", "sla = \"ten days\"", 1)
    });
    assert_error(
        &errors_of(dir.path()),
        "workflows/adu.toml",
        Some("review"),
        "sla `ten days`",
    );

    let dir = broken("workflows/adu.toml", |s| {
        s.replacen(
            "to = \"review\"\nroles = [\"petugas\"]",
            "to = \"review\"\nroles = [\"satpam\"]",
            1,
        )
    });
    assert_error(
        &errors_of(dir.path()),
        "workflows/adu.toml",
        Some("terima"),
        "role `satpam` is unknown",
    );

    let dir = broken("workflows/adu.toml", |s| {
        s.replacen(
            "kind = \"return\"\nnote = \"required\"",
            "kind = \"return\"\nnote = \"optional\"",
            1,
        )
    });
    assert_error(
        &errors_of(dir.path()),
        "workflows/adu.toml",
        Some("minta_info"),
        "a return must require a note",
    );

    let dir = broken("workflows/adu.toml", |s| {
        s.lines()
            .filter(|l| !l.starts_with("notify.en = \"Complaint {case} has been taken up"))
            .collect::<Vec<_>>()
            .join("\n")
    });
    assert_error(
        &errors_of(dir.path()),
        "workflows/adu.toml",
        Some("terima"),
        "notify has no `en` translation",
    );

    // A state nobody can reach, and one that is not final but cannot be left.
    let dir = broken("workflows/adu.toml", |s| {
        format!("{s}\n[[states]]\nid = \"limbo\"\nlabel = {{ id = \"x\", en = \"x\" }}\n")
    });
    let errors = errors_of(dir.path());
    assert_error(&errors, "workflows/adu.toml", Some("limbo"), "unreachable");
    assert_error(
        &errors,
        "workflows/adu.toml",
        Some("limbo"),
        "no transition leaves it",
    );

    // A profile left without a complaints workflow.
    let dir = broken("workflows/adu.toml", |s| {
        s.replacen(
            "profiles = [\"bengkulu\", \"nasional\", \"lubuklinggau\"]",
            "profiles = [\"bengkulu\", \"nasional\"]",
            1,
        )
    });
    assert_error(
        &errors_of(dir.path()),
        "workflows",
        None,
        "profile `lubuklinggau` has no ADU workflow",
    );
}

#[test]
fn understanding_words_are_checked() {
    // The same `also` word on two options of one step.
    let dir = broken("guestbook.toml", |s| {
        s.replacen(
            "also = [\"perempuan\",",
            "also = [\"pria\", \"perempuan\",",
            1,
        )
    });
    assert_error(
        &errors_of(dir.path()),
        "guestbook.toml",
        Some("gender"),
        "also `pria` is on options `L` and `P`",
    );

    // An intent with a bad pattern, a phrase of one word and a keyword of two.
    let dir = broken("status.toml", |s| {
        s.replacen("patterns = ['", "patterns = ['(unclosed', '", 1)
            .replacen("phrases = [\"cek status\",", "phrases = [\"cek\",", 1)
            .replacen("keywords = [\"status\",", "keywords = [\"cek status\",", 1)
    });
    let errors = errors_of(dir.path());
    assert_error(
        &errors,
        "status.toml",
        None,
        "intent: pattern `(unclosed` does not compile",
    );
    assert_error(
        &errors,
        "status.toml",
        None,
        "intent: phrase `cek` must have two words",
    );
    assert_error(
        &errors,
        "status.toml",
        None,
        "intent: keyword `cek status` must be one word",
    );

    // An unknown key in [intent].
    let dir = broken("status.toml", |s| {
        s.replacen("[intent]", "[intent]\nwords = [\"x\"]", 1)
    });
    assert_error(
        &errors_of(dir.path()),
        "status.toml",
        None,
        "unknown field `words`",
    );

    // The lexicon: a word under two standard words, and a missing lexicon.
    let dir = broken("lexicon.toml", |s| {
        s.replacen("saya = [\"sy\",", "saya = [\"gak\", \"sy\",", 1)
    });
    assert_error(
        &errors_of(dir.path()),
        "lexicon.toml",
        None,
        "entry `words.tidak`: `gak` is also listed under `saya`",
    );
    let dir = broken("lexicon.toml", |_| String::new());
    assert_error(&errors_of(dir.path()), "lexicon.toml", None, "invalid TOML");
}

#[test]
fn the_lexicon_file_is_not_read_as_a_dialog() {
    let loaded = load_dir(&support::repo().join("dialogs"), &langs()).unwrap();
    assert!(loaded.dialogs.values().all(|d| d.file != "lexicon.toml"));
    assert!(!loaded.dialogs["pengaduan"].intent.keywords.is_empty());
    assert!(loaded.catalog.products.iter().any(|p| !p.also.is_empty()));
}
