//! One step of a dialog file: the keys every step has, the kind-specific keys (refused for the
//! kinds that do not use them), and the checks common to every kind. What a kind's own keys mean
//! is read by the kind ([`crate::dialogs::steps`]).

use super::{check_i18n, parse_next};
use crate::dialogs::spec::{Next, Step};
use crate::dialogs::steps::{self, RawOption};
use crate::text::{I18n, LoadError};
use serde::Deserialize;

/// A step as a dialog file writes it: the keys of every step, then the keys of each kind.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    pub id: String,
    pub kind: String,
    pub field: Option<String>,
    pub prompt: Option<I18n>,
    pub label: Option<I18n>,
    pub help: Option<I18n>,
    #[serde(default)]
    pub optional: bool,
    pub me: Option<String>,
    pub next: Option<String>,
    // text
    pub min_len: Option<usize>,
    pub max_len: Option<usize>,
    pub pattern: Option<String>,
    pub pattern_hint: Option<I18n>,
    // choice
    pub options: Option<Vec<RawOption>>,
    pub multiple: Option<bool>,
    // yes_no
    pub next_yes: Option<String>,
    pub next_no: Option<String>,
    // email, phone
    pub prefill: Option<bool>,
    pub mobile_only: Option<bool>,
    // number, date
    pub min: Option<toml::Value>,
    pub max: Option<toml::Value>,
    pub integer: Option<bool>,
    pub not_before_field: Option<String>,
    // appointment
    pub min_lead_minutes: Option<i64>,
    pub max_days_ahead: Option<i64>,
    // attachment
    pub accept: Option<Vec<String>>,
    pub max_bytes: Option<u64>,
    // case_pick
    pub filter: Option<String>,
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

/// Where the problems of one step go while it is parsed: each is reported with the file and
/// the step's id, all at once at the end of loading.
pub(crate) struct StepProblems<'a> {
    file: &'a str,
    step: &'a str,
    languages: &'a [String],
    errors: &'a mut Vec<LoadError>,
}

impl StepProblems<'_> {
    /// Reports a problem of this step.
    pub(crate) fn push(&mut self, problem: impl Into<String>) {
        self.errors
            .push(LoadError::new(self.file, Some(self.step), problem));
    }

    /// Checks a text of this step has every configured language, none empty.
    pub(crate) fn check_text(&mut self, what: &str, text: &I18n) {
        check_i18n(
            self.file,
            Some(self.step),
            what,
            text,
            self.languages,
            self.errors,
        );
    }
}

/// Parses one step: a known kind, only its keys, a prompt and texts in every language, the
/// kind's own settings (checked by the kind), and a label when the kind collects an answer.
pub(super) fn parse_step(
    file: &str,
    rs: &RawStep,
    default_next: Next,
    languages: &[String],
    errors: &mut Vec<LoadError>,
) -> Option<Step> {
    let mut problems = StepProblems {
        file,
        step: &rs.id,
        languages,
        errors,
    };
    let Some(kind) = steps::registered(&rs.kind) else {
        problems.push(format!(
            "kind `{}` is unknown (expected {})",
            rs.kind,
            steps::kind_names()
        ));
        return None;
    };
    for key in rs.set_keys() {
        if !kind.keys.contains(&key) {
            problems.push(format!("key `{key}` is not used by kind `{}`", rs.kind));
        }
    }
    match &rs.prompt {
        Some(p) => problems.check_text("prompt", p),
        None => problems.push("prompt is missing"),
    }
    for (what, t) in [
        ("label", &rs.label),
        ("help", &rs.help),
        ("pattern_hint", &rs.pattern_hint),
    ] {
        if let Some(t) = t {
            problems.check_text(what, t);
        }
    }
    let kind = (kind.parse)(rs, &mut problems);
    if kind.collects() && rs.label.is_none() {
        problems.push("label is missing (it names the answer in summaries)");
    }
    if let Some(me) = &rs.me
        && (me.trim().is_empty() || !kind.collects())
    {
        problems.push("`me` names a guest book field, on a step that collects an answer");
    }
    Some(Step {
        id: rs.id.clone(),
        field: rs.field.clone().unwrap_or_else(|| rs.id.clone()),
        prompt: rs.prompt.clone().unwrap_or_default(),
        label: rs.label.clone(),
        help: rs.help.clone(),
        optional: rs.optional,
        me: rs.me.clone(),
        next: rs.next.as_deref().map(parse_next).unwrap_or(default_next),
        kind,
    })
}
