//! Workflows as data: the states of a case, the transitions officers (or the applicant) take,
//! the role allowed to take each, the SLA of each state, whether the clock runs or stops there,
//! and the notification each transition sends. One TOML file per workflow in
//! `dialogs/workflows/`, validated at start-up like the dialogs.

use super::Service;
use super::sla::Sla;
use crate::config::Role;
use crate::text::I18n;
use crate::text::LoadError;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// Who may take a transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Actor {
    Officer(Role),
    /// The applicant, by answering (a revision, a payment, a rating).
    Applicant,
}

/// What kind of action a transition is; officers' commands look transitions up by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransitionKind {
    /// An ordinary move to the next stage (`pindah`).
    Move,
    /// Back to the applicant (or an earlier stage) with a reason (`kembalikan`).
    Return,
    /// Up to the pimpinan (`eskalasi`).
    Escalate,
    /// Fired when an officer sends a file to the applicant (`kirim`): letter, product, billing.
    Send,
    /// Fired when the applicant rates the case.
    Rate,
}

/// Whether a transition needs a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteRule {
    None,
    Optional,
    Required,
}

#[derive(Debug, Clone)]
pub struct State {
    pub id: String,
    pub label: I18n,
    pub sla: Option<Sla>,
    /// False while the case waits on the applicant: no SLA runs and the overall clock stops.
    pub clock_runs: bool,
    /// The case is closed here.
    pub is_final: bool,
    /// Entering this state asks the applicant for a rating.
    pub ask_rating: bool,
    /// The stage's SLA counts from the case's creation, not from entering the stage
    /// (`sla_from = "created"`: an SOP time "since the transaction was made").
    pub sla_from_created: bool,
    /// Once the overall clock has started, a stay here does not count against it
    /// (`overall_clock = "paused"`: re-examining a file returned after it was complete).
    pub pauses_overall: bool,
}

#[derive(Debug, Clone)]
pub struct Transition {
    pub id: String,
    pub label: I18n,
    pub from: Vec<String>,
    pub to: String,
    pub actors: Vec<Actor>,
    pub kind: TransitionKind,
    pub note: NoteRule,
    /// Told to the applicant; `{case}`, `{stage}`, `{due}`, `{note}`, `{office}` are filled in.
    pub notify: Option<I18n>,
}

/// The overall SLA of a workflow, counted from the first entry into `from` with the clock
/// stopped in every state whose clock stops.
#[derive(Debug, Clone)]
pub struct Overall {
    pub from: String,
    pub sla: Sla,
}

#[derive(Debug, Clone)]
pub struct Workflow {
    pub id: String,
    pub file: String,
    pub service: Service,
    pub profiles: Vec<String>,
    pub start: String,
    /// The completion standard told to applicants when the case is created.
    pub standard: I18n,
    pub overall: Option<Overall>,
    pub states: Vec<State>,
    pub transitions: Vec<Transition>,
}

impl Workflow {
    pub fn state(&self, id: &str) -> Option<&State> {
        self.states.iter().find(|s| s.id == id)
    }

    /// The transitions that leave a state.
    pub fn from_state<'a>(&'a self, state: &str) -> impl Iterator<Item = &'a Transition> + 'a {
        let state = state.to_string();
        self.transitions
            .iter()
            .filter(move |t| t.from.contains(&state))
    }

    pub fn transition(&self, id: &str) -> Option<&Transition> {
        self.transitions
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(id))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    id: String,
    label: I18n,
    sla: Option<String>,
    #[serde(default = "runs")]
    clock: String,
    #[serde(default, rename = "final")]
    is_final: bool,
    #[serde(default)]
    ask_rating: bool,
    /// `entry` (default) or `created`.
    sla_from: Option<String>,
    /// `runs` (default) or `paused`.
    overall_clock: Option<String>,
}

