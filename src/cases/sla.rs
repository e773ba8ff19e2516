//! SLA arithmetic on the office's working calendar.
//!
//! The SOPs state completion standards in four units: plain hours, service hours
//! ("jam kerja"), calendar days ("hari") and working days ("hari kerja"). This module parses
//! such a standard ([`Sla`]), computes when it falls due ([`OfficeCalendar::due`]), also when
//! the clock stops while the office waits for the applicant
//! ([`OfficeCalendar::due_excluding`]), and measures elapsed service time and working days
//! between two instants.
//!
//! Service time is the time inside a working day's service hours; weekends without hours and
//! the dates in the holiday list (national holidays and *cuti bersama*) have none. All the
//! functions walk the calendar one day at a time. A forward search (adding service time or
//! working days) gives up after about ten years of days and returns the last value it reached,
//! so a calendar without any service hours never hangs; a measurement between two instants
//! looks at no more than about a century of days.

use super::calendar::OfficeCalendar;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::fmt;

/// How many days a forward search looks ahead before it gives up (about ten years).
const SEARCH_DAYS: u32 = 3_660;

/// How many days a measurement between two instants looks at, at most (about a century).
const SPAN_DAYS: u32 = 36_600;

/// Unit of an SLA as the SOPs state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SlaUnit {
    /// Real hours, counted around the clock.
    Hours,
    /// Hours of service time, counted only inside service hours on working days.
    WorkingHours,
    /// Calendar days of 24 hours each, holidays included (the SOPs' plain "hari").
    Days,
    /// Working days, each ending at that day's closing time ("hari kerja").
    WorkingDays,
}

impl SlaUnit {
    /// The unit's name as [`Sla::parse`] reads it and [`Sla`]'s `Display` prints it.
    fn plural(self) -> &'static str {
        match self {
            SlaUnit::Hours => "hours",
            SlaUnit::WorkingHours => "working_hours",
            SlaUnit::Days => "days",
            SlaUnit::WorkingDays => "working_days",
        }
    }

    /// The unit from its plural or singular name, in any letter case.
    fn from_name(s: &str) -> Option<SlaUnit> {
        let s = s.to_ascii_lowercase();
        [
            SlaUnit::Hours,
            SlaUnit::WorkingHours,
            SlaUnit::Days,
            SlaUnit::WorkingDays,
        ]
        .into_iter()
        .find(|u| {
            let plural = u.plural();
            s == plural || Some(s.as_str()) == plural.strip_suffix('s')
        })
    }
}

/// A service-level agreement: an amount of some unit, e.g. 14 working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Sla {
    /// How many units the SLA allows.
    pub amount: u32,
    /// What the amount counts.
    pub unit: SlaUnit,
}

impl Sla {
    /// Parses "7 days", "14 working_days", "1 working_hours", "10 hours" (also singular "1 hour", "1 day", "1 working_day", "1 working_hour").
    ///
    /// The amount is a plain decimal number and the unit is separated from it by white space;
    /// the unit's letter case does not matter and surrounding white space is ignored. Anything
    /// else gives `None`.
    pub fn parse(s: &str) -> Option<Sla> {
        let mut words = s.split_whitespace();
        let amount = words.next()?;
        let unit = words.next()?;
        if words.next().is_some() || !amount.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Sla {
            amount: amount.parse().ok()?,
            unit: SlaUnit::from_name(unit)?,
        })
    }
}

impl fmt::Display for Sla {
    /// Prints the form [`Sla::parse`] accepts, always with the plural unit, e.g.
    /// `14 working_days` or `1 working_hours`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.unit.plural())
    }
}

/// What is left of an SLA while `due_excluding` walks through the stops, in the SLA's unit.
#[derive(Debug, Clone, Copy)]
enum Budget {
    /// Real time (Hours and Days).
    Real(Duration),
    /// Service time (WorkingHours).
    Service(Duration),
    /// Working days (WorkingDays).
    WorkingDays(u32),
}

impl OfficeCalendar {
    /// The service window of a date as instants (opening, closing), or `None` when the date
    /// is not a working day.
    fn service_window(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.hours_on(date).map(|h| {
            (
                self.to_utc(date.and_time(h.open)),
                self.to_utc(date.and_time(h.close)),
            )
        })
    }

