//! Cases: the requests people make (recommendation, paid product, complaint), their numbers,
//! their form data and their append-only history. The office calendar lives in [`calendar`].

pub mod calendar;
pub mod flow;
pub mod form;
pub mod sla;
pub mod workflow;

use crate::message::{AttachmentRef, Identity};
use chrono::{DateTime, Utc};
pub use form::{Answer, CartLine};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The three PST services that create cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Service {
    /// Rekomendasi Kegiatan Statistik (SOP 000/002/003).
    Rek,
    /// Produk Statistik Berbayar (SOP 001).
    Prd,
    /// Pengaduan (SOP 004).
    Adu,
}

impl Service {
    pub const ALL: [Service; 3] = [Service::Rek, Service::Prd, Service::Adu];

    /// The case-number prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Service::Rek => "REK",
            Service::Prd => "PRD",
            Service::Adu => "ADU",
        }
    }

    pub fn from_prefix(s: &str) -> Option<Service> {
        Service::ALL
            .into_iter()
            .find(|x| x.prefix().eq_ignore_ascii_case(s))
    }
}

/// A case number `PREFIX-YYYY-NNNNNN`, e.g. `ADU-2026-000012`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CaseNumber {
    pub service: Service,
    pub year: i32,
    pub seq: u64,
}

impl CaseNumber {
    /// Parses a case number as a person may type it (any case, surrounding spaces).
    pub fn parse(s: &str) -> Option<CaseNumber> {
        let s = s.trim();
        let mut parts = s.split('-');
        let service = Service::from_prefix(parts.next()?)?;
        let year_s = parts.next()?;
        let seq_s = parts.next()?;
        if parts.next().is_some()
            || year_s.len() != 4
            || seq_s.is_empty()
            || seq_s.len() > 9
            || !year_s.bytes().all(|b| b.is_ascii_digit())
            || !seq_s.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let seq: u64 = seq_s.parse().ok()?;
        if seq == 0 {
            return None;
        }
        Some(CaseNumber {
            service,
            year: year_s.parse().ok()?,
            seq,
        })
    }
}

impl fmt::Display for CaseNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{:04}-{:06}",
            self.service.prefix(),
            self.year,
            self.seq
        )
    }
}

/// One form field of a case, in the order the dialog asked it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FormField {
    pub field: String,
    /// The field's label in the language the applicant used.
    pub label: String,
    pub value: Answer,
}

/// Who did something to a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Actor {
    Applicant,
    Officer(String),
    System,
}

/// One entry of a case's append-only history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseEvent {
    pub at: DateTime<Utc>,
    pub actor: Actor,
    /// What happened, e.g. `submitted`, `rated`.
    pub kind: String,
    pub note: Option<String>,
}

/// A request made through a service dialog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub number: CaseNumber,
    pub guest_id: String,
    /// The identity (and so the channel) the case came from.
    pub origin: Identity,
    pub lang: String,
    pub title: String,
    pub created_at: DateTime<Utc>,
    /// The workflow this case follows (its id) and its current state.
    pub workflow: String,
    pub stage: String,
    /// When the case entered its current stage, and when that stage is due (if it has an SLA).
    pub stage_since: DateTime<Utc>,
    pub stage_due: Option<DateTime<Utc>>,
    /// The overall SLA: when it started counting, and when it is due (clock stops excluded).
    pub overall_start: Option<DateTime<Utc>>,
    pub overall_due: Option<DateTime<Utc>>,
    /// Intervals in which the clock stopped (waiting on the applicant); the last may be open.
    pub stops: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    /// The officer (id) who took the case.
    pub assignee: Option<String>,
    pub open: bool,
    pub confidential: bool,
    pub form: Vec<FormField>,
    pub attachments: Vec<AttachmentRef>,
    pub history: Vec<CaseEvent>,
    /// Bumped on every write; a write based on an older version is refused (optimistic locking).
    pub version: u64,
}

impl Case {
    /// The earlier of the stage and overall due dates.
    pub fn due(&self) -> Option<DateTime<Utc>> {
        match (self.stage_due, self.overall_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// A case as the dialogs see it: enough to list, show and pick it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSummary {
    pub number: CaseNumber,
    pub title: String,
    pub stage: String,
    pub open: bool,
    pub created_at: DateTime<Utc>,
    pub due: Option<DateTime<Utc>>,
    /// The SOP's overall deadline, when its clock runs.
    pub overall_due: Option<DateTime<Utc>>,
    /// The case waits on the applicant (its clock is stopped).
    pub waiting_on_applicant: bool,
}

impl Case {
    pub fn summary(&self) -> CaseSummary {
        CaseSummary {
            number: self.number.clone(),
            title: self.title.clone(),
            stage: self.stage.clone(),
            open: self.open,
            created_at: self.created_at,
            due: self.due(),
            overall_due: self.overall_due,
            waiting_on_applicant: self.stops.last().is_some_and(|s| s.1.is_none()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_numbers_format_and_parse() {
        let n = CaseNumber {
            service: Service::Adu,
            year: 2026,
            seq: 12,
        };
        assert_eq!(n.to_string(), "ADU-2026-000012");
        assert_eq!(CaseNumber::parse(" adu-2026-000012 "), Some(n));
        for bad in [
            "ADU-26-000012",
            "XYZ-2026-000001",
            "ADU-2026-",
            "ADU-2026-0",
            "ADU-2026-12-1",
            "ADU-2026-1x",
        ] {
            assert_eq!(CaseNumber::parse(bad), None, "{bad}");
        }
    }
}
