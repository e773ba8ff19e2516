//! The monthly service report: cases per service and channel, visitors by guest-book
//! category, time spent in each workflow stage against its SOP standard (*mutu baku waktu*),
//! time to complete per service, ratings and the IKM, and cases per week.
//!
//! Definitions (the words of the report tables):
//!
//! - **received**: cases created in the period.
//! - **finished**: cases whose result reached the applicant in the period — the first entry
//!   into a state that asks for a rating (letter sent, product delivered, outcome conveyed) or,
//!   for a case closed without one, into a final state.
//! - **in progress**: at the end of the period (or now, for the running month), cases created
//!   before then and not yet finished.
//! - **overdue**: of those, the ones past their stage's due time or their workflow's overall
//!   due time (clock stops excluded); a case waiting on the applicant is never overdue.
//! - **stage time**: every stay in a stage with an SLA that ended in the period, measured in
//!   the unit of that SLA on the office calendar (working days count as the SOPs count them:
//!   the day of entry does not count); *within standard* means it ended by the stage's due time.
//! - **time to complete**: from submission to the result, in working days and in calendar days;
//!   *within standard* against the workflow's overall SLA where it has one.
//! - **ratings**: ratings given in the period; **IKM** from the SKM surveys among them.
//!   **asked / rated / response rate**: of the finished cases whose last stage asked for a rating,
//!   how many have been rated (by the time the report is made).
//!
//! Stage history is read from each case's append-only history: every event named after a
//! workflow transition that leaves the stage the case was in moves it on.

mod history;
mod tables;

pub use history::{StageStay, finished_at, stays};

use super::ikm::Ikm;
use super::table::{Cell, Table};
use super::{Period, Result};
use crate::cases::{Case, CaseNumber, Service};
use crate::dialogs::Bot;
use crate::guestbook::{Guest, Rating};
use crate::message::ChannelKind;
use crate::store::Store;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use history::{measure, overall_start, overdue_at};
use std::collections::{BTreeMap, BTreeSet};
use tables::stage_table;

fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

fn int(n: usize) -> Cell {
    Cell::Int(n as i64)
}

/// Counts of one row of the cases table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaseCounts {
    pub received: usize,
    pub finished: usize,
    pub in_progress: usize,
    pub overdue: usize,
}

impl CaseCounts {
    fn add(&mut self, o: &CaseCounts) {
        self.received += o.received;
        self.finished += o.finished;
        self.in_progress += o.in_progress;
        self.overdue += o.overdue;
    }
}

/// Ratings of one group (a service, a channel, everything).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RatingGroup {
    pub scores: Vec<u8>,
    pub surveys: Vec<[u8; 9]>,
    /// Finished cases that asked for a rating, and how many of them were rated.
    pub asked: usize,
    pub rated: usize,
}

impl RatingGroup {
    pub fn average(&self) -> Option<f64> {
        (!self.scores.is_empty()).then(|| {
            self.scores.iter().map(|s| f64::from(*s)).sum::<f64>() / self.scores.len() as f64
        })
    }
    pub fn ikm(&self) -> Option<Ikm> {
        Ikm::compute(&self.surveys)
    }
    pub fn response_rate(&self) -> Option<f64> {
        share(self.rated, self.asked)
    }
}

/// Time to complete of one service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    pub working_days: Vec<f64>,
    pub days: Vec<f64>,
    /// Cases measured against an overall SLA, and how many met it.
    pub measured: usize,
    pub within: usize,
    pub standard: Option<String>,
}