    /// Service time inside `[x, y]`, with no stops.
    fn service_time(&self, x: DateTime<Utc>, y: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if y <= x {
            return total;
        }
        let last = self.local(y).date();
        let mut date = self.local(x).date();
        for _ in 0..SPAN_DAYS {
            if date > last {
                break;
            }
            if let Some((open, close)) = self.service_window(date) {
                let (from, to) = (open.max(x), close.min(y));
                if to > from {
                    total += to - from;
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        total
    }

    /// The closing time of the working day on which `t` falls when the desk has not closed yet
    /// that day, otherwise the closing time of the next working day.
    fn closing_on_or_after(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        match self.service_window(self.local(t).date()) {
            Some((_, close)) if t < close => close,
            _ => self.add_working_days(t, 1),
        }
    }

    /// Service time (inside service hours, not on holidays) added to `start`: the instant when `amount` of service time has elapsed since start. If start is outside hours, counting begins at the next opening. Adding zero returns start itself.
    ///
    /// A negative amount counts as zero. When the amount ends exactly at a closing time, the
    /// result is that closing time, not the next opening. When the calendar has too little
    /// service time within about ten years, the result is the last closing time reached
    /// (or `start` when there was none).
    pub fn add_working_time(&self, start: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        if amount <= Duration::zero() {
            return start;
        }
        let mut left = amount;
        let mut last = start;
        let mut date = self.local(start).date();
        for _ in 0..SEARCH_DAYS {
            if let Some((open, close)) = self.service_window(date) {
                let from = open.max(start);
                if close > from {
                    let length = close - from;
                    if left <= length {
                        return from + left;
                    }
                    left -= length;
                    last = close;
                }
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => break,
            }
        }
        last
    }

    /// The closing time of the n-th working day strictly after start's office-local date (the day of receipt never counts, as the SOPs count "n hari kerja sejak …"). n = 0 returns start.
    ///
    /// When fewer than `n` working days follow within about ten years, the result is the
    /// closing time of the last working day found (or `start` when there was none).
    pub fn add_working_days(&self, start: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        if n == 0 {
            return start;
        }
        let mut found = 0;
        let mut last = start;
        let mut date = self.local(start).date();
        for _ in 0..SEARCH_DAYS {
            let Some(next) = date.succ_opt() else {
                break;
            };
            date = next;
            if let Some((_, close)) = self.service_window(date) {
                found += 1;
                last = close;
                if found == n {
                    break;
                }
            }
        }
        last
    }

    /// Service time between a and b (zero if b <= a), minus the parts inside any of the `stopped` intervals (each (from, to); they may overlap or lie partly outside [a, b]).
    ///
    /// Stop intervals whose end is not after their beginning are ignored.
    pub fn working_time_between(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
        stopped: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Duration {
        if b <= a {
            return Duration::zero();
        }
        let mut stops: Vec<(DateTime<Utc>, DateTime<Utc>)> = stopped
            .iter()
            .map(|&(from, to)| (from.max(a), to.min(b)))
            .filter(|(from, to)| from < to)
            .collect();
        stops.sort();
        let mut total = Duration::zero();
        let mut cursor = a;
        for (from, to) in stops {
            if from > cursor {
                total += self.service_time(cursor, from);
            }
            cursor = cursor.max(to);
        }
        total + self.service_time(cursor, b)
    }

    /// Number of working days d with a's local date < d <= b's local date (0 if b <= a).
    pub fn working_days_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> u32 {
        if b <= a {
            return 0;
        }
        let last = self.local(b).date();
        let mut date = self.local(a).date();
        let mut count = 0;
        for _ in 0..SPAN_DAYS {
            match date.succ_opt() {
                Some(next) if next <= last => date = next,
                _ => break,
            }
            if self.is_working_day(date) {
                count += 1;
            }
        }
        count
    }

    /// The due instant of an SLA started at `start`: Hours = start + h; Days = start + n*24h (calendar days, the SOPs' plain "hari"); WorkingHours = add_working_time(start, h hours); WorkingDays = add_working_days(start, n).
    ///
    /// A due instant beyond the range of [`DateTime`] is the largest instant it can hold.
    pub fn due(&self, start: DateTime<Utc>, sla: Sla) -> DateTime<Utc> {
        let amount = i64::from(sla.amount);
        match sla.unit {
            SlaUnit::Hours => add_real(start, Duration::hours(amount)),
            SlaUnit::Days => add_real(start, Duration::days(amount)),
            SlaUnit::WorkingHours => self.add_working_time(start, Duration::hours(amount)),
            SlaUnit::WorkingDays => self.add_working_days(start, sla.amount),
        }
    }

    /// The due instant when the clock stops during `stopped` intervals (sorted or not; `to = None` means still stopped now -> returns None). Each stop that begins before the running due pushes it out: the remaining budget at the stop's beginning is measured in the SLA's own unit (real time for Hours/Days, service time for WorkingHours, working days for WorkingDays via working_days_between) and counted again from the stop's end.
    ///
    /// The stops are taken in the order they begin. A stop that begins before `start`, or
    /// inside an earlier stop, counts from the moment the clock was last running; a stop that
    /// lies entirely inside earlier stops, or ends before it begins, changes nothing. A stop
    /// that begins at or after the running due changes nothing either, even when it is still
    /// open: the SLA was already due when it began, so the result is `None` only for an open
    /// stop that begins before the running due.
    ///
    /// For WorkingDays the day on which a stop begins counts as used and, as with the day of
    /// receipt, the day on which it ends does not count. When a stop begins on the due date
    /// itself, no whole working day is left; the due then becomes the closing time of the
    /// working day on which the clock runs again (the end of the stop's day when the desk is
    /// still open then, otherwise the next working day), so that a stop never brings the due
    /// forward.
    pub fn due_excluding(
        &self,
        start: DateTime<Utc>,
        sla: Sla,
        stopped: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
    ) -> Option<DateTime<Utc>> {
        let mut stops = stopped.to_vec();
        stops.sort_by_key(|&(from, _)| from);
        let amount = i64::from(sla.amount);
        let mut budget = match sla.unit {
            SlaUnit::Hours => Budget::Real(Duration::hours(amount)),
            SlaUnit::Days => Budget::Real(Duration::days(amount)),
            SlaUnit::WorkingHours => Budget::Service(Duration::hours(amount)),
            SlaUnit::WorkingDays => Budget::WorkingDays(sla.amount),
        };
        // Where the clock last started running, and the due instant as things stand.
        let mut running_since = start;
        let mut due = self.due(start, sla);
        for (from, to) in stops {
            let from = from.max(running_since);
            if from >= due {
                // Stops are sorted and the due only moves out, so no later stop matters.
                break;
            }
            let to = to?;
            if to <= from {
                continue;
            }
            budget = match budget {
                Budget::Real(left) => Budget::Real(left - (from - running_since)),
                Budget::Service(left) => Budget::Service(
                    (left - self.working_time_between(running_since, from, &[]))
                        .max(Duration::zero()),
                ),
                Budget::WorkingDays(left) => Budget::WorkingDays(
                    left.saturating_sub(self.working_days_between(running_since, from)),
                ),
            };
            due = match budget {
                Budget::Real(left) => add_real(to, left),
                Budget::Service(left) => self.add_working_time(to, left),
                Budget::WorkingDays(0) => self.closing_on_or_after(to),
                Budget::WorkingDays(left) => self.add_working_days(to, left),
            };
            running_since = to;
        }
        Some(due)
    }
}

/// `t + d`, or the largest instant when that is out of range.
fn add_real(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServiceHours;
    use chrono::{Datelike, NaiveTime, Timelike, Weekday};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// National holidays and cuti bersama of 2026 (SKB 3 Menteri).
    const HOLIDAYS_2026: [(u32, u32); 25] = [
        (1, 1),
        (1, 16),
        (2, 16),
        (2, 17),
        (3, 18),
        (3, 19),
        (3, 20),
        (3, 21),
        (3, 22),
        (3, 23),
        (3, 24),
        (4, 3),
        (4, 5),
        (5, 1),
        (5, 14),
        (5, 15),
        (5, 27),
        (5, 28),
        (5, 31),
        (6, 1),
        (6, 16),
        (8, 17),
        (8, 25),
        (12, 24),
        (12, 25),
    ];

    /// The default service hours (Mon–Thu 08:00–15:30, Fri 08:00–16:00 WIB) and the 2026
    /// holidays.
    fn calendar() -> OfficeCalendar {
        let holidays: BTreeMap<NaiveDate, String> = HOLIDAYS_2026
            .iter()
            .map(|&(m, d)| {
                (
                    NaiveDate::from_ymd_opt(2026, m, d).unwrap(),
                    format!("libur 2026-{m:02}-{d:02}"),
                )
            })
            .collect();
        OfficeCalendar {
            tz: chrono_tz::Asia::Jakarta,
            hours: ServiceHours::default().by_weekday(),
            holidays,
        }
    }

    /// A calendar without any service hours.
    fn closed_calendar() -> OfficeCalendar {
        OfficeCalendar {
            tz: chrono_tz::Asia::Jakarta,
            hours: [None; 7],
            holidays: BTreeMap::new(),
        }
    }

    use super::super::calendar::tests::wib;

    fn sla(amount: u32, unit: SlaUnit) -> Sla {
        Sla { amount, unit }
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(Sla::parse("7 days"), Some(sla(7, SlaUnit::Days)));
        assert_eq!(
            Sla::parse("14 working_days"),
            Some(sla(14, SlaUnit::WorkingDays))
        );
        assert_eq!(
            Sla::parse("1 working_hours"),
            Some(sla(1, SlaUnit::WorkingHours))
        );
        assert_eq!(Sla::parse("10 hours"), Some(sla(10, SlaUnit::Hours)));
        assert_eq!(Sla::parse("1 hour"), Some(sla(1, SlaUnit::Hours)));
        assert_eq!(Sla::parse("1 day"), Some(sla(1, SlaUnit::Days)));
        assert_eq!(
            Sla::parse("1 working_day"),
            Some(sla(1, SlaUnit::WorkingDays))
        );
        assert_eq!(
            Sla::parse("1 working_hour"),
            Some(sla(1, SlaUnit::WorkingHours))
        );
        assert_eq!(
            Sla::parse("  30   Working_Days "),
            Some(sla(30, SlaUnit::WorkingDays))
        );
        for bad in [
            "",
            "days",
            "7",
            "-1 days",
            "+7 days",
            "7days",
            "7 weeks",
            "7 working days",
            "7 day s",
            "7 hourss",
            "99999999999 days",
        ] {
            assert_eq!(Sla::parse(bad), None, "{bad:?}");
        }
        assert_eq!(sla(14, SlaUnit::WorkingDays).to_string(), "14 working_days");
        assert_eq!(sla(1, SlaUnit::WorkingHours).to_string(), "1 working_hours");
        assert_eq!(sla(7, SlaUnit::Days).to_string(), "7 days");
        assert_eq!(sla(10, SlaUnit::Hours).to_string(), "10 hours");
    }

    #[test]
    fn serde_names_are_snake_case() {
        let s = serde_json::to_string(&sla(14, SlaUnit::WorkingDays)).unwrap();
        assert_eq!(s, r#"{"amount":14,"unit":"working_days"}"#);
        let back: Sla = serde_json::from_str(r#"{"amount":1,"unit":"working_hours"}"#).unwrap();
        assert_eq!(back, sla(1, SlaUnit::WorkingHours));
    }

    #[test]
    fn fourteen_working_days_around_lebaran_2026() {
        // A complete file received on Thursday 12 March 2026 at 15:00 WIB. The day of receipt
        // does not count. Counting working days:
        //   1 Fri 13 Mar                 (Sat 14, Sun 15: weekend)
        //   2 Mon 16 Mar
        //   3 Tue 17 Mar                 (Wed 18 – Tue 24 Mar: Nyepi, Idul Fitri, cuti bersama)
        //   4 Wed 25 Mar
        //   5 Thu 26 Mar
        //   6 Fri 27 Mar                 (Sat 28, Sun 29: weekend)
        //   7 Mon 30 Mar
        //   8 Tue 31 Mar
        //   9 Wed  1 Apr
        //  10 Thu  2 Apr                 (Fri 3 Apr Good Friday, Sat 4, Sun 5 Easter)
        //  11 Mon  6 Apr
        //  12 Tue  7 Apr
        //  13 Wed  8 Apr
        //  14 Thu  9 Apr  -> due at the Thursday closing time, 15:30 WIB.
        let c = calendar();
        let received = wib(2026, 3, 12, 15, 0);
        assert_eq!(received.with_timezone(&c.tz).weekday(), Weekday::Thu);
        let due = c.add_working_days(received, 14);
        assert_eq!(due, wib(2026, 4, 9, 15, 30));
        assert_eq!(due.to_rfc3339(), "2026-04-09T08:30:00+00:00");
        assert_eq!(due.with_timezone(&c.tz).weekday(), Weekday::Thu);
        assert_eq!(c.due(received, sla(14, SlaUnit::WorkingDays)), due);
        assert_eq!(c.working_days_between(received, due), 14);
        // Receiving it earlier on the same day gives the same due.
        assert_eq!(c.add_working_days(wib(2026, 3, 12, 7, 0), 14), due);
        // One day more ends on a Friday, at 16:00.
        assert_eq!(c.add_working_days(received, 15), wib(2026, 4, 10, 16, 0));
        assert_eq!(c.add_working_days(received, 0), received);
    }

    #[test]
    fn one_working_hour_over_the_weekend() {
        let c = calendar();
        // Friday 15:30–16:00 gives half an hour, Monday 08:00–08:30 the rest.
        let friday = wib(2026, 11, 20, 15, 30);
        assert_eq!(
            c.add_working_time(friday, Duration::hours(1)),
            wib(2026, 11, 23, 8, 30)
        );
        assert_eq!(
            c.due(friday, sla(1, SlaUnit::WorkingHours)),
            wib(2026, 11, 23, 8, 30)
        );
        // An amount that ends exactly at closing time stops there.
        assert_eq!(
            c.add_working_time(friday, Duration::minutes(30)),
            wib(2026, 11, 20, 16, 0)
        );
        // Starting after hours counts from the next opening.
        assert_eq!(
            c.add_working_time(wib(2026, 11, 20, 18, 0), Duration::hours(1)),
            wib(2026, 11, 23, 9, 0)
        );
        assert_eq!(c.add_working_time(friday, Duration::zero()), friday);
        assert_eq!(c.add_working_time(friday, Duration::hours(-3)), friday);
    }

    #[test]
    fn working_hours_across_nyepi() {
        let c = calendar();
        // Tuesday 17 March 14:00: 1.5 hours until 15:30; 18–24 March are holidays
        // (Nyepi on Thursday 19 March among them); the other 3.5 hours run on Wednesday
        // 25 March from 08:00.
        let start = wib(2026, 3, 17, 14, 0);
        let due = c.add_working_time(start, Duration::hours(5));
        assert_eq!(due, wib(2026, 3, 25, 11, 30));
        assert_eq!(c.working_time_between(start, due, &[]), Duration::hours(5));
        assert!(!c.is_open_at(wib(2026, 3, 19, 10, 0)));
        // Nothing at all is counted during the holidays.
        assert_eq!(
            c.working_time_between(wib(2026, 3, 17, 15, 30), wib(2026, 3, 25, 8, 0), &[]),
            Duration::zero()
        );
    }

    #[test]
    fn days_unit_ignores_holidays_and_weekends() {
        let c = calendar();
        let start = wib(2026, 3, 17, 10, 0);
        // Three calendar days land on Friday 20 March, a holiday, at the same time of day.
        assert_eq!(c.due(start, sla(3, SlaUnit::Days)), wib(2026, 3, 20, 10, 0));
        assert_eq!(c.due(start, sla(7, SlaUnit::Days)), wib(2026, 3, 24, 10, 0));
        assert_eq!(
            c.due(start, sla(10, SlaUnit::Hours)),
            wib(2026, 3, 17, 20, 0)
        );
        assert_eq!(c.due(start, sla(0, SlaUnit::Days)), start);
    }

    #[test]
    fn working_days_between_counts_dates_after_the_first() {
        let c = calendar();
        let a = wib(2026, 3, 12, 15, 0);
        assert_eq!(c.working_days_between(a, wib(2026, 3, 12, 15, 20)), 0);
        assert_eq!(c.working_days_between(a, wib(2026, 3, 13, 8, 0)), 1);
        assert_eq!(c.working_days_between(a, wib(2026, 3, 24, 23, 0)), 3);
        assert_eq!(c.working_days_between(a, a), 0);
        assert_eq!(c.working_days_between(wib(2026, 4, 1, 9, 0), a), 0);
    }

    #[test]
    fn working_time_between_subtracts_stops() {
        let c = calendar();
        let a = wib(2026, 11, 23, 9, 0); // Monday
        let b = wib(2026, 11, 24, 12, 0); // Tuesday
        // Monday 09:00–15:30 (6.5 h) and Tuesday 08:00–12:00 (4 h).
        assert_eq!(c.working_time_between(a, b, &[]), Duration::minutes(630));
        let stops = [
            // Partly before a: 09:00–10:00 is stopped.
            (wib(2026, 11, 23, 7, 0), wib(2026, 11, 23, 10, 0)),
            // Overlapping stops: 13:00–14:30 is stopped once.
            (wib(2026, 11, 23, 13, 0), wib(2026, 11, 23, 14, 0)),
            (wib(2026, 11, 23, 13, 30), wib(2026, 11, 23, 14, 30)),
            // Outside hours only: no effect.
            (wib(2026, 11, 23, 18, 0), wib(2026, 11, 24, 7, 0)),
            // Partly after b: 11:00–12:00 is stopped.
            (wib(2026, 11, 24, 11, 0), wib(2026, 11, 25, 10, 0)),
            // Inverted: ignored.
            (wib(2026, 11, 24, 9, 0), wib(2026, 11, 24, 8, 0)),
        ];
        assert_eq!(
            c.working_time_between(a, b, &stops),
            Duration::minutes(630 - 60 - 90 - 60)
        );
        assert_eq!(c.working_time_between(b, a, &[]), Duration::zero());
    }

    #[test]
    fn due_excluding_with_a_closed_stop() {
        let c = calendar();
        let received = wib(2026, 3, 12, 15, 0);
        let fourteen = sla(14, SlaUnit::WorkingDays);
        // The office asks for missing data on Thursday 26 March 10:00 and gets it on
        // Wednesday 1 April 09:00. Used by then: 13, 16, 17, 25, 26 March = 5 working days,
        // so 9 are left, counted after 1 April: 2, 6, 7, 8, 9, 10, 13, 14, 15 April.
        let stop = (wib(2026, 3, 26, 10, 0), Some(wib(2026, 4, 1, 9, 0)));
        assert_eq!(
            c.due_excluding(received, fourteen, &[stop]),
            Some(wib(2026, 4, 15, 15, 30))
        );
        // A stop after the due changes nothing, in any order.
        let late = (wib(2026, 4, 20, 10, 0), Some(wib(2026, 4, 21, 10, 0)));
        assert_eq!(
            c.due_excluding(received, fourteen, &[late, stop]),
            Some(wib(2026, 4, 15, 15, 30))
        );
        // A stop on the due date itself leaves no whole working day: the due becomes the
        // closing time of the day the clock runs again, never earlier than before.
        let on_due_day = (wib(2026, 4, 9, 10, 0), Some(wib(2026, 4, 9, 11, 0)));
        assert_eq!(
            c.due_excluding(received, fourteen, &[on_due_day]),
            Some(wib(2026, 4, 9, 15, 30))
        );
        let over_the_weekend = (wib(2026, 4, 9, 10, 0), Some(wib(2026, 4, 11, 11, 0)));
        assert_eq!(
            c.due_excluding(received, fourteen, &[over_the_weekend]),
            Some(wib(2026, 4, 13, 15, 30))
        );
        // Hours: ten real hours from Monday 08:00 with the clock stopped 10:00–13:00.
        let monday = wib(2026, 11, 23, 8, 0);
        let stop = (wib(2026, 11, 23, 10, 0), Some(wib(2026, 11, 23, 13, 0)));
        assert_eq!(
            c.due_excluding(monday, sla(10, SlaUnit::Hours), &[stop]),
            Some(wib(2026, 11, 23, 21, 0))
        );
        // Working hours: 8 service hours from Monday 08:00, stopped 10:00–13:00; 2 hours used,
        // 6 left from 13:00: 2.5 hours on Monday and 3.5 on Tuesday.
        assert_eq!(
            c.due_excluding(monday, sla(8, SlaUnit::WorkingHours), &[stop]),
            Some(wib(2026, 11, 24, 11, 30))
        );
        // A stop that began before the start holds the clock until it ends.
        let before = (wib(2026, 11, 20, 10, 0), Some(wib(2026, 11, 23, 9, 0)));
        assert_eq!(
            c.due_excluding(monday, sla(2, SlaUnit::WorkingHours), &[before]),
            Some(wib(2026, 11, 23, 11, 0))
        );
    }

    #[test]
    fn due_excluding_with_an_open_stop() {
        let c = calendar();
        let received = wib(2026, 3, 12, 15, 0);
        let fourteen = sla(14, SlaUnit::WorkingDays);
        let closed = (wib(2026, 3, 26, 10, 0), Some(wib(2026, 4, 1, 9, 0)));
        let open = (wib(2026, 4, 6, 9, 0), None);
        assert_eq!(c.due_excluding(received, fourteen, &[open]), None);
        assert_eq!(c.due_excluding(received, fourteen, &[open, closed]), None);
        // An open stop that began when the SLA was already due leaves the due as it was.
        let open_after_due = (wib(2026, 4, 20, 9, 0), None);
        assert_eq!(
            c.due_excluding(received, fourteen, &[open_after_due]),
            Some(wib(2026, 4, 9, 15, 30))
        );
    }

    #[test]
    fn a_calendar_without_hours_does_not_hang() {
        let c = closed_calendar();
        let t = wib(2026, 3, 12, 15, 0);
        assert_eq!(c.add_working_days(t, 3), t);
        assert_eq!(c.add_working_time(t, Duration::hours(3)), t);
        assert_eq!(c.due(t, sla(3, SlaUnit::Days)), t + Duration::days(3));
        assert_eq!(
            c.working_time_between(t, t + Duration::days(400), &[]),
            Duration::zero()
        );
        assert_eq!(c.working_days_between(t, t + Duration::days(400)), 0);
        assert_eq!(
            c.due_excluding(
                t,
                sla(5, SlaUnit::WorkingDays),
                &[(t, Some(t + Duration::days(1)))]
            ),
            Some(t)
        );
        // Huge amounts on a real calendar stop at the search horizon instead of running on.
        let far = calendar().add_working_days(t, u32::MAX);
        assert!(far > t && far < t + Duration::days(i64::from(SEARCH_DAYS) + 1));
        assert_eq!(
            calendar().due(DateTime::<Utc>::MAX_UTC, sla(1, SlaUnit::Days)),
            DateTime::<Utc>::MAX_UTC
        );
    }

    /// 2026-01-01 00:00 WIB plus any number of minutes within the year.
    fn instant_2026() -> impl Strategy<Value = DateTime<Utc>> {
        (0i64..365 * 24 * 60).prop_map(|m| wib(2026, 1, 1, 0, 0) + Duration::minutes(m))
    }

    /// An SLA with 0..200 hours or 0..40 days.
    fn any_sla() -> impl Strategy<Value = Sla> {
        prop_oneof![
            (0u32..200).prop_map(|a| sla(a, SlaUnit::Hours)),
            (0u32..200).prop_map(|a| sla(a, SlaUnit::WorkingHours)),
            (0u32..40).prop_map(|a| sla(a, SlaUnit::Days)),
            (0u32..40).prop_map(|a| sla(a, SlaUnit::WorkingDays)),
        ]
    }

    /// Stop intervals around an instant, from two days before it to a month after it.
    fn stops_near(t: DateTime<Utc>) -> impl Strategy<Value = Vec<(DateTime<Utc>, DateTime<Utc>)>> {
        prop::collection::vec((-2880i64..43_200, 0i64..10_000), 0..5).prop_map(move |v| {
            v.into_iter()
                .map(|(offset, length)| {
                    let from = t + Duration::minutes(offset);
                    (from, from + Duration::minutes(length))
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn add_working_days_is_monotonic_in_n(t in instant_2026(), n in 0u32..40) {
            let c = calendar();
            prop_assert!(c.add_working_days(t, n) <= c.add_working_days(t, n + 1));
            prop_assert!(c.add_working_days(t, n) >= t);
        }

        #[test]
        fn add_working_time_is_monotonic_in_amount(
            t in instant_2026(),
            minutes in 0i64..200 * 60,
            more in 0i64..600,
        ) {
            let c = calendar();
            let d = Duration::minutes(minutes);
            prop_assert!(c.add_working_time(t, d) <= c.add_working_time(t, d + Duration::minutes(more)));
            prop_assert!(c.add_working_time(t, d) >= t);
        }

        #[test]
        fn a_later_start_is_never_due_earlier(
            t in instant_2026(),
            later in 0i64..20 * 24 * 60,
            sla in any_sla(),
        ) {
            let c = calendar();
            let u = t + Duration::minutes(later);
            prop_assert!(c.due(t, sla) <= c.due(u, sla));
            prop_assert!(c.due(t, sla) >= t);
        }

        #[test]
        fn measuring_working_days_gives_them_back(t in instant_2026(), n in 0u32..40) {
            let c = calendar();
            prop_assert_eq!(c.working_days_between(t, c.add_working_days(t, n)), n);
        }

        #[test]
        fn measuring_working_time_gives_it_back(t in instant_2026(), minutes in 0i64..200 * 60) {
            let c = calendar();
            let d = Duration::minutes(minutes);
            prop_assert_eq!(c.working_time_between(t, c.add_working_time(t, d), &[]), d);
        }

        #[test]
        fn working_days_end_at_closing_time_of_a_working_day(t in instant_2026(), n in 1u32..40) {
            let c = calendar();
            let local = c.local(c.add_working_days(t, n));
            prop_assert!(c.is_working_day(local.date()));
            prop_assert!(!c.holidays.contains_key(&local.date()));
            prop_assert!(local.date() > c.local(t).date());
            let close = if local.weekday() == Weekday::Fri { 16 } else { 15 };
            prop_assert_eq!(local.time().hour(), close);
            prop_assert_eq!(
                local.time(),
                c.hours_on(local.date()).map(|h| h.close).unwrap_or(NaiveTime::MIN)
            );
        }

        #[test]
        fn working_time_is_additive_over_a_split(
            a in instant_2026(),
            first in 0i64..20 * 24 * 60,
            second in 0i64..20 * 24 * 60,
        ) {
            let c = calendar();
            let b = a + Duration::minutes(first);
            let end = b + Duration::minutes(second);
            prop_assert_eq!(
                c.working_time_between(a, end, &[]),
                c.working_time_between(a, b, &[]) + c.working_time_between(b, end, &[])
            );
            prop_assert_eq!(
                c.working_days_between(a, end),
                c.working_days_between(a, b) + c.working_days_between(b, end)
            );
        }

        #[test]
        fn stops_never_add_working_time(
            (a, stops) in instant_2026().prop_flat_map(|a| (Just(a), stops_near(a))),
            length in 0i64..20 * 24 * 60,
        ) {
            let c = calendar();
            let b = a + Duration::minutes(length);
            let with_stops = c.working_time_between(a, b, &stops);
            prop_assert!(with_stops <= c.working_time_between(a, b, &[]));
            prop_assert!(with_stops >= Duration::zero());
            // Adding one more stop never adds time either.
            if let Some((&first, rest)) = stops.split_first() {
                prop_assert!(with_stops <= c.working_time_between(a, b, rest));
                prop_assert!(c.working_time_between(a, b, &[first]) <= c.working_time_between(a, b, &[]));
            }
        }

        #[test]
        fn no_stops_means_the_plain_due(t in instant_2026(), sla in any_sla()) {
            let c = calendar();
            prop_assert_eq!(c.due_excluding(t, sla, &[]), Some(c.due(t, sla)));
        }

        #[test]
        fn closed_stops_never_bring_the_due_forward(
            (t, stops) in instant_2026().prop_flat_map(|t| (Just(t), stops_near(t))),
            sla in any_sla(),
        ) {
            let c = calendar();
            let stops: Vec<_> = stops.into_iter().map(|(from, to)| (from, Some(to))).collect();
            let due = c.due_excluding(t, sla, &stops);
            prop_assert!(due.is_some());
            prop_assert!(due.unwrap() >= c.due(t, sla));
        }

        #[test]
        fn parse_reads_what_display_prints(sla in any_sla()) {
            prop_assert_eq!(Sla::parse(&sla.to_string()), Some(sla));
        }
    }
}
