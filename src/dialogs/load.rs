//! Parses the TOML files of `dialogs/` and validates them before anything starts: every step
//! reference resolves, every step is reachable, every regex compiles, every text exists in every
//! configured language. A problem is reported with its file, its step and what is wrong.

mod check;
mod intent;
mod keys;
mod step;

pub(crate) use step::{RawStep, StepProblems};

use super::Bot;
use super::data::{Activities, Catalog, Faq};
use super::spec::{Dialog, Finish, FinishAction, Next};
use crate::cases::Service;
use check::{check_references, cross_check};
use intent::{RawIntent, parse_intent};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use step::parse_step;

pub use keys::{OFFICER_KEYS, SYSTEM_KEYS};

use crate::text::{I18n, LoadError, LoadErrors};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDialog {
    id: String,
    title: I18n,
    start: Option<String>,
    returning_start: Option<String>,
    #[serde(default)]
    requires_guest: bool,
    finish: RawFinish,
    #[serde(default)]
    steps: Vec<RawStep>,
    intent: Option<RawIntent>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFinish {
    action: String,
    service: Option<String>,
    message: Option<I18n>,
    title_field: Option<String>,
}

/// Everything loaded from a dialogs folder, before it is combined with the config.
pub struct Loaded {
    pub dialogs: BTreeMap<String, Dialog>,
    pub system: BTreeMap<String, I18n>,
    /// The officers' chat texts (`officers.toml`), each bilingual in one line.
    pub officers: BTreeMap<String, String>,
    pub catalog: Catalog,
    pub faq: Faq,
    pub activities: Activities,
    pub workflows: crate::cases::workflow::Workflows,
    /// The words of the understanding layer (`lexicon.toml`).
    pub lexicon: crate::understand::Lexicon,
}

/// The understanding layer's words, in the dialogs folder but not a dialog.
pub const LEXICON_FILE: &str = "lexicon.toml";

/// Loads and validates every dialog and data file in `dir` for the given languages.
pub fn load_dir(dir: &Path, languages: &[String]) -> Result<Loaded, LoadErrors> {
    let mut errors = Vec::new();
    let mut dialogs = BTreeMap::new();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(e) => {
            return Err(LoadErrors(vec![LoadError::new(
                &dir.display().to_string(),
                None,
                format!("cannot read the dialogs folder: {e}"),
            )]));
        }
    };
    files.sort();
    let mut system = None;
    let mut officers = None;
    for path in &files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(LoadError::new(&name, None, format!("cannot read: {e}")));
                continue;
            }
        };
        if name == LEXICON_FILE {
            continue; // not a dialog: loaded below
        }
        if name == "system.toml" {
            match parse_system(&name, &text, languages) {
                Ok(s) => system = Some(s),
                Err(mut e) => errors.append(&mut e),
            }
            continue;
        }
        if name == "officers.toml" {
            match parse_officer_texts(&name, &text) {
                Ok(s) => officers = Some(s),
                Err(mut e) => errors.append(&mut e),
            }
            continue;
        }
        match parse_dialog(&name, &text, languages) {
            Ok(d) => {
                if let Some(prev) = dialogs.get(&d.id) {
                    let prev: &Dialog = prev;
                    errors.push(LoadError::new(
                        &name,
                        None,
                        format!("dialog id `{}` is already used by {}", d.id, prev.file),
                    ));
                } else {
                    dialogs.insert(d.id.clone(), d);
                }
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if system.is_none() {
        errors.push(LoadError::new(
            "system.toml",
            None,
            "missing: the system texts (re-prompts, command answers) are required",
        ));
    }
    if officers.is_none() {
        errors.push(LoadError::new(
            "officers.toml",
            None,
            "missing: the texts of the officers' chat are required",
        ));
    }
    cross_check(&dialogs, &mut errors);
    let data_dir = dir.join("data");
    let catalog = Catalog::load(&data_dir.join("catalog.toml"), languages)
        .map_err(|e| errors.push(e))
        .ok();
    let faq = Faq::load(&data_dir.join("faq.toml"), languages)
        .map_err(|e| errors.push(e))
        .ok();
    let activities = Activities::load(&data_dir.join("activities.toml"))
        .map_err(|e| errors.push(e))
        .ok();
    let workflows = crate::cases::workflow::Workflows::load(&dir.join("workflows"), languages)
        .map_err(|mut e| errors.append(&mut e))
        .ok();
    let lexicon = crate::understand::Lexicon::load(&dir.join(LEXICON_FILE))
        .map_err(|e| {
            errors.extend(e.into_iter().map(|e| {
                LoadError::new(&e.file, None, format!("entry `{}`: {}", e.entry, e.problem))
            }))
        })
        .ok();
    if !errors.is_empty() {
        return Err(LoadErrors(errors));
    }
    Ok(Loaded {
        workflows: workflows.expect("checked above"),
        dialogs,
        system: system.expect("checked above"),
        officers: officers.expect("checked above"),
        catalog: catalog.expect("checked above"),
        faq: faq.expect("checked above"),
        activities: activities.expect("checked above"),
        lexicon: lexicon.expect("checked above"),
    })
}

impl Bot {
    /// Loads the dialogs folder named in the config and combines it with the office settings.
    pub fn load(config: &crate::config::Config) -> Result<Bot, crate::Error> {
        let loaded = load_dir(&config.dialogs_dir, &config.languages)?;
        let calendar = crate::cases::calendar::OfficeCalendar::from_config(&config.office)?;
        Ok(Bot::new(loaded, config, calendar))
    }
}

/// Parses and checks the system texts file (`system.toml`): every key in each language.
pub fn parse_system(
    file: &str,
    text: &str,
    languages: &[String],
) -> Result<BTreeMap<String, I18n>, Vec<LoadError>> {
    let raw: BTreeMap<String, I18n> =
        toml::from_str(text).map_err(|e| vec![LoadError::new(file, None, toml_problem(&e))])?;
    let mut errors = Vec::new();
    for key in SYSTEM_KEYS {
        match raw.get(*key) {
            None => errors.push(LoadError::new(
                file,
                None,
                format!("text `{key}` is missing"),
            )),
            Some(t) => check_i18n(
                file,
                None,
                &format!("text `{key}`"),
                t,
                languages,
                &mut errors,
            ),
        }
    }
    for key in raw.keys() {
        if !SYSTEM_KEYS.contains(&key.as_str()) {
            errors.push(LoadError::new(
                file,
                None,
                format!("text `{key}` is not a known system text"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(raw)
    } else {
        Err(errors)
    }
}

/// Parses and checks the officers' chat texts (`officers.toml`): every key, none unknown.
pub fn parse_officer_texts(
    file: &str,
    text: &str,
) -> Result<BTreeMap<String, String>, Vec<LoadError>> {
    let raw: BTreeMap<String, String> =
        toml::from_str(text).map_err(|e| vec![LoadError::new(file, None, toml_problem(&e))])?;
    let mut errors: Vec<LoadError> = OFFICER_KEYS
        .iter()
        .filter(|k| raw.get(**k).is_none_or(|t| t.trim().is_empty()))
        .map(|k| LoadError::new(file, None, format!("text `{k}` is missing")))
        .collect();
    errors.extend(
        raw.keys()
            .filter(|k| !OFFICER_KEYS.contains(&k.as_str()))
            .map(|k| {
                LoadError::new(
                    file,
                    None,
                    format!("text `{k}` is not a known officers' text"),
                )
            }),
    );
    if errors.is_empty() {
        Ok(raw)
    } else {
        Err(errors)
    }
}

/// Turns a TOML error into one line that keeps its position.
fn toml_problem(e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => format!("invalid TOML at byte {}: {msg}", span.start),
        None => format!("invalid TOML: {msg}"),
    }
}

fn check_i18n(
    file: &str,
    step: Option<&str>,
    what: &str,
    text: &I18n,
    languages: &[String],
    errors: &mut Vec<LoadError>,
) {
    for lang in languages {
        match text.get(lang) {
            None => errors.push(LoadError::new(
                file,
                step,
                format!("{what} has no `{lang}` translation"),
            )),
            Some(t) if t.trim().is_empty() => errors.push(LoadError::new(
                file,
                step,
                format!("{what} has an empty `{lang}` translation"),
            )),
            _ => {}
        }
    }
}

/// Where a step or an option goes, as a dialog file writes it: a step id, `@finish` or `@menu`.
pub(crate) fn parse_next(raw: &str) -> Next {
    match raw {
        "@finish" => Next::Finish,
        "@menu" => Next::Start("menu".into()),
        s => Next::Step(s.to_string()),
    }
}

/// Parses one dialog file and checks what can be checked inside it.
pub fn parse_dialog(
    file: &str,
    text: &str,
    languages: &[String],
) -> Result<Dialog, Vec<LoadError>> {
    let raw: RawDialog =
        toml::from_str(text).map_err(|e| vec![LoadError::new(file, None, toml_problem(&e))])?;
    let mut errors = Vec::new();
    check_i18n(file, None, "title", &raw.title, languages, &mut errors);
    if raw.steps.is_empty() {
        errors.push(LoadError::new(file, None, "has no steps"));
        return Err(errors);
    }
    let mut seen = BTreeSet::new();
    for s in &raw.steps {
        if !seen.insert(s.id.clone()) {
            errors.push(LoadError::new(file, Some(&s.id), "step id is used twice"));
        }
    }
    let mut steps = Vec::new();
    for (i, rs) in raw.steps.iter().enumerate() {
        let default_next = match raw.steps.get(i + 1) {
            Some(n) => Next::Step(n.id.clone()),
            None => Next::Finish,
        };
        if let Some(step) = parse_step(file, rs, default_next, languages, &mut errors) {
            steps.push(step);
        }
    }
    let action = parse_finish_action(file, &raw.finish, &mut errors);
    if let Some(m) = &raw.finish.message {
        check_i18n(file, None, "finish.message", m, languages, &mut errors);
    }
    let intent = parse_intent(file, raw.intent.as_ref(), &mut errors);
    let start = raw.start.clone().unwrap_or_else(|| raw.steps[0].id.clone());
    let dialog = Dialog {
        id: raw.id.clone(),
        file: file.to_string(),
        title: raw.title,
        start,
        returning_start: raw.returning_start,
        requires_guest: raw.requires_guest,
        steps,
        finish: Finish {
            action,
            message: raw.finish.message,
            title_field: raw.finish.title_field,
        },
        intent,
    };
    check_references(&dialog, &mut errors);
    if errors.is_empty() {
        Ok(dialog)
    } else {
        Err(errors)
    }
}

/// The action of a dialog's `[finish]`; an unknown one (or a case without its service) is
/// reported, and read as `none`.
fn parse_finish_action(
    file: &str,
    finish: &RawFinish,
    errors: &mut Vec<LoadError>,
) -> FinishAction {
    match finish.action.as_str() {
        "none" => FinishAction::None,
        "save_guest" => FinishAction::SaveGuest,
        "save_rating" => FinishAction::SaveRating,
        "book_appointment" => FinishAction::BookAppointment,
        "create_case" => match finish.service.as_deref().map(Service::from_prefix) {
            Some(Some(s)) => FinishAction::CreateCase(s),
            Some(None) => {
                errors.push(LoadError::new(
                    file,
                    None,
                    "finish.service must be REK, PRD or ADU",
                ));
                FinishAction::None
            }
            None => {
                errors.push(LoadError::new(
                    file,
                    None,
                    "finish.action `create_case` needs finish.service (REK, PRD or ADU)",
                ));
                FinishAction::None
            }
        },
        other => {
            errors.push(LoadError::new(
                file,
                None,
                format!(
                    "finish.action `{other}` is unknown (expected none, save_guest, create_case, save_rating or book_appointment)"
                ),
            ));
            FinishAction::None
        }
    }
}