/// The monthly report, computed; [`MonthlyReport::tables`] lays it out.
#[derive(Debug, Clone)]
pub struct MonthlyReport {
    pub period: Period,
    /// The instant "in progress" and "overdue" are counted at: the period's end, or the time
    /// the report was made when that is earlier.
    pub as_of: DateTime<Utc>,
    /// `as_of` in office time, as the summary shows it.
    pub as_of_local: chrono::NaiveDateTime,
    pub cases: BTreeMap<(Service, ChannelKind), CaseCounts>,
    /// Visits per guest-book category field: (field label, [(value label, visits)]).
    pub visitors: Vec<(String, Vec<(String, usize)>)>,
    pub visits: usize,
    pub stages: Table,
    pub completion: BTreeMap<Service, Completion>,
    /// Ratings by service (`None`: a general rating, not about a case), by channel, and all.
    pub ratings_by_service: BTreeMap<Option<Service>, RatingGroup>,
    pub ratings_by_channel: BTreeMap<String, RatingGroup>,
    pub ratings_all: RatingGroup,
    /// Cases received per week (Monday to Sunday, cut to the period): (first, last, per service).
    pub weeks: Vec<(NaiveDate, NaiveDate, BTreeMap<Service, usize>)>,
    /// The words it is laid out in.
    pub words: crate::reports::Words,
}

impl MonthlyReport {
    /// Computes the report of `period` from the store, as things stand at `now`.
    pub fn build(store: &dyn Store, bot: &Bot, period: Period, now: DateTime<Utc>) -> Result<Self> {
        let cal = &bot.calendar;
        let as_of = period.to.min(now);
        // Every case created before the period's end: cases finished this month may have been
        // received months earlier.
        let all = store.cases_created_between(DateTime::<Utc>::MIN_UTC, period.to)?;
        let rated_cases: BTreeSet<CaseNumber> = store
            .ratings()?
            .iter()
            .filter_map(|r| r.case.clone())
            .collect();
        let mut tally = CaseTally::new(&period);
        for case in &all {
            tally.count(bot, &period, as_of, &rated_cases, case);
        }
        tally.cases.retain(|_, c| *c != CaseCounts::default());
        let stages = stage_table(bot, tally.stage_values);
        let guests: BTreeMap<String, Guest> = store
            .guests()?
            .into_iter()
            .map(|g| (g.id.clone(), g))
            .collect();
        let (visitors, visits) = visitors(store, bot, &period, &guests)?;
        let ratings = Ratings::count(store, &period, &all, &guests, tally.asked)?;
        Ok(MonthlyReport {
            period,
            as_of,
            as_of_local: cal.local(as_of),
            cases: tally.cases,
            visitors,
            visits,
            stages,
            completion: tally.completion,
            ratings_by_service: ratings.by_service,
            ratings_by_channel: ratings.by_channel,
            ratings_all: ratings.all,
            weeks: tally.weeks,
            words: crate::reports::Words::of(bot),
        })
    }

    /// Totals over every service and channel.
    pub fn totals(&self) -> CaseCounts {
        let mut t = CaseCounts::default();
        for c in self.cases.values() {
            t.add(c);
        }
        t
    }
}

fn add_rating(g: &mut RatingGroup, r: &Rating) {
    g.scores.push(r.score.clamp(1, 5));
    if let Some(s) = r.skm {
        g.surveys.push(s);
    }
}

/// The weeks (Monday to Sunday) of a period, cut to it.
fn weeks_of(period: &Period) -> Vec<(NaiveDate, NaiveDate, BTreeMap<Service, usize>)> {
    let mut out = Vec::new();
    let mut start = period.first;
    while start <= period.last {
        let to_sunday = 6 - start.weekday().num_days_from_monday();
        let end = (start + Duration::days(i64::from(to_sunday))).min(period.last);
        out.push((start, end, BTreeMap::new()));
        match end.succ_opt() {
            Some(n) => start = n,
            None => break,
        }
    }
    out
}

/// Finished cases that asked for a rating, and how many of them were rated, by service and
/// channel.
type Asked = BTreeMap<(Service, ChannelKind), (usize, usize)>;

