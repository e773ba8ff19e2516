//! Parses the TOML files of `dialogs/` and validates them before anything starts: every step
//! reference resolves, every step is reachable, every regex compiles, every text exists in every
//! configured language. A problem is reported with its file, its step and what is wrong.

use super::Bot;
use super::data::{Activities, Catalog, Faq};
use super::spec::*;
use crate::cases::Service;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFinish {
    action: String,
    service: Option<String>,
    message: Option<I18n>,
    title_field: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    value: String,
    label: I18n,
    next: Option<String>,
    start: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: String,
    kind: String,
    field: Option<String>,
    prompt: Option<I18n>,
    label: Option<I18n>,
    help: Option<I18n>,
    #[serde(default)]
    optional: bool,
    next: Option<String>,
    // text
    min_len: Option<usize>,
    max_len: Option<usize>,
    pattern: Option<String>,
    pattern_hint: Option<I18n>,
    // choice
    options: Option<Vec<RawOption>>,
    multiple: Option<bool>,
    // yes_no
    next_yes: Option<String>,
    next_no: Option<String>,
    // email, phone
    prefill: Option<bool>,
    mobile_only: Option<bool>,
    // number, date
    min: Option<toml::Value>,
    max: Option<toml::Value>,
    integer: Option<bool>,
    not_before_field: Option<String>,
    // appointment
    min_lead_minutes: Option<i64>,
    max_days_ahead: Option<i64>,
    // attachment
    accept: Option<Vec<String>>,
    max_bytes: Option<u64>,
    // case_pick
    filter: Option<String>,
}

impl RawStep {
    /// The kind-specific keys that are set, to refuse the ones a kind does not use.
    fn set_keys(&self) -> Vec<&'static str> {
        let mut keys = Vec::new();
        macro_rules! check {
            ($($f:ident),*) => { $( if self.$f.is_some() { keys.push(stringify!($f)); } )* };
        }
        check!(
            min_len,
            max_len,
            pattern,
            pattern_hint,
            options,
            multiple,
            next_yes,
            next_no,
            prefill,
            mobile_only,
            min,
            max,
            integer,
            not_before_field,
            min_lead_minutes,
            max_days_ahead,
            accept,
            max_bytes,
            filter
        );
        keys
    }
}

/// Which kind-specific keys each kind accepts.
fn allowed_keys(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "text" => &["min_len", "max_len", "pattern", "pattern_hint"],
        "choice" => &["options", "multiple"],
        "yes_no" => &["next_yes", "next_no"],
        "email" => &["prefill"],
        "phone" => &["prefill", "mobile_only"],
        "date" => &["min", "max", "not_before_field"],
        "appointment" => &["min_lead_minutes", "max_days_ahead"],
        "number" => &["min", "max", "integer"],
        "attachment" => &["accept", "max_bytes"],
        "summary" | "cart" | "activity_search" | "faq" | "case_status" => &[],
        "case_pick" => &["filter"],
        _ => return None,
    })
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
}

/// The texts of the officers' chat (`dialogs/officers.toml`). One chat serves every officer, so
/// each text carries both languages in one line ("Kasus baru / new case …"). An office may
/// reword them but may not leave one out.
pub const OFFICER_KEYS: &[&str] = &[
    "officers_new_case",
    // Channels (reno-channels).
    "officers_whatsapp_failed",
];

