//! Reports for the office: the IKM ([`ikm`]), the monthly service report ([`monthly`]) with
//! its chart ([`chart`]), and the guest-book export ([`export`]). Everything here is a pure
//! function of what the [`Store`] holds, the workflows and the office calendar; writing CSV and
//! XLSX is in [`table`]. The CLI (`pstbot report`, `pstbot export guestbook`, through
//! `backup::control`) and the officers' `laporan` command call the same functions.

pub mod chart;
pub mod export;
pub mod ikm;
pub mod monthly;
pub mod table;

use crate::cases::Service;
use crate::cases::calendar::{MONTHS_ID, OfficeCalendar};
use crate::dialogs::Bot;
use crate::dialogs::spec::StepKind;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A month or date the user typed that cannot be read; the text says what is expected.
    #[error("{0}")]
    Input(String),
    #[error("cannot write the report: {0}")]
    Write(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<csv::Error> for ReportError {
    fn from(e: csv::Error) -> Self {
        ReportError::Write(e.to_string())
    }
}

impl From<rust_xlsxwriter::XlsxError> for ReportError {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        ReportError::Write(e.to_string())
    }
}

pub type Result<T, E = ReportError> = std::result::Result<T, E>;

/// A reporting period: whole office-local days, `first` to `last` inclusive, and the same as
/// UTC instants `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Period {
    /// The office-local days `first..=last`.
    pub fn days(cal: &OfficeCalendar, first: NaiveDate, last: NaiveDate) -> Result<Period> {
        if last < first {
            return Err(ReportError::Input(format!(
                "the end date {last} is before the start date {first}"
            )));
        }
        let after = last
            .succ_opt()
            .ok_or_else(|| ReportError::Input(format!("{last} is out of range")))?;
        Ok(Period {
            first,
            last,
            from: cal.to_utc(first.and_hms_opt(0, 0, 0).expect("midnight")),
            to: cal.to_utc(after.and_hms_opt(0, 0, 0).expect("midnight")),
        })
    }

    /// A calendar month as `YYYY-MM` (e.g. `2026-11`).
    pub fn month(cal: &OfficeCalendar, text: &str) -> Result<Period> {
        let (y, m) = parse_month(text).ok_or_else(|| {
            ReportError::Input(format!(
                "`{}` is not a month like 2026-11 (YYYY-MM)",
                text.trim()
            ))
        })?;
        Self::of_month(cal, y, m)
    }

    /// The month `m` of year `y`.
    pub fn of_month(cal: &OfficeCalendar, y: i32, m: u32) -> Result<Period> {
        let first = NaiveDate::from_ymd_opt(y, m, 1)
            .ok_or_else(|| ReportError::Input(format!("{y}-{m:02} is not a month")))?;
        let next = if m == 12 {
            NaiveDate::from_ymd_opt(y + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(y, m + 1, 1)
        }
        .ok_or_else(|| ReportError::Input(format!("{y}-{m:02} is out of range")))?;
        Self::days(cal, first, next.pred_opt().expect("a day before the 1st"))
    }

    /// The office-local month that `now` falls in.
    pub fn current_month(cal: &OfficeCalendar, now: DateTime<Utc>) -> Result<Period> {
        let d = cal.local(now).date();
        Self::of_month(cal, d.year(), d.month())
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        t >= self.from && t < self.to
    }

    /// `YYYY-MM` of the first day (file names).
    pub fn key(&self) -> String {
        format!("{:04}-{:02}", self.first.year(), self.first.month())
    }

    /// "November 2026" in Indonesian, or the date range when it is not one whole month.
    pub fn label(&self) -> String {
        let whole_month = self.first.day() == 1
            && self.last.succ_opt().is_some_and(|d| d.day() == 1)
            && self.first.month() == self.last.month();
        if whole_month {
            format!(
                "{} {}",
                MONTHS_ID[self.first.month0() as usize],
                self.first.year()
            )
        } else {
            format!("{} – {}", self.first, self.last)
        }
    }
}

/// Reads `YYYY-MM`.
pub fn parse_month(s: &str) -> Option<(i32, u32)> {
    let (y, m) = s.trim().split_once('-')?;
    if y.len() != 4 || m.is_empty() || m.len() > 2 {
        return None;
    }
    if !y.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    (1..=12).contains(&m).then_some((y, m))
}

/// Reads a date as `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        ReportError::Input(format!(
            "`{}` is not a date like 2026-11-30 (YYYY-MM-DD)",
            s.trim()
        ))
    })
}

/// The service's name in report tables.
/// The report's words: the `report_*` texts of `dialogs/officers.toml`. The office reads its
/// reports as it reads the officers' chat, both languages in one line.
#[derive(Clone)]
pub struct Words(std::sync::Arc<crate::text::Texts>);

impl std::fmt::Debug for Words {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Words")
    }
}

impl Words {
    pub fn of(bot: &Bot) -> Words {
        Words(bot.texts.clone())
    }

    pub fn get(&self, key: &str) -> String {
        self.0.officer(key, &[])
    }

