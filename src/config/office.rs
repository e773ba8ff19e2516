//! The office: its name, time zone, SOP profile and service hours.

use chrono::NaiveTime;
use serde::{Deserialize, Deserializer};
use std::path::PathBuf;

/// Opening hours of one weekday, or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayHours {
    pub open: NaiveTime,
    pub close: NaiveTime,
}

fn parse_day_hours(s: &str) -> Result<Option<DayHours>, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("closed") || s.eq_ignore_ascii_case("tutup") || s.is_empty() {
        return Ok(None);
    }
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("`{s}` is not of the form \"08:00-15:30\" or \"closed\""))?;
    let t = |x: &str| {
        NaiveTime::parse_from_str(x.trim(), "%H:%M")
            .map_err(|_| format!("`{}` is not a time HH:MM", x.trim()))
    };
    let (open, close) = (t(a)?, t(b)?);
    if open >= close {
        return Err(format!("`{s}` closes before it opens"));
    }
    Ok(Some(DayHours { open, close }))
}

fn de_hours<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DayHours>, D::Error> {
    let s = String::deserialize(d)?;
    parse_day_hours(&s).map_err(serde::de::Error::custom)
}

fn hours(s: &str) -> Option<DayHours> {
    parse_day_hours(s).expect("default hours are valid")
}

/// Service hours per weekday. Defaults: Mon–Thu 08:00–15:30, Fri 08:00–16:00 (the SOPs).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ServiceHours {
    #[serde(deserialize_with = "de_hours")]
    pub mon: Option<DayHours>,
    #[serde(deserialize_with = "de_hours")]
    pub tue: Option<DayHours>,
    #[serde(deserialize_with = "de_hours")]
    pub wed: Option<DayHours>,
    #[serde(deserialize_with = "de_hours")]
    pub thu: Option<DayHours>,
    #[serde(deserialize_with = "de_hours")]
    pub fri: Option<DayHours>,
    #[serde(deserialize_with = "de_hours")]
    pub sat: Option<DayHours>,
    #[serde(deserialize_with = "de_hours")]
    pub sun: Option<DayHours>,
}

impl Default for ServiceHours {
    fn default() -> Self {
        ServiceHours {
            mon: hours("08:00-15:30"),
            tue: hours("08:00-15:30"),
            wed: hours("08:00-15:30"),
            thu: hours("08:00-15:30"),
            fri: hours("08:00-16:00"),
            sat: None,
            sun: None,
        }
    }
}

impl ServiceHours {
    /// Hours by weekday number from Monday (0) to Sunday (6).
    pub fn by_weekday(&self) -> [Option<DayHours>; 7] {
        [
            self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun,
        ]
    }
}

/// Which SOP variant the office follows (SPEC §3): it sets the completion standards told to
/// applicants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OfficeProfile {
    /// BPS Provinsi Bengkulu (SOP-1-103/101/107 of 2025).
    Bengkulu,
    /// National PST standard (14 working days for a recommendation).
    Nasional,
    /// BPS Kota Lubuklinggau (30 working days).
    Lubuklinggau,
}

impl OfficeProfile {
    /// Every profile: each needs a workflow for every service.
    pub const ALL: [OfficeProfile; 3] = [
        OfficeProfile::Bengkulu,
        OfficeProfile::Nasional,
        OfficeProfile::Lubuklinggau,
    ];

    /// The profile named `key` (its name in the config and in the workflow files).
    pub fn parse(key: &str) -> Option<OfficeProfile> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }

    pub fn key(self) -> &'static str {
        match self {
            OfficeProfile::Bengkulu => "bengkulu",
            OfficeProfile::Nasional => "nasional",
            OfficeProfile::Lubuklinggau => "lubuklinggau",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct OfficeConfig {
    pub name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default = "default_tz")]
    pub timezone: String,
    #[serde(default = "default_profile")]
    pub profile: OfficeProfile,
    #[serde(default)]
    pub service_hours: ServiceHours,
    /// Holiday data file (national holidays and cuti bersama); relative to the config file.
    pub holidays_file: Option<PathBuf>,
    /// Average minutes the desk spends per walk-in visitor (for the queue's wait estimate).
    #[serde(default = "default_minutes_per_visitor")]
    pub minutes_per_visitor: u32,
}

fn default_minutes_per_visitor() -> u32 {
    15
}

fn default_tz() -> String {
    "Asia/Jakarta".into()
}
fn default_profile() -> OfficeProfile {
    OfficeProfile::Bengkulu
}