/// The system texts every dialog relies on (re-prompts, command answers). An office may reword
/// them in `dialogs/system.toml` but may not leave one out.
pub const SYSTEM_KEYS: &[&str] = &[
    "flood_notice",
    "erase_confirm",
    "erase_open_cases",
    "erase_yes",
    "erase_no",
    "erase_kept",
    "erase_done",
    "email_case_added",
    "email_footer",
    "email_officer_unproven",
    "erase_needs_proof",
    "welcome_back",
    "idle_closed",
    "idle_closed_later",
    "reminder_pending",
    "reminder_rating",
    "reminder_appointment",
    "cancelled",
    "left_dialog",
    "nothing_to_go_back",
    "help_commands",
    "language_set",
    "too_long",
    "empty_answer",
    "expect_text",
    "text_too_short",
    "text_too_long",
    "text_needs_letters",
    "text_pattern",
    "expect_choice",
    "expect_choices",
    "expect_yes_no",
    "expect_email",
    "expect_phone",
    "expect_mobile",
    "prefill_phone",
    "prefill_email",
    "expect_date",
    "date_too_early",
    "date_too_late",
    "date_before_field",
    "expect_appointment",
    "appointment_too_soon",
    "appointment_too_far",
    "appointment_closed",
    "expect_number",
    "number_whole",
    "number_range",
    "expect_attachment",
    "attachment_type",
    "attachment_size",
    "attachment_received",
    "skip_hint",
    "summary_question",
    "summary_pick_field",
    "yes",
    "no",
    "send",
    "change",
    "skipped",
    "cart_intro",
    "cart_quantity",
    "cart_added",
    "cart_empty",
    "cart_done",
    "cart_total",
    "cart_unknown",
    "search_results",
    "search_none",
    "search_more",
    "faq_no_match",
    "faq_more",
    "status_none",
    "status_list",
    "status_line",
    "status_detail",
    "status_not_found",
    "case_pick_none",
    "outside_hours",
    "inside_hours",
    "contact_not_own",
    "not_expected_file",
    "unsupported_input",
    "menu_hint",
    "mydata",
    "mydata_none",
    "forwarded",
    "file_attached",
    "waiting_done_hint",
    "not_waiting",
    "due_line",
    "officer_reply",
    "officer_file",
    "rating_request",
    "web_subtitle",
    "web_hours",
    "web_start",
    "web_input_label",
    "web_send",
    "web_attach",
    "web_attach_hint",
    "web_language",
    "web_language_switch",
    "web_privacy_link",
    "web_privacy_title",
    "web_privacy_intro",
    "web_privacy_cookie",
    "web_back_to_chat",
    "web_conversation",
    "web_you",
    "web_bot",
    "web_download",
    "web_offline",
    "web_open_chat",
    "web_close_chat",
    "web_noscript",
    "web_error_too_long",
    "web_error_too_big",
    "web_error_file_type",
    "web_error_rate",
    "web_error_session",
    "web_error_cross_site",
    "web_error_bad_request",
    "web_error_server",
    // Channels (reno-channels): polite answers and buttons of the chat channels.
    "channel_unsupported",
    "channel_file_failed",
    "channel_file_too_big",
    "telegram_edited",
    "telegram_officers_only",
    "telegram_private_only",
    "telegram_type_number",
    "telegram_share_contact",
    "whatsapp_location",
    "whatsapp_list_button",
    "whatsapp_list_title",
];

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

fn parse_next(raw: &str) -> Next {
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
    let action = match raw.finish.action.as_str() {
        "none" => FinishAction::None,
        "save_guest" => FinishAction::SaveGuest,
        "save_rating" => FinishAction::SaveRating,
        "book_appointment" => FinishAction::BookAppointment,
        "create_case" => match raw.finish.service.as_deref().map(Service::from_prefix) {
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
    };
    if let Some(m) = &raw.finish.message {
        check_i18n(file, None, "finish.message", m, languages, &mut errors);
    }
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
    };
    check_references(&dialog, &mut errors);
    if errors.is_empty() {
        Ok(dialog)
    } else {
        Err(errors)
    }
}

