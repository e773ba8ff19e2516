//! The office's working calendar: time zone, service hours per weekday and the holiday list
//! (national holidays and *cuti bersama*). Times are stored in UTC; this converts.

use crate::config::{DayHours, OfficeConfig};
use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};
use chrono_tz::Tz;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The calendar could not be built (bad holiday file).
#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct CalendarError {
    pub file: String,
    pub problem: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    date: toml::value::Datetime,
    name: String,
    #[serde(default = "libur")]
    kind: String,
}

fn libur() -> String {
    "libur".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHolidays {
    #[serde(default)]
    holidays: Vec<RawHoliday>,
}

/// Service hours, time zone and holidays of one office.
#[derive(Debug, Clone)]
pub struct OfficeCalendar {
    pub tz: Tz,
    /// Monday first.
    pub hours: [Option<DayHours>; 7],
    /// Holiday name by date.
    pub holidays: BTreeMap<NaiveDate, String>,
}

impl OfficeCalendar {
    /// Builds the calendar from the `[office]` config, reading its holiday file.
    pub fn from_config(office: &OfficeConfig) -> Result<OfficeCalendar, CalendarError> {
        let tz: Tz = office.timezone.parse().map_err(|_| CalendarError {
            file: "config".into(),
            problem: format!("unknown time zone `{}`", office.timezone),
        })?;
        let mut holidays = BTreeMap::new();
        if let Some(path) = &office.holidays_file {
            let file = path.display().to_string();
            let fail = |problem: String| CalendarError {
                file: file.clone(),
                problem,
            };
            let text =
                std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
            let raw: RawHolidays =
                toml::from_str(&text).map_err(|e| fail(e.message().to_string()))?;
            for h in raw.holidays {
                let d = h
                    .date
                    .date
                    .and_then(|d| {
                        NaiveDate::from_ymd_opt(d.year as i32, d.month as u32, d.day as u32)
                    })
                    .ok_or_else(|| fail(format!("`{}` has no valid date", h.name)))?;
                if h.kind != "libur" && h.kind != "cuti_bersama" {
                    return Err(fail(format!(
                        "`{}`: kind must be libur or cuti_bersama",
                        h.name
                    )));
                }
                holidays.insert(d, h.name);
            }
        }
        Ok(OfficeCalendar {
            tz,
            hours: office.service_hours.by_weekday(),
            holidays,
        })
    }

    /// The office's local time of an instant.
    pub fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.tz).naive_local()
    }

    /// An office-local time as an instant.
    pub fn to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        // Indonesian zones have no daylight saving, so a local time is never ambiguous.
        self.tz
            .from_local_datetime(&local)
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&local))
    }

    /// Service hours of a date, or `None` on weekends without hours and on holidays.
    pub fn hours_on(&self, date: NaiveDate) -> Option<DayHours> {
        if self.holidays.contains_key(&date) {
            return None;
        }
        self.hours[date.weekday().num_days_from_monday() as usize]
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.hours_on(date).is_some()
    }

    /// Whether the desk is open at this instant.
    pub fn is_open_at(&self, t: DateTime<Utc>) -> bool {
        let local = self.local(t);
        self.hours_on(local.date())
            .is_some_and(|h| local.time() >= h.open && local.time() < h.close)
    }

    /// The next instant the desk opens (or `t` itself when it is open). Looks a year ahead.
    pub fn next_opening(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if self.is_open_at(t) {
            return t;
        }
        let local = self.local(t);
        let mut date = local.date();
        for _ in 0..370 {
            if let Some(h) = self.hours_on(date)
                && (date > local.date() || local.time() < h.open)
            {
                return self.to_utc(date.and_time(h.open));
            }
            date += Duration::days(1);
        }
        t
    }

    /// The zone's Indonesian abbreviation (WIB, WITA, WIT) or its name.
    pub fn zone_abbreviation(&self) -> String {
        match self.tz.name() {
            "Asia/Jakarta" | "Asia/Pontianak" => "WIB".into(),
            "Asia/Makassar" => "WITA".into(),
            "Asia/Jayapura" => "WIT".into(),
            other => other.to_string(),
        }
    }

    /// The service hours as a short line, e.g. `Senin–Kamis 08.00–15.30, Jumat 08.00–16.00 WIB`.
    pub fn hours_text(&self, lang: &str) -> String {
        let names: [&str; 7] = if lang == "id" {
            [
                "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
            ]
        } else {
            ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        };
        // Written into one string: it is in every prompt's placeholders (render::common_vars).
        let hm = |t: NaiveTime| (t.hour(), t.minute());
        let mut out = String::with_capacity(64);
        let mut i = 0;
        while i < 7 {
            let Some(h) = self.hours[i] else {
                i += 1;
                continue;
            };
            let mut j = i;
            while j + 1 < 7 && self.hours[j + 1] == Some(h) {
                j += 1;
            }
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(names[i]);
            if i != j {
                out.push('–');
                out.push_str(names[j]);
            }
            let ((oh, om), (ch, cm)) = (hm(h.open), hm(h.close));
            let _ = write!(out, " {oh:02}.{om:02}–{ch:02}.{cm:02}");
            i = j + 1;
        }
        out.push(' ');
        out.push_str(&self.zone_abbreviation());
        out
    }

    /// A local date and time as a person reads it, e.g. `Senin, 23 November 2026 08.00 WIB`.
    pub fn format_local(&self, t: DateTime<Utc>, lang: &str) -> String {
        let l = self.local(t);
        format!(
            "{} {} {}",
            format_date(l.date(), lang, true),
            l.format("%H.%M"),
            self.zone_abbreviation()
        )
    }
}

