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

use super::ikm::{ELEMENTS, Ikm};
use super::table::{Cell, Table};
use super::{Period, Result, percentile, service_name};
use crate::cases::calendar::OfficeCalendar;
use crate::cases::sla::SlaUnit;
use crate::cases::workflow::Workflow;
use crate::cases::{Case, CaseNumber, Service};
use crate::dialogs::Bot;
use crate::guestbook::{Guest, Rating};
use crate::message::ChannelKind;
use crate::store::Store;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One stay of a case in a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageStay {
    pub stage: String,
    pub entered: DateTime<Utc>,
    /// `None`: the case is still there.
    pub left: Option<DateTime<Utc>>,
}

/// The stages a case went through, in order, from its history.
pub fn stays(wf: &Workflow, case: &Case) -> Vec<StageStay> {
    let mut out = vec![StageStay {
        stage: wf.start.clone(),
        entered: case.created_at,
        left: None,
    }];
    for e in &case.history {
        let Some(t) = wf.transition(&e.kind) else {
            continue;
        };
        let current = out.last_mut().expect("starts with one stay");
        if !t.from.contains(&current.stage) {
            continue;
        }
        current.left = Some(e.at);
        out.push(StageStay {
            stage: t.to.clone(),
            entered: e.at,
            left: None,
        });
    }
    out
}

/// When the case's result reached the applicant (see the module docs), and whether that stage
/// asked for a rating.
pub fn finished_at(wf: &Workflow, stays: &[StageStay]) -> Option<(DateTime<Utc>, bool)> {
    stays.iter().find_map(|s| {
        let st = wf.state(&s.stage)?;
        (st.ask_rating || st.is_final).then_some((s.entered, st.ask_rating))
    })
}

/// Whether the case is past a due time at `at` (it must be in progress then).
fn overdue_at(
    wf: &Workflow,
    cal: &OfficeCalendar,
    case: &Case,
    stays: &[StageStay],
    at: DateTime<Utc>,
) -> bool {
    let Some(stay) = stays
        .iter()
        .rev()
        .find(|s| s.entered <= at && s.left.is_none_or(|l| l > at))
    else {
        return false;
    };
    let Some(state) = wf.state(&stay.stage) else {
        return false;
    };
    if !state.clock_runs {
        return false;
    }
    if let Some(sla) = state.sla
        && cal.due(stay.entered, sla) < at
    {
        return true;
    }
    if let Some(o) = &wf.overall
        && let Some(start) = stays.iter().find(|s| s.stage == o.from).map(|s| s.entered)
        && start <= at
    {
        let stops: Vec<_> = case
            .stops
            .iter()
            .filter(|(from, _)| *from >= start && *from < at)
            .map(|&(from, to)| (from, to.filter(|t| *t <= at)))
            .collect();
        if let Some(due) = cal.due_excluding(start, o.sla, &stops) {
            return due < at;
        }
    }
    false
}

/// A stay's length in the unit of its SLA.
fn measure(cal: &OfficeCalendar, unit: SlaUnit, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let hours = |d: Duration| d.num_seconds() as f64 / 3600.0;
    match unit {
        SlaUnit::Hours => hours(to - from),
        SlaUnit::Days => hours(to - from) / 24.0,
        SlaUnit::WorkingHours => hours(cal.working_time_between(from, to, &[])),
        SlaUnit::WorkingDays => f64::from(cal.working_days_between(from, to)),
    }
}