/// What the report counts case by case: the cases table, time to complete, ratings asked, the
/// stays in stages with an SLA and the cases per week.
struct CaseTally {
    cases: BTreeMap<(Service, ChannelKind), CaseCounts>,
    completion: BTreeMap<Service, Completion>,
    asked: Asked,
    /// Stage stays that ended in the period: (service, stage) → (values, within).
    stage_values: BTreeMap<(Service, String), (Vec<f64>, usize)>,
    weeks: Vec<(NaiveDate, NaiveDate, BTreeMap<Service, usize>)>,
}

impl CaseTally {
    fn new(period: &Period) -> Self {
        CaseTally {
            cases: BTreeMap::new(),
            completion: BTreeMap::new(),
            asked: BTreeMap::new(),
            stage_values: BTreeMap::new(),
            weeks: weeks_of(period),
        }
    }

    /// Counts one case created before the period's end.
    fn count(
        &mut self,
        bot: &Bot,
        period: &Period,
        as_of: DateTime<Utc>,
        rated_cases: &BTreeSet<CaseNumber>,
        case: &Case,
    ) {
        let cal = &bot.calendar;
        let service = case.number.service;
        let channel = case.origin.channel;
        let row = self.cases.entry((service, channel)).or_default();
        if period.contains(case.created_at) {
            row.received += 1;
            let day = cal.local(case.created_at).date();
            if let Some(w) = self.weeks.iter_mut().find(|w| w.0 <= day && day <= w.1) {
                *w.2.entry(service).or_default() += 1;
            }
        }
        // A case on another profile's workflow (the office changed profile) is counted
        // but not timed.
        let Some(wf) = bot
            .workflows
            .get(&service)
            .filter(|w| w.id == case.workflow)
        else {
            if case.created_at < as_of && case.open {
                row.in_progress += 1;
            }
            return;
        };
        let stays = stays(wf, case);
        match finished_at(wf, &stays) {
            Some((at, asks)) if period.contains(at) => {
                row.finished += 1;
                let c = self.completion.entry(service).or_default();
                c.working_days
                    .push(f64::from(cal.working_days_between(case.created_at, at)));
                c.days
                    .push((at - case.created_at).num_seconds() as f64 / 86_400.0);
                if let Some(o) = &wf.overall {
                    c.standard = Some(o.sla.to_string());
                    let stops: Vec<_> = case
                        .stops
                        .iter()
                        .copied()
                        .filter(|(from, _)| *from < at)
                        .collect();
                    // Only the overall deadline is read here.
                    let start = overall_start(wf, &stays);
                    let d = crate::cases::flow::deadlines(wf, cal, &o.from, at, start, &stops);
                    if let Some(due) = d.overall {
                        c.measured += 1;
                        if at <= due {
                            c.within += 1;
                        }
                    }
                }
                if asks {
                    let a = self.asked.entry((service, channel)).or_default();
                    a.0 += 1;
                    if rated_cases.contains(&case.number) {
                        a.1 += 1;
                    }
                }
            }
            Some((at, _)) if at < as_of => {}
            _ if case.created_at < as_of => {
                row.in_progress += 1;
                if overdue_at(wf, cal, case, &stays, as_of) {
                    row.overdue += 1;
                }
            }
            _ => {}
        }
        for s in &stays {
            let Some(left) = s.left.filter(|l| period.contains(*l)) else {
                continue;
            };
            let Some(state) = wf.state(&s.stage) else {
                continue;
            };
            let Some(sla) = state.sla.filter(|_| state.clock_runs) else {
                continue;
            };
            let e = self
                .stage_values
                .entry((service, s.stage.clone()))
                .or_default();
            e.0.push(measure(cal, sla.unit, s.entered, left));
            if left <= cal.due(s.entered, sla) {
                e.1 += 1;
            }
        }
    }
}

