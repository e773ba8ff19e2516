//! The monthly report laid out: its tables (one sheet each in the workbook, one CSV each),
//! the short summary for the admin chat, and the files it writes.

use super::{CaseCounts, MonthlyReport, RatingGroup, int, share};
use crate::cases::Service;
use crate::cases::sla::SlaUnit;
use crate::dialogs::Bot;
use crate::reports::ikm::ELEMENTS;
use crate::reports::table::{Cell, Table};
use crate::reports::{Result, Words, percentile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

impl MonthlyReport {
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
        let w = &self.words;
        let all = w.get("report_all");
        let mut t = Table::new(
            "kasus",
            &w.get("report_cases_title"),
            &w.all(&[
                "report_col_service",
                "report_col_channel",
                "report_col_received",
                "report_col_finished",
                "report_col_in_progress",
                "report_col_overdue",
            ]),
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
                    t.push(row(&w.service(service), ch.as_str(), c));
                    sub.add(c);
                }
            }
            t.push(row(&w.service(service), &all, &sub));
        }
        t.push(row(&w.get("report_all_services"), &all, &self.totals()));
        t
    }

    fn weeks_table(&self) -> Table {
        let w = &self.words;
        let mut t = Table::new(
            "mingguan",
            &w.get("report_weeks_title"),
            &[
                w.get("report_col_week"),
                w.get("report_col_from"),
                w.get("report_col_to"),
                Service::Rek.prefix().to_string(),
                Service::Prd.prefix().to_string(),
                Service::Adu.prefix().to_string(),
                w.get("report_col_total"),
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
        let w = &self.words;
        let mut t = Table::new(
            "pengunjung",
            &w.get("report_visitors_title"),
            &w.all(&[
                "report_col_category",
                "report_col_value",
                "report_col_visits",
            ]),
        );
        t.push(vec![
            Cell::text(w.get("report_all_visits")),
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
        let w = &self.words;
        let mut t = Table::new(
            "waktu_selesai",
            &w.get("report_completion_title"),
            &w.all(&[
                "report_col_service",
                "report_col_finished",
                "report_col_median_working_days",
                "report_col_p90_working_days",
                "report_col_median_days",
                "report_col_sop_standard",
                "report_col_within",
            ]),
        );
        for service in Service::ALL {
            let c = self.completion.get(&service).cloned().unwrap_or_default();
            t.push(vec![
                Cell::text(w.service(service)),
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
        let w = &self.words;
        let mut headers = w.all(&[
            "report_col_group",
            "report_col_value",
            "report_col_ratings",
            "report_col_average",
            "report_col_skm_respondents",
        ]);
        headers.extend((1..=9).map(|i| format!("U{i} (NRR)")));
        headers.push("IKM (1–4)".into());
        headers.extend(w.all(&[
            "report_col_ikm_value",
            "report_col_grade",
            "report_col_asked",
            "report_col_rated",
            "report_col_response_rate",
        ]));
        let mut t = Table::new("penilaian", &w.get("report_ratings_title"), &headers);
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
                Cell::text(format!("{} ({})", k.grade.letter(), w.grade(k.grade)))
            }));
            r.push(int(g.asked));
            r.push(int(g.rated));
            r.push(Cell::num(g.response_rate(), 1));
            r
        };
        let (by_service, by_channel) = (w.get("report_col_service"), w.get("report_col_channel"));
        for (s, g) in &self.ratings_by_service {
            let name = s.map_or_else(|| w.get("report_general"), |s| w.service(s));
            t.push(row(&by_service, &name, g));
        }
        for (ch, g) in &self.ratings_by_channel {
            t.push(row(&by_channel, ch, g));
        }
        t.push(row(&w.get("report_all_ratings"), "", &self.ratings_all));
        t
    }

    /// The IKM of all surveys of the period laid out as the regulation's worksheet: each
    /// element's NRR and weighted NRR, then the index, the unit value and the grade.
    fn ikm_table(&self) -> Table {
        let w = &self.words;
        let mut t = Table::new(
            "ikm",
            &w.get("report_ikm_title"),
            &[
                w.get("report_col_element"),
                w.get("report_col_name"),
                "NRR".into(),
                w.get("report_col_weight"),
                w.get("report_col_weighted_nrr"),
            ],
        );
        let ikm = self.ratings_all.ikm();
        for i in 0..ELEMENTS {
            let nrr = ikm.as_ref().map(|k| k.nrr[i]);
            t.push(vec![
                Cell::text(format!("U{}", i + 1)),
                Cell::text(w.get(&format!("report_element_{}", i + 1))),
                Cell::num(nrr, 3),
                Cell::Num(crate::reports::ikm::WEIGHT, 3),
                Cell::num(nrr.map(|v| v * crate::reports::ikm::WEIGHT), 3),
            ]);
        }
        let summary = |label: String, c: Cell| {
            vec![Cell::text(label), Cell::Empty, Cell::Empty, Cell::Empty, c]
        };
        t.push(summary(
            w.get("report_respondents"),
            int(ikm.as_ref().map_or(0, |k| k.respondents)),
        ));
        t.push(summary(
            w.get("report_ikm_index"),
            Cell::num(ikm.as_ref().map(|k| k.index), 3),
        ));
        t.push(summary(
            w.get("report_ikm_value"),
            Cell::num(ikm.as_ref().map(|k| k.value), 2),
        ));
        t.push(summary(
            w.get("report_grade"),
            ikm.as_ref().map_or(Cell::Empty, |k| {
                Cell::text(format!("{} ({})", k.grade.letter(), w.grade(k.grade)))
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
        let w = &self.words;
        let running = if self.as_of < self.period.to {
            w.fill(
                "report_summary_as_of",
                &[(
                    "time",
                    self.as_of_local.format("%d/%m/%Y %H:%M").to_string(),
                )],
            )
        } else {
            String::new()
        };
        let mut lines = vec![
            w.fill(
                "report_summary_head",
                &[("month", self.period.label()), ("as_of", running)],
            ),
            w.fill(
                "report_summary_received",
                &[
                    ("count", t.received.to_string()),
                    ("services", per_service.join(", ")),
                ],
            ),
            w.fill(
                "report_summary_finished",
                &[("count", t.finished.to_string())],
            ),
            w.fill(
                "report_summary_in_progress",
                &[
                    ("count", t.in_progress.to_string()),
                    ("overdue", t.overdue.to_string()),
                ],
            ),
            w.fill(
                "report_summary_visits",
                &[("count", self.visits.to_string())],
            ),
        ];
        let r = &self.ratings_all;
        lines.push(match r.average() {
            Some(avg) => w.fill(
                "report_summary_ratings",
                &[
                    ("count", r.scores.len().to_string()),
                    ("average", format!("{avg:.2}")),
                ],
            ),
            None => w.get("report_summary_no_ratings"),
        });
        if let Some(rate) = r.response_rate() {
            lines.push(w.fill(
                "report_summary_response",
                &[
                    ("rate", format!("{rate:.0}")),
                    ("rated", r.rated.to_string()),
                    ("asked", r.asked.to_string()),
                ],
            ));
        }
        lines.push(match r.ikm() {
            Some(k) => w.fill(
                "report_summary_ikm",
                &[
                    ("value", format!("{:.2}", k.value)),
                    ("letter", k.grade.letter().to_string()),
                    ("grade", w.grade(k.grade)),
                    ("count", k.respondents.to_string()),
                ],
            ),
            None => w.get("report_summary_no_ikm"),
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
        crate::reports::table::to_xlsx(&self.tables())
    }

    pub fn chart(&self) -> Result<Vec<u8>> {
        crate::reports::chart::render(self)
    }

    /// Writes one CSV per table (`laporan-YYYY-MM-NAME.csv`), the workbook and the chart into
    /// `dir` (created if missing); returns the files written.
    pub fn write_to(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir)?;
        let mut files = Vec::new();
        for t in self.tables() {
            let path = dir.join(format!("laporan-{}-{}.csv", self.period.key(), t.name));
            files.push(crate::reports::write_file(
                &path,
                &crate::reports::table::to_csv(&t)?,
            )?);
        }
        files.push(crate::reports::write_file(
            &dir.join(self.xlsx_name()),
            &self.xlsx()?,
        )?);
        files.push(crate::reports::write_file(
            &dir.join(self.chart_name()),
            &self.chart()?,
        )?);
        Ok(files)
    }
}

/// The stage table, in workflow order, every stage with an SLA (zero rows included, so the
/// standard is always shown).
pub(super) fn stage_table(
    bot: &Bot,
    mut stage_values: BTreeMap<(Service, String), (Vec<f64>, usize)>,
) -> Table {
    let w = Words::of(bot);
    let mut stages = Table::new(
        "waktu_tahap",
        &w.get("report_stages_title"),
        &w.all(&[
            "report_col_service",
            "report_col_stage",
            "report_col_standard",
            "report_col_unit",
            "report_col_count",
            "report_col_median",
            "report_col_p90",
            "report_col_within",
        ]),
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
                Cell::text(w.get(unit_key(sla.unit))),
                int(values.len()),
                Cell::num(percentile(&values, 50), 1),
                Cell::num(percentile(&values, 90), 1),
                Cell::num(share(within, values.len()), 1),
            ]);
        }
    }
    stages
}

/// The report's word for an SLA's unit.
fn unit_key(unit: SlaUnit) -> &'static str {
    match unit {
        SlaUnit::Hours => "report_unit_hours",
        SlaUnit::WorkingHours => "report_unit_working_hours",
        SlaUnit::Days => "report_unit_days",
        SlaUnit::WorkingDays => "report_unit_working_days",
    }
}