fn parse_step(
    file: &str,
    rs: &RawStep,
    default_next: Next,
    languages: &[String],
    errors: &mut Vec<LoadError>,
) -> Option<Step> {
    let id = rs.id.as_str();
    let err =
        |errors: &mut Vec<LoadError>, p: String| errors.push(LoadError::new(file, Some(id), p));
    let Some(allowed) = allowed_keys(&rs.kind) else {
        err(
            errors,
            format!(
                "kind `{}` is unknown (expected text, choice, yes_no, email, phone, date, appointment, number, attachment, summary, cart, activity_search, faq, case_status or case_pick)",
                rs.kind
            ),
        );
        return None;
    };
    for key in rs.set_keys() {
        if !allowed.contains(&key) {
            err(
                errors,
                format!("key `{key}` is not used by kind `{}`", rs.kind),
            );
        }
    }
    match &rs.prompt {
        Some(p) => check_i18n(file, Some(id), "prompt", p, languages, errors),
        None => err(errors, "prompt is missing".into()),
    }
    for (what, t) in [
        ("label", &rs.label),
        ("help", &rs.help),
        ("pattern_hint", &rs.pattern_hint),
    ] {
        if let Some(t) = t {
            check_i18n(file, Some(id), what, t, languages, errors);
        }
    }
    let kind = match rs.kind.as_str() {
        "text" => {
            let min_len = rs.min_len.unwrap_or(1);
            let max_len = rs.max_len.unwrap_or(500);
            if min_len > max_len {
                err(
                    errors,
                    format!("min_len {min_len} is larger than max_len {max_len}"),
                );
            }
            let pattern = match &rs.pattern {
                Some(p) => match regex::Regex::new(p) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        err(
                            errors,
                            format!("pattern does not compile: {}", one_line(&e.to_string())),
                        );
                        None
                    }
                },
                None => None,
            };
            StepKind::Text {
                min_len,
                max_len,
                pattern,
                pattern_hint: rs.pattern_hint.clone(),
            }
        }
        "choice" => {
            let raw_options = rs.options.as_deref().unwrap_or_default();
            if raw_options.is_empty() {
                err(errors, "a choice needs at least one option".into());
            }
            let mut values = BTreeSet::new();
            let mut options = Vec::new();
            for o in raw_options {
                if !values.insert(o.value.to_lowercase()) {
                    err(errors, format!("option value `{}` is used twice", o.value));
                }
                check_i18n(
                    file,
                    Some(id),
                    &format!("option `{}` label", o.value),
                    &o.label,
                    languages,
                    errors,
                );
                let next = match (&o.next, &o.start) {
                    (Some(_), Some(_)) => {
                        err(
                            errors,
                            format!("option `{}` has both next and start", o.value),
                        );
                        None
                    }
                    (Some(n), None) => Some(parse_next(n)),
                    (None, Some(d)) => Some(Next::Start(d.clone())),
                    (None, None) => None,
                };
                options.push(ChoiceOption {
                    value: o.value.clone(),
                    label: o.label.clone(),
                    next,
                });
            }
            let multiple = rs.multiple.unwrap_or(false);
            if multiple && options.iter().any(|o| o.next.is_some()) {
                err(errors, "a multiple choice cannot branch per option".into());
            }
            StepKind::Choice { options, multiple }
        }
        "yes_no" => StepKind::YesNo {
            next_yes: rs.next_yes.as_deref().map(parse_next),
            next_no: rs.next_no.as_deref().map(parse_next),
        },
        "email" => StepKind::Email {
            prefill: rs.prefill.unwrap_or(false),
        },
        "phone" => StepKind::Phone {
            mobile_only: rs.mobile_only.unwrap_or(false),
            prefill: rs.prefill.unwrap_or(false),
        },
        "date" => {
            let bound = |v: &Option<toml::Value>, key: &str, errors: &mut Vec<LoadError>| match v {
                None => None,
                Some(toml::Value::String(s)) if s == "today" => Some(DateBound::Today),
                Some(toml::Value::String(s)) => {
                    match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                        Ok(d) => Some(DateBound::Fixed(d)),
                        Err(_) => {
                            errors.push(LoadError::new(
                                file,
                                Some(id),
                                format!("{key} must be \"today\" or a date YYYY-MM-DD"),
                            ));
                            None
                        }
                    }
                }
                Some(toml::Value::Datetime(d)) => match d.date {
                    Some(date) => chrono::NaiveDate::from_ymd_opt(
                        date.year as i32,
                        date.month as u32,
                        date.day as u32,
                    )
                    .map(DateBound::Fixed),
                    None => None,
                },
                Some(_) => {
                    errors.push(LoadError::new(
                        file,
                        Some(id),
                        format!("{key} must be \"today\" or a date YYYY-MM-DD"),
                    ));
                    None
                }
            };
            StepKind::Date {
                min: bound(&rs.min, "min", errors),
                max: bound(&rs.max, "max", errors),
                not_before_field: rs.not_before_field.clone(),
            }
        }
        "appointment" => StepKind::Appointment {
            min_lead_minutes: rs.min_lead_minutes.unwrap_or(60),
            max_days_ahead: rs.max_days_ahead.unwrap_or(60),
        },
        "number" => {
            let num = |v: &Option<toml::Value>,
                       key: &str,
                       default: f64,
                       errors: &mut Vec<LoadError>| match v {
                None => default,
                Some(toml::Value::Integer(i)) => *i as f64,
                Some(toml::Value::Float(f)) => *f,
                Some(_) => {
                    errors.push(LoadError::new(
                        file,
                        Some(id),
                        format!("{key} must be a number"),
                    ));
                    default
                }
            };
            let min = num(&rs.min, "min", 0.0, errors);
            let max = num(&rs.max, "max", 1e12, errors);
            if min > max {
                err(errors, format!("min {min} is larger than max {max}"));
            }
            StepKind::Number {
                min,
                max,
                integer: rs.integer.unwrap_or(true),
            }
        }
        "attachment" => StepKind::Attachment {
            accept: rs
                .accept
                .clone()
                .unwrap_or_else(|| DEFAULT_FILE_TYPES.map(String::from).to_vec())
                .into_iter()
                .map(|e| e.trim_start_matches('.').to_lowercase())
                .collect(),
            max_bytes: rs.max_bytes,
        },
        "summary" => StepKind::Summary,
        "cart" => StepKind::Cart,
        "activity_search" => StepKind::ActivitySearch,
        "faq" => StepKind::Faq,
        "case_status" => StepKind::CaseStatus,
        "case_pick" => StepKind::CasePick {
            filter: match rs.filter.as_deref() {
                None | Some("all") => CaseFilter::All,
                Some("open") => CaseFilter::Open,
                Some(other) => {
                    err(
                        errors,
                        format!("filter `{other}` is unknown (expected all or open)"),
                    );
                    CaseFilter::All
                }
            },
        },
        _ => unreachable!("allowed_keys knows every kind"),
    };
    if kind.collects() && rs.label.is_none() {
        err(
            errors,
            "label is missing (it names the answer in summaries)".into(),
        );
    }
    Some(Step {
        id: rs.id.clone(),
        field: rs.field.clone().unwrap_or_else(|| rs.id.clone()),
        prompt: rs.prompt.clone().unwrap_or_default(),
        label: rs.label.clone(),
        help: rs.help.clone(),
        optional: rs.optional,
        next: rs.next.as_deref().map(parse_next).unwrap_or(default_next),
        kind,
    })
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The targets a step can go to.
fn targets(step: &Step) -> Vec<&Next> {
    let mut t = vec![&step.next];
    match &step.kind {
        StepKind::Choice { options, .. } => {
            t.extend(options.iter().filter_map(|o| o.next.as_ref()))
        }
        StepKind::YesNo { next_yes, next_no } => t.extend(next_yes.iter().chain(next_no.iter())),
        _ => {}
    }
    t
}