    /// The text of `key` with its placeholders filled.
    pub fn fill(&self, key: &str, vars: &[(&str, String)]) -> String {
        self.0.officer(key, vars)
    }

    /// The texts of `keys`, in order (a table's headers).
    pub fn all(&self, keys: &[&str]) -> Vec<String> {
        keys.iter().map(|k| self.get(k)).collect()
    }

    /// A service's name: its prefix and what it is.
    pub fn service(&self, s: Service) -> String {
        self.get(match s {
            Service::Rek => "report_service_rek",
            Service::Prd => "report_service_prd",
            Service::Adu => "report_service_adu",
        })
    }

    /// An IKM grade's wording.
    pub fn grade(&self, g: ikm::Grade) -> String {
        self.get(g.text_key())
    }
}

/// The label (in `lang`) of a guest-book choice value, e.g. `gender` `P` → "Perempuan"; the
/// value itself when the dialog has no such option (an office changed its options).
pub fn guestbook_label(bot: &Bot, field: &str, value: &str, lang: &str) -> String {
    guestbook_options(bot, field)
        .into_iter()
        .find(|(v, _)| v == value)
        .map(|(_, l)| crate::text::pick(&l, lang, bot.default_lang()))
        .unwrap_or_else(|| value.to_string())
}

/// The options (value, label) of a guest-book choice field, in the dialog's order.
pub fn guestbook_options(bot: &Bot, field: &str) -> Vec<(String, crate::text::I18n)> {
    bot.dialogs
        .get("guestbook")
        .and_then(|d| d.steps.iter().find(|s| s.field == field))
        .map(|s| match &s.kind {
            StepKind::Choice(choice) => choice
                .options
                .iter()
                .map(|o| (o.value.clone(), o.label.clone()))
                .collect(),
            _ => Vec::new(),
        })
        .unwrap_or_default()
}

/// The value at the `p`-th percentile by the nearest-rank method: the smallest observation
/// with at least `p`% of all observations at or below it (so it is always one of them).
/// The median is `percentile(v, 50)`. `None` for no observations.
pub fn percentile(values: &[f64], p: u32) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = (u64::from(p) * v.len() as u64).div_ceil(100).max(1) as usize;
    Some(v[rank.min(v.len()) - 1])
}

/// The monthly report of `month` written to `dir`, and its summary.
pub fn monthly_to(store: &dyn Store, bot: &Bot, month: &str, dir: &Path) -> crate::Result<String> {
    let period = Period::month(&bot.calendar, month)?;
    let report = monthly::MonthlyReport::build(store, bot, period, Utc::now())?;
    let files = report.write_to(dir)?;
    let mut text = report.summary_text();
    text.push_str("\n\n");
    text.push_str(&Words::of(bot).get("report_files"));
    for f in files {
        text.push_str(&format!("\n{}", f.display()));
    }
    Ok(text)
}

/// The guest-book export as CSV bytes, with how many visits it lists; recorded in the audit
/// log as read from the server.
pub fn guestbook_csv(
    store: &dyn Store,
    bot: &Bot,
    from: &str,
    to: &str,
) -> crate::Result<(usize, Vec<u8>)> {
    let period = Period::days(&bot.calendar, parse_date(from)?, parse_date(to)?)?;
    let table = export::guestbook(store, bot, period, true)?;
    let bytes = table::to_csv(&table)?;
    record_cli_access(store, "export_guestbook", &format!("{from}..{to}"))?;
    Ok((table.rows.len(), bytes))
}

/// Records in the audit log that a command run on the server read personal data (UU PDP:
/// every access is accounted for, also the administrator's).
fn record_cli_access(store: &dyn Store, action: &str, subject: &str) -> crate::Result<()> {
    let user = std::env::var("USER").unwrap_or_else(|_| "?".into());
    let now = Utc::now();
    let mut c = crate::store::Commit::new(
        crate::store::DedupeKey(format!("cli:{action}:{}", fastrand::u64(..))),
        now,
        crate::message::Identity::new(crate::message::ChannelKind::Desk, "cli"),
        Default::default(),
    );
    c.session = None;
    c.audit.push(crate::store::AuditEntry {
        at: now,
        officer: format!("cli:{user}"),
        action: action.into(),
        subject: subject.into(),
    });
    store.commit(c)?;
    store.flush()?;
    Ok(())
}

/// Writes a file, creating its folder.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<PathBuf> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes)?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_percentiles() {
        assert_eq!(parse_month("2026-11"), Some((2026, 11)));
        assert_eq!(parse_month(" 2026-3 "), Some((2026, 3)));
        for bad in ["2026-13", "2026-00", "26-11", "2026/11", "2026-1x", ""] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
        // Nearest rank: of 1..=10, the median is 5 and the 90th percentile 9.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 50), Some(5.0));
        assert_eq!(percentile(&v, 90), Some(9.0));
        assert_eq!(percentile(&[3.0], 90), Some(3.0));
        assert_eq!(percentile(&[], 50), None);
    }
}