/// Month names in Bahasa Indonesia (dates in texts, report titles).
pub const MONTHS_ID: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A date as a person reads it: `23 November 2026`, with the weekday when asked.
pub fn format_date(d: NaiveDate, lang: &str, weekday: bool) -> String {
    let (months, days) = if lang == "id" {
        (
            MONTHS_ID,
            [
                "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
            ],
        )
    } else {
        (
            MONTHS_EN,
            [
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
                "Sunday",
            ],
        )
    };
    let base = format!("{} {} {}", d.day(), months[d.month0() as usize], d.year());
    if weekday {
        format!(
            "{}, {base}",
            days[d.weekday().num_days_from_monday() as usize]
        )
    } else {
        base
    }
}

/// Month number (1–12) from an Indonesian or English month name or its first three letters.
pub fn month_from_name(s: &str) -> Option<u32> {
    let s = s.to_lowercase();
    if s.len() < 3 {
        return None;
    }
    let extra = [
        ("agt", 8),
        ("okt", 10),
        ("des", 12),
        ("mei", 5),
        ("peb", 2),
        ("nop", 11),
    ];
    for (i, (a, b)) in MONTHS_ID.iter().zip(MONTHS_EN.iter()).enumerate() {
        let (a, b) = (a.to_lowercase(), b.to_lowercase());
        if a == s
            || b == s
            || a.starts_with(&s) && s.len() >= 3
            || b.starts_with(&s) && s.len() >= 3
        {
            return Some(i as u32 + 1);
        }
    }
    extra.iter().find(|(k, _)| *k == s).map(|(_, m)| *m)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::ServiceHours;

    pub(crate) fn calendar() -> OfficeCalendar {
        let mut holidays = BTreeMap::new();
        holidays.insert(
            NaiveDate::from_ymd_opt(2026, 12, 25).unwrap(),
            "Natal".to_string(),
        );
        OfficeCalendar {
            tz: chrono_tz::Asia::Jakarta,
            hours: ServiceHours::default().by_weekday(),
            holidays,
        }
    }

    /// An instant given in WIB (Asia/Jakarta).
    pub(crate) fn wib(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        calendar().to_utc(
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, min, 0)
                .unwrap(),
        )
    }

    #[test]
    fn open_inside_hours_only() {
        let c = calendar();
        assert!(c.is_open_at(wib(2026, 11, 23, 8, 0))); // Monday
        assert!(!c.is_open_at(wib(2026, 11, 23, 15, 30)));
        assert!(c.is_open_at(wib(2026, 11, 27, 15, 45))); // Friday until 16.00
        assert!(!c.is_open_at(wib(2026, 11, 21, 10, 0))); // Saturday
        assert!(!c.is_open_at(wib(2026, 12, 25, 10, 0))); // Christmas, a Friday
    }

    #[test]
    fn next_opening_skips_evenings_weekends_and_holidays() {
        let c = calendar();
        assert_eq!(
            c.next_opening(wib(2026, 11, 20, 17, 0)),
            wib(2026, 11, 23, 8, 0)
        );
        assert_eq!(
            c.next_opening(wib(2026, 11, 23, 7, 0)),
            wib(2026, 11, 23, 8, 0)
        );
        assert_eq!(
            c.next_opening(wib(2026, 12, 24, 16, 0)),
            wib(2026, 12, 28, 8, 0)
        );
        let open = wib(2026, 11, 23, 9, 0);
        assert_eq!(c.next_opening(open), open);
    }

    #[test]
    fn hours_text_groups_equal_days() {
        assert_eq!(
            calendar().hours_text("id"),
            "Senin–Kamis 08.00–15.30, Jumat 08.00–16.00 WIB"
        );
        assert_eq!(
            calendar().hours_text("en"),
            "Mon–Thu 08.00–15.30, Fri 08.00–16.00 WIB"
        );
    }

    #[test]
    fn month_names_in_both_languages() {
        assert_eq!(month_from_name("Maret"), Some(3));
        assert_eq!(month_from_name("march"), Some(3));
        assert_eq!(month_from_name("agt"), Some(8));
        assert_eq!(month_from_name("Mei"), Some(5));
        assert_eq!(month_from_name("xyz"), None);
    }
}