fn runs() -> String {
    "runs".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTransition {
    id: String,
    label: I18n,
    from: Vec<String>,
    to: String,
    roles: Vec<String>,
    #[serde(default = "move_kind")]
    kind: TransitionKind,
    #[serde(default = "optional_note")]
    note: NoteRule,
    notify: Option<I18n>,
}

fn move_kind() -> TransitionKind {
    TransitionKind::Move
}
fn optional_note() -> NoteRule {
    NoteRule::Optional
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOverall {
    from: String,
    sla: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkflow {
    id: String,
    service: String,
    profiles: Vec<String>,
    start: String,
    standard: I18n,
    overall: Option<RawOverall>,
    states: Vec<RawState>,
    transitions: Vec<RawTransition>,
}

fn err(file: &str, step: Option<&str>, problem: impl Into<String>) -> LoadError {
    LoadError {
        file: file.to_string(),
        step: step.map(str::to_string),
        problem: problem.into(),
    }
}

fn check_text(
    file: &str,
    at: Option<&str>,
    what: &str,
    t: &I18n,
    languages: &[String],
    errors: &mut Vec<LoadError>,
) {
    for l in languages {
        if t.get(l).is_none_or(|s| s.trim().is_empty()) {
            errors.push(err(file, at, format!("{what} has no `{l}` translation")));
        }
    }
}

fn parse_actor(s: &str) -> Option<Actor> {
    Some(match s {
        "applicant" | "pemohon" => Actor::Applicant,
        "resepsionis" => Actor::Officer(Role::Resepsionis),
        "petugas" => Actor::Officer(Role::Petugas),
        "walidata" => Actor::Officer(Role::Walidata),
        "pimpinan" => Actor::Officer(Role::Pimpinan),
        "admin" => Actor::Officer(Role::Admin),
        _ => return None,
    })
}

/// Parses and validates one workflow file. Problems name the file and the state or transition.
pub fn parse_workflow(
    file: &str,
    text: &str,
    languages: &[String],
) -> Result<Workflow, Vec<LoadError>> {
    let raw: RawWorkflow = toml::from_str(text).map_err(|e| {
        vec![err(
            file,
            None,
            format!("invalid TOML: {}", e.message().trim()),
        )]
    })?;
    let mut errors = Vec::new();
    let service = Service::from_prefix(&raw.service).unwrap_or_else(|| {
        errors.push(err(
            file,
            None,
            format!("service `{}` must be REK, PRD or ADU", raw.service),
        ));
        Service::Rek
    });
    for p in &raw.profiles {
        if crate::config::OfficeProfile::parse(p).is_none() {
            errors.push(err(
                file,
                None,
                format!("profile `{p}` is unknown (expected bengkulu, nasional or lubuklinggau)"),
            ));
        }
    }
    check_text(
        file,
        None,
        "standard",
        &raw.standard,
        languages,
        &mut errors,
    );
    let mut ids = BTreeSet::new();
    let mut states = Vec::new();
    for s in &raw.states {
        if !ids.insert(s.id.clone()) {
            errors.push(err(file, Some(&s.id), "state id is used twice"));
        }
        states.push(parse_state(file, s, languages, &mut errors));
    }
    let mut transitions = Vec::new();
    let mut tids = BTreeSet::new();
    for t in &raw.transitions {
        if !tids.insert(t.id.to_lowercase()) {
            errors.push(err(file, Some(&t.id), "transition id is used twice"));
        }
        transitions.push(parse_transition(file, t, &ids, languages, &mut errors));
    }
    if !ids.contains(&raw.start) {
        errors.push(err(
            file,
            None,
            format!("start names unknown state `{}`", raw.start),
        ));
    }
    let overall = raw
        .overall
        .as_ref()
        .and_then(|o| parse_overall(file, o, &ids, &mut errors));
    let wf = Workflow {
        id: raw.id,
        file: file.to_string(),
        service,
        profiles: raw.profiles,
        start: raw.start,
        standard: raw.standard,
        overall,
        states,
        transitions,
    };
    if errors.is_empty() {
        check_graph(file, &wf, &mut errors);
    }
    if errors.is_empty() {
        Ok(wf)
    } else {
        Err(errors)
    }
}

/// One state of a workflow file, its problems added to `errors`.
fn parse_state(
    file: &str,
    s: &RawState,
    languages: &[String],
    errors: &mut Vec<LoadError>,
) -> State {
    let at = Some(s.id.as_str());
    check_text(file, at, "label", &s.label, languages, errors);
    let sla = match &s.sla {
        Some(text) => match Sla::parse(text) {
            Some(sla) => Some(sla),
            None => {
                errors.push(err(file, at, format!("sla `{text}` is not like \"7 days\", \"14 working_days\", \"1 working_hours\" or \"3 hours\"")));
                None
            }
        },
        None => None,
    };
    let clock_runs = match s.clock.as_str() {
        "runs" => true,
        "stopped" => false,
        other => {
            errors.push(err(
                file,
                at,
                format!("clock `{other}` must be runs or stopped"),
            ));
            true
        }
    };
    if !clock_runs && sla.is_some() {
        errors.push(err(
            file,
            at,
            "a state whose clock is stopped cannot have an sla",
        ));
    }
    let sla_from_created = match s.sla_from.as_deref() {
        None | Some("entry") => false,
        Some("created") => true,
        Some(other) => {
            errors.push(err(
                file,
                at,
                format!("sla_from `{other}` must be entry or created"),
            ));
            false
        }
    };
    let pauses_overall = match s.overall_clock.as_deref() {
        None | Some("runs") => false,
        Some("paused") => true,
        Some(other) => {
            errors.push(err(
                file,
                at,
                format!("overall_clock `{other}` must be runs or paused"),
            ));
            false
        }
    };
    State {
        id: s.id.clone(),
        label: s.label.clone(),
        sla,
        clock_runs,
        is_final: s.is_final,
        ask_rating: s.ask_rating,
        sla_from_created,
        pauses_overall,
    }
}

/// One transition of a workflow file between the states `ids`, its problems added to `errors`.
fn parse_transition(
    file: &str,
    t: &RawTransition,
    ids: &BTreeSet<String>,
    languages: &[String],
    errors: &mut Vec<LoadError>,
) -> Transition {
    let at = Some(t.id.as_str());
    if ids.contains(&t.id) {
        errors.push(err(
            file,
            at,
            "a transition may not share its id with a state",
        ));
    }
    check_text(file, at, "label", &t.label, languages, errors);
    if let Some(n) = &t.notify {
        check_text(file, at, "notify", n, languages, errors);
    }
    for f in t.from.iter().chain(std::iter::once(&t.to)) {
        if !ids.contains(f) {
            errors.push(err(file, at, format!("names unknown state `{f}`")));
        }
    }
    if t.from.is_empty() {
        errors.push(err(file, at, "from must name at least one state"));
    }
    let mut actors = Vec::new();
    for r in &t.roles {
        match parse_actor(r) {
            Some(a) => actors.push(a),
            None => errors.push(err(file, at, format!("role `{r}` is unknown (expected applicant, resepsionis, petugas, walidata, pimpinan or admin)"))),
        }
    }
    if actors.is_empty() {
        errors.push(err(file, at, "roles must name who may take it"));
    }
    if t.kind == TransitionKind::Return && t.note != NoteRule::Required {
        errors.push(err(file, at, "a return must require a note (the reason)"));
    }
    Transition {
        id: t.id.clone(),
        label: t.label.clone(),
        from: t.from.clone(),
        to: t.to.clone(),
        actors,
        kind: t.kind,
        note: t.note,
        notify: t.notify.clone(),
    }
}

/// The SOP's overall deadline (`[overall]`), when the file sets one.
fn parse_overall(
    file: &str,
    o: &RawOverall,
    ids: &BTreeSet<String>,
    errors: &mut Vec<LoadError>,
) -> Option<Overall> {
    if !ids.contains(&o.from) {
        errors.push(err(
            file,
            None,
            format!("overall.from names unknown state `{}`", o.from),
        ));
    }
    match Sla::parse(&o.sla) {
        Some(sla) => Some(Overall {
            from: o.from.clone(),
            sla,
        }),
        None => {
            errors.push(err(
                file,
                None,
                format!("overall.sla `{}` is not a valid SLA", o.sla),
            ));
            None
        }
    }
}

/// Reachability from the start, and a way out of every state that is not final.
fn check_graph(file: &str, wf: &Workflow, errors: &mut Vec<LoadError>) {
    let mut reached = BTreeSet::new();
    let mut queue = VecDeque::from([wf.start.clone()]);
    while let Some(s) = queue.pop_front() {
        if reached.insert(s.clone()) {
            queue.extend(wf.from_state(&s).map(|t| t.to.clone()));
        }
    }
    for s in &wf.states {
        if !reached.contains(&s.id) {
            errors.push(err(
                file,
                Some(&s.id),
                "is unreachable from the start state",
            ));
        }
        if !s.is_final && wf.from_state(&s.id).next().is_none() {
            errors.push(err(
                file,
                Some(&s.id),
                "is not final but no transition leaves it",
            ));
        }
    }
    if !wf.states.iter().any(|s| s.is_final) {
        errors.push(err(
            file,
            None,
            "no state is final (a case could never close)",
        ));
    }
}

/// The workflows of each profile and service.
#[derive(Debug, Clone, Default)]
pub struct Workflows {
    pub by_profile: BTreeMap<String, BTreeMap<Service, Workflow>>,
}

impl Workflows {
    /// Loads every `*.toml` in `dir` and checks each profile has exactly one workflow per service.
    pub fn load(dir: &Path, languages: &[String]) -> Result<Workflows, Vec<LoadError>> {
        let mut errors = Vec::new();
        let mut files: Vec<_> = match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                .collect(),
            Err(e) => {
                return Err(vec![err(
                    "workflows",
                    None,
                    format!("cannot read {}: {e}", dir.display()),
                )]);
            }
        };
        files.sort();
        let mut out = Workflows::default();
        for path in files {
            let name = format!(
                "workflows/{}",
                path.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default()
            );
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(err(&name, None, format!("cannot read: {e}")));
                    continue;
                }
            };
            match parse_workflow(&name, &text, languages) {
                Ok(wf) => {
                    for p in wf.profiles.clone() {
                        let slot = out.by_profile.entry(p.clone()).or_default();
                        if let Some(prev) = slot.get(&wf.service) {
                            errors.push(err(
                                &name,
                                None,
                                format!(
                                    "profile `{p}` already has a {} workflow in {}",
                                    wf.service.prefix(),
                                    prev.file
                                ),
                            ));
                        } else {
                            slot.insert(wf.service, wf.clone());
                        }
                    }
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        for p in crate::config::OfficeProfile::ALL.map(|p| p.key()) {
            for s in Service::ALL {
                if !out.by_profile.get(p).is_some_and(|m| m.contains_key(&s)) {
                    errors.push(err(
                        "workflows",
                        None,
                        format!("profile `{p}` has no {} workflow", s.prefix()),
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}