fn check_references(d: &Dialog, errors: &mut Vec<LoadError>) {
    let ids: BTreeSet<&str> = d.steps.iter().map(|s| s.id.as_str()).collect();
    for (what, id) in [
        ("start", Some(&d.start)),
        ("returning_start", d.returning_start.as_ref()),
    ] {
        if let Some(id) = id
            && !ids.contains(id.as_str())
        {
            errors.push(LoadError::new(
                &d.file,
                None,
                format!("{what} names unknown step `{id}`"),
            ));
        }
    }
    for s in &d.steps {
        for t in targets(s) {
            if let Next::Step(n) = t
                && !ids.contains(n.as_str())
            {
                errors.push(LoadError::new(
                    &d.file,
                    Some(&s.id),
                    format!("goes to unknown step `{n}`"),
                ));
            }
        }
        if let StepKind::Date {
            not_before_field: Some(f),
            ..
        } = &s.kind
            && !d
                .steps
                .iter()
                .any(|o| &o.field == f && matches!(o.kind, StepKind::Date { .. }))
        {
            errors.push(LoadError::new(
                &d.file,
                Some(&s.id),
                format!("not_before_field `{f}` is not the field of a date step"),
            ));
        }
    }
    if let Some(f) = &d.finish.title_field
        && !d.steps.iter().any(|s| &s.field == f)
    {
        errors.push(LoadError::new(
            &d.file,
            None,
            format!("finish.title_field `{f}` is not the field of any step"),
        ));
    }
    // Reachability: a breadth-first walk from the start steps.
    let mut reached = BTreeSet::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    queue.push_back(&d.start);
    if let Some(r) = &d.returning_start {
        queue.push_back(r);
    }
    while let Some(id) = queue.pop_front() {
        if !reached.insert(id) {
            continue;
        }
        if let Some(s) = d.step(id) {
            for t in targets(s) {
                if let Next::Step(n) = t {
                    queue.push_back(n);
                }
            }
            // A summary can jump back to any answered step to change it.
        }
    }
    for s in &d.steps {
        if !reached.contains(s.id.as_str()) {
            errors.push(LoadError::new(
                &d.file,
                Some(&s.id),
                "is unreachable from the start step",
            ));
        }
    }
}

/// Checks what spans dialogs: dialogs started by options exist, the menu and guest book exist.
fn cross_check(dialogs: &BTreeMap<String, Dialog>, errors: &mut Vec<LoadError>) {
    if !dialogs.contains_key("menu") {
        errors.push(LoadError::new(
            "menu.toml",
            None,
            "missing: a dialog with id `menu` is required",
        ));
    }
    let needs_guest = dialogs.values().any(|d| d.requires_guest);
    if needs_guest
        && !dialogs
            .get("guestbook")
            .is_some_and(|g| g.finish.action == FinishAction::SaveGuest)
    {
        errors.push(LoadError::new(
            "guestbook.toml",
            None,
            "missing: a dialog `guestbook` with finish.action = \"save_guest\" is required by dialogs with requires_guest",
        ));
    }
    for d in dialogs.values() {
        for s in &d.steps {
            for t in targets(s) {
                if let Next::Start(other) = t
                    && !dialogs.contains_key(other)
                {
                    errors.push(LoadError::new(
                        &d.file,
                        Some(&s.id),
                        format!("starts unknown dialog `{other}`"),
                    ));
                }
            }
        }
    }
}
