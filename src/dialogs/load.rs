//! Parses the TOML files of `dialogs/` and validates them before anything starts: every step
//! reference resolves, every step is reachable, every regex compiles, every text exists in every
//! configured language. A problem is reported with its file, its step and what is wrong.

mod check;
mod intent;
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

/// The texts of the officers' chat (`dialogs/officers.toml`). One chat serves every officer, so
/// each text carries both languages in one line ("Kasus baru / new case …"). An office may
/// reword them but may not leave one out.
pub const OFFICER_KEYS: &[&str] = &[
    "officers_new_case",
    // The runtime and its planners (officers' commands, reminders, privacy, delivery).
    "admin_role_refused",
    "admin_not_a_case_number",
    "admin_case_not_found",
    "admin_queue_empty",
    "admin_queue",
    "admin_queue_line",
    "admin_no_due_date",
    "admin_overdue",
    "admin_overdue_days",
    "admin_days_left",
    "admin_time_left",
    "admin_calendar_days_left",
    "admin_today",
    "admin_today_service",
    "admin_today_overdue",
    "admin_today_visitors",
    "admin_today_queue",
    "admin_show_head",
    "admin_show_closed",
    "admin_show_stage_due",
    "admin_show_sop_due",
    "admin_show_officer",
    "admin_show_applicant",
    "admin_show_applicant_hidden",
    "admin_show_files",
    "admin_show_history",
    "admin_actor_applicant",
    "admin_actor_system",
    "admin_audit_empty",
    "admin_audit",
    "admin_taken",
    "officers_taken",
    "admin_assigned",
    "officers_assigned",
    "admin_no_such_officer",
    "admin_reply_queued",
    "admin_reply_email_copy",
    "admin_reply_window",
    "admin_reply_window_email",
    "admin_reply_window_none",
    "admin_reply_watch",
    "admin_step_case_closed",
    "admin_step_unknown",
    "admin_step_not_here",
    "admin_step_not_allowed",
    "admin_step_needs_note",
    "admin_step_none_of_kind",
    "admin_steps_case_closed",
    "admin_next_steps",
    "admin_steps_example",
    "admin_send_first",
    "admin_send_now",
    "admin_case_closed",
    "admin_file_too_large",
    "admin_file_sent",
    "admin_visitor_ticket",
    "admin_outside_hours",
    "admin_unknown_queue",
    "admin_calling",
    "admin_report_month_format",
    "admin_report_not_started",
    "admin_report_failed",
    "officers_applicant_wrote",
    "officers_applicant_file",
    "officers_appointment",
    "officers_by_applicant",
    "officers_note",
    "officers_due",
    "officers_mail_bounced",
    "officers_case_erased",
    "officers_reminder_unacknowledged",
    "officers_reminder_stage_due",
    "officers_reminder_stage_progress",
    "officers_reminder_overdue",
    "officers_applicant_unreachable",
    "officers_delivery_failed",
    // Channels (reno-channels).
    "officers_whatsapp_failed",
    // Housekeeping: the check for damage (issue 17.10).
    "officers_store_damaged",
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
    // reno-dialogs: words that were in the dialog engine's code
    "name_unknown",
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
    // Understanding (issue 19): helpful re-prompts, questions mid-form, confirmations.
    "aside_back",
    "choice_tie",
    "expect_send_change",
    "date_no_such",
    "date_not_future",
    "date_not_past",
    "phone_not_indonesian",
    "email_suggest",
    "example_choice",
    "example_yes_no",
    "example_date",
    "example_number",
    "example_phone",
    "example_email",
    "example_skip",
    "reprompt_choices",
    "reprompt_escape",
    // Outside a form, with an open case (issue 25).
    "open_case_note",
    "small_talk_thanks",
    "small_talk_ack",
    "ask_forward_or_menu",
    "button_forward",
    "button_open_menu",
    "ask_which_case",
    "email_greeting",
    "retention_years",
    "retention_months",
    "retention_days",
    // Web chat page (issue 21).
    "web_menu",
    "web_skip",
    "web_officer",
    // The SOP's overall deadline, told to the applicant (issue 20, item 2).
    "sop_due_line",
    "sop_due_short",
    // One subject per case's mails (issue 20, item 10).
    "email_subject_rek",
    "email_subject_prd",
    "email_subject_adu",
    // Everything stored about the person in `datasaya` (issue 17, item 8).
    "mydata_cases",
    "mydata_files",
    "mydata_ratings",
    "mydata_visits",
    "mydata_appointments",
    "mydata_web",
    "mydata_accesses",
    "mydata_access_line",
    "mydata_more",
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