/// Visits of the period per guest-book category field (field label, [(value label, visits)]),
/// then per channel; and how many visits there were.
#[allow(clippy::type_complexity)]
fn visitors(
    store: &dyn Store,
    bot: &Bot,
    period: &Period,
    guests: &BTreeMap<String, Guest>,
) -> Result<(Vec<(String, Vec<(String, usize)>)>, usize)> {
    let words = crate::reports::Words::of(bot);
    let visits: Vec<_> = store
        .visits()?
        .into_iter()
        .filter(|v| period.contains(v.at))
        .collect();
    let mut visitors = Vec::new();
    for field in [
        "gender",
        "age_group",
        "education",
        "occupation",
        "institution_category",
    ] {
        let options = super::guestbook_options(bot, field);
        let mut counts: Vec<(String, usize)> = options
            .iter()
            .map(|(_, l)| (crate::text::pick(l, "id", bot.default_lang()), 0))
            .collect();
        let mut unknown = 0;
        for v in &visits {
            let value = guests
                .get(&v.guest_id)
                .and_then(|g| g.profile.get(field))
                .and_then(|a| a.as_text());
            match value.and_then(|x| options.iter().position(|(o, _)| o == x)) {
                Some(i) => counts[i].1 += 1,
                None => unknown += 1,
            }
        }
        if unknown > 0 {
            counts.push((words.get("report_unknown"), unknown));
        }
        let label = bot
            .dialogs
            .get("guestbook")
            .and_then(|d| d.steps.iter().find(|s| s.field == field))
            .and_then(|s| s.label.as_ref())
            .map(|l| crate::text::pick(l, "id", bot.default_lang()))
            .unwrap_or_else(|| field.to_string());
        visitors.push((label, counts));
    }
    let mut by_channel: BTreeMap<ChannelKind, usize> = BTreeMap::new();
    for v in &visits {
        *by_channel.entry(v.channel).or_default() += 1;
    }
    visitors.push((
        words.get("report_col_channel"),
        by_channel
            .into_iter()
            .map(|(c, n)| (c.as_str().to_string(), n))
            .collect(),
    ));
    Ok((visitors, visits.len()))
}

/// The ratings of the period by service (`None`: a general rating, not about a case), by
/// channel, and all together, with the ratings asked for.
struct Ratings {
    by_service: BTreeMap<Option<Service>, RatingGroup>,
    by_channel: BTreeMap<String, RatingGroup>,
    all: RatingGroup,
}

impl Ratings {
    fn count(
        store: &dyn Store,
        period: &Period,
        all_cases: &[Case],
        guests: &BTreeMap<String, Guest>,
        asked: Asked,
    ) -> Result<Ratings> {
        let case_channel: BTreeMap<&CaseNumber, ChannelKind> = all_cases
            .iter()
            .map(|c| (&c.number, c.origin.channel))
            .collect();
        let mut by_service: BTreeMap<Option<Service>, RatingGroup> = BTreeMap::new();
        let mut by_channel: BTreeMap<String, RatingGroup> = BTreeMap::new();
        let mut all = RatingGroup::default();
        let ratings: Vec<Rating> = store
            .ratings()?
            .into_iter()
            .filter(|r| period.contains(r.at))
            .collect();
        for r in &ratings {
            let channel = r
                .case
                .as_ref()
                .and_then(|n| case_channel.get(n).copied())
                .or_else(|| {
                    r.guest_id
                        .as_ref()
                        .and_then(|g| guests.get(g))
                        .and_then(|g| g.identities.first())
                        .map(|i| i.channel)
                })
                .map_or_else(|| "-".to_string(), |c| c.as_str().to_string());
            add_rating(
                by_service
                    .entry(r.case.as_ref().map(|n| n.service))
                    .or_default(),
                r,
            );
            add_rating(by_channel.entry(channel).or_default(), r);
            add_rating(&mut all, r);
        }
        for ((service, channel), (a, rated)) in asked {
            for g in [
                by_service.entry(Some(service)).or_default(),
                by_channel.entry(channel.as_str().to_string()).or_default(),
                &mut all,
            ] {
                g.asked += a;
                g.rated += rated;
            }
        }
        Ok(Ratings {
            by_service,
            by_channel,
            all,
        })
    }
}