fn unit_name(unit: SlaUnit) -> &'static str {
    match unit {
        SlaUnit::Hours => "jam / hours",
        SlaUnit::WorkingHours => "jam kerja / working hours",
        SlaUnit::Days => "hari / days",
        SlaUnit::WorkingDays => "hari kerja / working days",
    }
}

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

        let mut cases: BTreeMap<(Service, ChannelKind), CaseCounts> = BTreeMap::new();
        let mut completion: BTreeMap<Service, Completion> = BTreeMap::new();
        let mut asked: BTreeMap<(Service, ChannelKind), (usize, usize)> = BTreeMap::new();
        // Stage stays that ended in the period: (service, stage) → (values, within).
        let mut stage_values: BTreeMap<(Service, String), (Vec<f64>, usize)> = BTreeMap::new();
        let mut weeks = weeks_of(&period);

        for case in &all {
            let service = case.number.service;
            let channel = case.origin.channel;
            let row = cases.entry((service, channel)).or_default();
            if period.contains(case.created_at) {
                row.received += 1;
                let day = cal.local(case.created_at).date();
                if let Some(w) = weeks.iter_mut().find(|w| w.0 <= day && day <= w.1) {
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
                continue;
            };
            let stays = stays(wf, case);
            let finished = finished_at(wf, &stays);
            match finished {
                Some((at, asks)) if period.contains(at) => {
                    row.finished += 1;
                    let c = completion.entry(service).or_default();
                    c.working_days
                        .push(f64::from(cal.working_days_between(case.created_at, at)));
                    c.days
                        .push((at - case.created_at).num_seconds() as f64 / 86_400.0);
                    if let Some(o) = &wf.overall {
                        c.standard = Some(o.sla.to_string());
                        if let Some(start) =
                            stays.iter().find(|s| s.stage == o.from).map(|s| s.entered)
                        {
                            let stops: Vec<_> = case
                                .stops
                                .iter()
                                .copied()
                                .filter(|(from, _)| *from >= start && *from < at)
                                .collect();
                            if let Some(due) = cal.due_excluding(start, o.sla, &stops) {
                                c.measured += 1;
                                if at <= due {
                                    c.within += 1;
                                }
                            }
                        }
                    }
                    if asks {
                        let a = asked.entry((service, channel)).or_default();
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
                let e = stage_values.entry((service, s.stage.clone())).or_default();
                e.0.push(measure(cal, sla.unit, s.entered, left));
                if left <= cal.due(s.entered, sla) {
                    e.1 += 1;
                }
            }
        }
        cases.retain(|_, c| *c != CaseCounts::default());

        // Stage table, in workflow order, every stage with an SLA (zero rows included, so the
        // standard is always shown).
        let mut stages = Table::new(
            "waktu_tahap",
            "Waktu per tahap terhadap standar SOP / time per stage against the SOP standard",
            &[
                "Layanan / Service",
                "Tahap / Stage",
                "Standar / Standard",
                "Satuan / Unit",
                "Jumlah / Count",
                "Median",
                "Persentil 90 / 90th percentile",
                "Sesuai standar (%) / Within standard (%)",
            ],
        );
        for (service, wf) in &bot.workflows {
            for st in wf.states.iter().filter(|s| s.clock_runs) {
                let Some(sla) = st.sla else { continue };
                let (values, within) = stage_values
                    .remove(&(*service, st.id.clone()))
                    .unwrap_or_default();
                stages.push(vec![
                    Cell::text(service.prefix()),
                    Cell::text(crate::text::pick(&st.label, "id", bot.default_lang())),
                    Cell::Int(i64::from(sla.amount)),
                    Cell::text(unit_name(sla.unit)),
                    int(values.len()),
                    Cell::num(percentile(&values, 50), 1),
                    Cell::num(percentile(&values, 90), 1),
                    Cell::num(share(within, values.len()), 1),
                ]);
            }
        }

        // Visitors.
        let guests: BTreeMap<String, Guest> = store
            .guests()?
            .into_iter()
            .map(|g| (g.id.clone(), g))
            .collect();
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
                counts.push(("Tidak diketahui / unknown".into(), unknown));
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
            "Kanal / Channel".into(),
            by_channel
                .into_iter()
                .map(|(c, n)| (c.as_str().to_string(), n))
                .collect(),
        ));

        // Ratings.
        let case_channel: BTreeMap<&CaseNumber, ChannelKind> =
            all.iter().map(|c| (&c.number, c.origin.channel)).collect();
        let mut ratings_by_service: BTreeMap<Option<Service>, RatingGroup> = BTreeMap::new();
        let mut ratings_by_channel: BTreeMap<String, RatingGroup> = BTreeMap::new();
        let mut ratings_all = RatingGroup::default();
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
                ratings_by_service
                    .entry(r.case.as_ref().map(|n| n.service))
                    .or_default(),
                r,
            );
            add_rating(ratings_by_channel.entry(channel).or_default(), r);
            add_rating(&mut ratings_all, r);
        }
        for ((service, channel), (a, rated)) in asked {
            for g in [
                ratings_by_service.entry(Some(service)).or_default(),
                ratings_by_channel
                    .entry(channel.as_str().to_string())
                    .or_default(),
                &mut ratings_all,
            ] {
                g.asked += a;
                g.rated += rated;
            }
        }

        Ok(MonthlyReport {
            period,
            as_of,
            as_of_local: cal.local(as_of),
            cases,
            visitors,
            visits: visits.len(),
            stages,
            completion,
            ratings_by_service,
            ratings_by_channel,
            ratings_all,
            weeks,
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

    /// The tables, in the order of the workbook's sheets.
    pub fn tables(&self) -> Vec<Table> {
        vec![
            self.cases_table(),
            self.weeks_table(),
            self.visitors_table(),
            self.stages.clone(),
            self.completion_table(),
            self.ratings_table(),
            self.ikm_table(),
        ]
    }

    fn cases_table(&self) -> Table {
        let mut t = Table::new(
            "kasus",
            "Kasus per layanan dan kanal / cases per service and channel",
            &[
                "Layanan / Service",
                "Kanal / Channel",
                "Diterima / Received",
                "Selesai / Finished",
                "Dalam proses / In progress",
                "Terlambat / Overdue",
            ],
        );
        let row = |s: &str, ch: &str, c: &CaseCounts| {
            vec![
                Cell::text(s),
                Cell::text(ch),
                int(c.received),
                int(c.finished),
                int(c.in_progress),
                int(c.overdue),
            ]
        };
        for service in Service::ALL {
            let mut sub = CaseCounts::default();
            for ((s, ch), c) in &self.cases {
                if *s == service {
                    t.push(row(service_name(service), ch.as_str(), c));
                    sub.add(c);
                }
            }
            t.push(row(service_name(service), "semua / all", &sub));
        }
        t.push(row(
            "Semua layanan / all services",
            "semua / all",
            &self.totals(),
        ));
        t
    }

    fn weeks_table(&self) -> Table {
        let mut t = Table::new(
            "mingguan",
            "Kasus diterima per minggu / cases received per week",
            &[
                "Minggu / Week",
                "Dari / From",
                "Sampai / To",
                "REK",
                "PRD",
                "ADU",
                "Jumlah / Total",
            ],
        );
        for (i, (first, last, n)) in self.weeks.iter().enumerate() {
            let get = |s| n.get(&s).copied().unwrap_or(0);
            t.push(vec![
                int(i + 1),
                Cell::text(first.to_string()),
                Cell::text(last.to_string()),
                int(get(Service::Rek)),
                int(get(Service::Prd)),
                int(get(Service::Adu)),
                int(n.values().sum()),
            ]);
        }
        t
    }

    fn visitors_table(&self) -> Table {
        let mut t = Table::new(
            "pengunjung",
            "Kunjungan menurut kategori buku tamu / visits by guest-book category",
            &["Kategori / Category", "Nilai / Value", "Kunjungan / Visits"],
        );
        t.push(vec![
            Cell::text("Jumlah kunjungan / all visits"),
            Cell::Empty,
            int(self.visits),
        ]);
        for (field, counts) in &self.visitors {
            for (value, n) in counts {
                t.push(vec![Cell::text(field), Cell::text(value), int(*n)]);
            }
        }
        t
    }

    fn completion_table(&self) -> Table {
        let mut t = Table::new(
            "waktu_selesai",
            "Waktu penyelesaian per layanan / time to complete per service",
            &[
                "Layanan / Service",
                "Selesai / Finished",
                "Median hari kerja / median working days",
                "P90 hari kerja / 90th percentile working days",
                "Median hari kalender / median calendar days",
                "Standar SOP / SOP standard",
                "Sesuai standar (%) / Within standard (%)",
            ],
        );
        for service in Service::ALL {
            let c = self.completion.get(&service).cloned().unwrap_or_default();
            t.push(vec![
                Cell::text(service_name(service)),
                int(c.days.len()),
                Cell::num(percentile(&c.working_days, 50), 0),
                Cell::num(percentile(&c.working_days, 90), 0),
                Cell::num(percentile(&c.days, 50), 1),
                c.standard.map_or(Cell::Empty, Cell::Text),
                Cell::num(share(c.within, c.measured), 1),
            ]);
        }
        t
    }

    fn ratings_table(&self) -> Table {
        let mut headers = vec![
            "Kelompok / Group",
            "Nilai / Value",
            "Penilaian / Ratings",
            "Rata-rata 1–5 / Average 1–5",
            "Responden SKM / SKM respondents",
        ];
        let units: Vec<String> = (1..=9).map(|i| format!("U{i} (NRR)")).collect();
        headers.extend(units.iter().map(String::as_str));
        headers.extend([
            "IKM (1–4)",
            "Nilai IKM (25–100) / IKM value",
            "Mutu / Grade",
            "Diminta menilai / Asked",
            "Dinilai / Rated",
            "Tingkat respons (%) / Response rate (%)",
        ]);
        let mut t = Table::new(
            "penilaian",
            "Penilaian dan IKM (PermenPAN-RB 14/2017) / ratings and IKM",
            &headers,
        );
        let row = |group: &str, value: &str, g: &RatingGroup| {
            let ikm = g.ikm();
            let mut r = vec![
                Cell::text(group),
                Cell::text(value),
                int(g.scores.len()),
                Cell::num(g.average(), 2),
                int(g.surveys.len()),
            ];
            for i in 0..9 {
                r.push(Cell::num(ikm.as_ref().map(|k| k.nrr[i]), 2));
            }
            r.push(Cell::num(ikm.as_ref().map(|k| k.index), 3));
            r.push(Cell::num(ikm.as_ref().map(|k| k.value), 2));
            r.push(ikm.as_ref().map_or(Cell::Empty, |k| {
                Cell::text(format!("{} ({})", k.grade.letter(), k.grade.label()))
            }));
            r.push(int(g.asked));
            r.push(int(g.rated));
            r.push(Cell::num(g.response_rate(), 1));
            r
        };
        for (s, g) in &self.ratings_by_service {
            let name = s.map_or("Umum (tanpa kasus) / general", service_name);
            t.push(row("Layanan / Service", name, g));
        }
        for (ch, g) in &self.ratings_by_channel {
            t.push(row("Kanal / Channel", ch, g));
        }
        t.push(row("Semua / All", "", &self.ratings_all));
        t
    }

    /// The IKM of all surveys of the period laid out as the regulation's worksheet: each
    /// element's NRR and weighted NRR, then the index, the unit value and the grade.
    fn ikm_table(&self) -> Table {
        let mut t = Table::new(
            "ikm",
            "IKM per unsur (PermenPAN-RB 14/2017) / IKM per element",
            &[
                "Unsur / Element",
                "Nama / Name",
                "NRR",
                "Bobot / Weight",
                "NRR tertimbang / Weighted NRR",
            ],
        );
        let ikm = self.ratings_all.ikm();
        for (i, (id, en)) in ELEMENTS.iter().enumerate() {
            let nrr = ikm.as_ref().map(|k| k.nrr[i]);
            t.push(vec![
                Cell::text(format!("U{}", i + 1)),
                Cell::text(format!("{id} / {en}")),
                Cell::num(nrr, 3),
                Cell::Num(super::ikm::WEIGHT, 3),
                Cell::num(nrr.map(|v| v * super::ikm::WEIGHT), 3),
            ]);
        }
        let summary = |label: &str, c: Cell| {
            vec![Cell::text(label), Cell::Empty, Cell::Empty, Cell::Empty, c]
        };
        t.push(summary(
            "Responden / respondents",
            int(ikm.as_ref().map_or(0, |k| k.respondents)),
        ));
        t.push(summary(
            "IKM (Σ NRR tertimbang)",
            Cell::num(ikm.as_ref().map(|k| k.index), 3),
        ));
        t.push(summary(
            "Nilai IKM (× 25) / IKM value",
            Cell::num(ikm.as_ref().map(|k| k.value), 2),
        ));
        t.push(summary(
            "Mutu / grade",
            ikm.as_ref().map_or(Cell::Empty, |k| {
                Cell::text(format!("{} ({})", k.grade.letter(), k.grade.label()))
            }),
        ));
        t
    }

    /// The short text for the admin chat and the terminal: the key numbers, phone-sized.
    pub fn summary_text(&self) -> String {
        let t = self.totals();
        let per_service: Vec<String> = Service::ALL
            .iter()
            .map(|s| {
                let n: usize = self
                    .cases
                    .iter()
                    .filter(|((x, _), _)| x == s)
                    .map(|(_, c)| c.received)
                    .sum();
                format!("{} {n}", s.prefix())
            })
            .collect();
        let running = if self.as_of < self.period.to {
            format!(
                " (keadaan / as of {})",
                self.as_of_local.format("%d/%m/%Y %H:%M")
            )
        } else {
            String::new()
        };
        let mut lines = vec![
            format!(
                "Laporan bulanan / monthly report: {}{running}",
                self.period.label()
            ),
            format!(
                "• Kasus diterima / received: {} ({})",
                t.received,
                per_service.join(", ")
            ),
            format!("• Selesai / finished: {}", t.finished),
            format!(
                "• Dalam proses / in progress: {}, terlambat / overdue: {}",
                t.in_progress, t.overdue
            ),
            format!("• Kunjungan buku tamu / visits: {}", self.visits),
        ];
        let r = &self.ratings_all;
        lines.push(match r.average() {
            Some(avg) => format!(
                "• Penilaian / ratings: {}, rata-rata / average {avg:.2}/5",
                r.scores.len()
            ),
            None => "• Penilaian / ratings: 0".into(),
        });
        if let Some(rate) = r.response_rate() {
            lines.push(format!(
                "• Tingkat respons / response rate: {rate:.0}% ({} dari / of {})",
                r.rated, r.asked
            ));
        }
        lines.push(match r.ikm() {
            Some(k) => format!(
                "• IKM: {:.2} — mutu / grade {} ({}), {} responden / respondents",
                k.value,
                k.grade.letter(),
                k.grade.label(),
                k.respondents
            ),
            None => "• IKM: belum ada survei / no survey yet".into(),
        });
        lines.join("\n")
    }

    /// File name of the workbook.
    pub fn xlsx_name(&self) -> String {
        format!("laporan-{}.xlsx", self.period.key())
    }

    /// File name of the chart.
    pub fn chart_name(&self) -> String {
        format!("grafik-{}.png", self.period.key())
    }

    pub fn xlsx(&self) -> Result<Vec<u8>> {
        super::table::to_xlsx(&self.tables())
    }

    pub fn chart(&self) -> Result<Vec<u8>> {
        super::chart::render(self)
    }

    /// Writes one CSV per table (`laporan-YYYY-MM-NAME.csv`), the workbook and the chart into
    /// `dir` (created if missing); returns the files written.
    pub fn write_to(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut files = Vec::new();
        for t in self.tables() {
            let path = dir.join(format!("laporan-{}-{}.csv", self.period.key(), t.name));
            files.push(super::write_file(&path, &super::table::to_csv(&t)?)?);
        }
        files.push(super::write_file(
            &dir.join(self.xlsx_name()),
            &self.xlsx()?,
        )?);
        files.push(super::write_file(
            &dir.join(self.chart_name()),
            &self.chart()?,
        )?);
        Ok(files)
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
