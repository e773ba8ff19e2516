//! The monthly report laid out: its tables (one sheet each in the workbook, one CSV each),
//! the short summary for the admin chat, and the files it writes.

use super::{CaseCounts, MonthlyReport, RatingGroup, int, share};
use crate::cases::Service;
use crate::cases::sla::SlaUnit;
use crate::dialogs::Bot;
use crate::reports::ikm::ELEMENTS;
use crate::reports::table::{Cell, Table};
use crate::reports::{Result, percentile, service_name};
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
                Cell::Num(crate::reports::ikm::WEIGHT, 3),
                Cell::num(nrr.map(|v| v * crate::reports::ikm::WEIGHT), 3),
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
    stages
}

fn unit_name(unit: SlaUnit) -> &'static str {
    match unit {
        SlaUnit::Hours => "jam / hours",
        SlaUnit::WorkingHours => "jam kerja / working hours",
        SlaUnit::Days => "hari / days",
        SlaUnit::WorkingDays => "hari kerja / working days",
    }
}
