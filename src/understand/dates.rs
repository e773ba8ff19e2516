//! Dates as people write them, in Indonesian and English: numbers (`28/11/26`, `5/12`,
//! `05.12.2026`, `2026-11-28`; day before month, two-digit years are 20xx), names (`tgl 28 nov`,
//! `28 novmber 2026`, `Feb 1, 2027`, `tgl 2 jan thn 2027`), and words relative to today
//! (`kemarin`, `lusa`, `tadi pagi`, `2 hari yg lalu`, `seminggu yang lalu`, `3 hari lagi`,
//! `senin kemarin`, `senin depan`, `last friday`). The words are the lexicon's `[dates]`.
//!
//! A day and month without a year take the year the step's [`Direction`] makes sensible: the
//! latest such date up to today for something that happened, the first from today for
//! something planned, the nearest otherwise. Bounds (not in the future, not before the start)
//! stay the engine's job: this only reads the date.

use super::fuzzy::is_typo_of;
use super::lexicon::Lexicon;
use super::normalize::normalize;
use chrono::{Datelike, Duration, Months, NaiveDate};
use regex::Regex;
use std::sync::LazyLock;

/// Which way a date without a year (or a bare weekday) is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Something that happened (an incident): up to today.
    Past,
    /// Something planned (a period start): from today.
    Future,
    /// Either: the nearest.
    Any,
}

/// What a message at a date step means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateReading {
    /// A calendar date.
    Date(NaiveDate),
    /// A date that does not exist (31/11, 30 feb): say so, store nothing.
    NoSuchDate,
    /// No date understood (or several that disagree).
    None,
}

static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:(jam|pukul|pkl)\s*)?\b(\d{1,4})\s*([/.\-])\s*(\d{1,4})(?:\s*[/.\-]\s*(\d{1,4}))?\b",
    )
    .expect("a valid built-in pattern")
});

/// One date expression found in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Date(NaiveDate),
    /// A date that does not exist.
    NoSuch,
    /// A period, not a day ("minggu lalu", "bulan depan"): nothing may be stored.
    Unclear,
}

impl From<Option<NaiveDate>> for Seen {
    fn from(d: Option<NaiveDate>) -> Seen {
        d.map_or(Seen::NoSuch, Seen::Date)
    }
}

/// Reads a date relative to `today` (the office's local date).
pub fn date(lex: &Lexicon, text: &str, today: NaiveDate, direction: Direction) -> DateReading {
    let lower = text.to_lowercase();
    let mut found: Vec<Seen> = Vec::new();
    let mut rest = String::with_capacity(lower.len());
    let mut last = 0;
    for c in NUMERIC.captures_iter(&lower) {
        let Some(m) = c.get(0) else { continue };
        if c.get(1).is_some() {
            continue; // a time: "jam 10.00"
        }
        let g: Vec<&str> = [2, 4, 5]
            .iter()
            .filter_map(|i| c.get(*i).map(|m| m.as_str()))
            .collect();
        if let Some(r) = numeric(&g, today, direction) {
            found.push(r.into());
            rest.push_str(&lower[last..m.start()]);
            rest.push(' ');
            last = m.end();
        }
    }
    rest.push_str(&lower[last..]);
    words(
        lex,
        &normalize(lex, &rest).tokens,
        today,
        direction,
        &mut found,
    );
    if found.contains(&Seen::Unclear) {
        return DateReading::None;
    }
    let valid: Vec<NaiveDate> = found
        .iter()
        .filter_map(|s| match s {
            Seen::Date(d) => Some(*d),
            _ => None,
        })
        .collect();
    match valid.first() {
        None if found.is_empty() => DateReading::None,
        None => DateReading::NoSuchDate,
        Some(d) if valid.iter().all(|x| x == d) && valid.len() == found.len() => {
            DateReading::Date(*d)
        }
        Some(_) => DateReading::None,
    }
}

/// A numeric date from its digit groups: `Some(Some(d))`, `Some(None)` (no such date), or
/// `None` (not a date: a time, an amount).
fn numeric(g: &[&str], today: NaiveDate, dir: Direction) -> Option<Option<NaiveDate>> {
    let n: Vec<u32> = g.iter().map(|s| s.parse().ok()).collect::<Option<_>>()?;
    let (y, m, d) = match (g, n.as_slice()) {
        ([a, _, _], [y, m, d]) if a.len() == 4 && g[1].len() <= 2 && g[2].len() <= 2 => {
            (Some(*y as i32), *m, *d)
        }
        ([a, b, c], [d, m, y]) if a.len() <= 2 && b.len() <= 2 && matches!(c.len(), 2 | 4) => {
            (Some(full_year(*y, c.len())), *m, *d)
        }
        ([a, b], [d, m]) if a.len() <= 2 && b.len() <= 2 => (None, *m, *d),
        _ => return None,
    };
    if m == 0 || d == 0 {
        return None;
    }
    Some(resolve(y, m, d, today, dir))
}

fn full_year(y: u32, digits: usize) -> i32 {
    if digits == 2 {
        2000 + y as i32
    } else {
        y as i32
    }
}

/// The date of a day and month, in the given year or the one the direction picks.
fn resolve(
    year: Option<i32>,
    m: u32,
    d: u32,
    today: NaiveDate,
    dir: Direction,
) -> Option<NaiveDate> {
    if let Some(y) = year {
        return NaiveDate::from_ymd_opt(y, m, d);
    }
    let options: Vec<NaiveDate> = (today.year() - 4..=today.year() + 4)
        .filter_map(|y| NaiveDate::from_ymd_opt(y, m, d))
        .collect();
    match dir {
        Direction::Past => options.into_iter().filter(|x| *x <= today).max(),
        Direction::Future => options.into_iter().filter(|x| *x >= today).min(),
        Direction::Any => options
            .into_iter()
            .min_by_key(|x| (*x - today).num_days().abs()),
    }
}

fn int(t: &str) -> Option<u32> {
    (t.len() <= 4 && t.chars().all(|c| c.is_ascii_digit()))
        .then(|| t.parse().ok())
        .flatten()
}

fn month(lex: &Lexicon, t: &str) -> Option<u32> {
    lex.months.get(t).copied().or_else(|| {
        lex.month_names
            .iter()
            .find(|(name, _)| is_typo_of(lex, t, name))
            .map(|(_, m)| *m)
    })
}

/// The index of the next token that is not a date filler ("tahun", "tanggal", "the").
fn next_word(lex: &Lexicon, t: &[String], mut i: usize) -> usize {
    while i < t.len() && lex.date_fillers.contains(&t[i]) {
        i += 1;
    }
    i
}

/// The dates named in words; pushes each.
fn words(lex: &Lexicon, t: &[String], today: NaiveDate, dir: Direction, found: &mut Vec<Seen>) {
    let mut i = 0;
    while i < t.len() {
        if let Some((date, used)) = count(lex, t, i, today)
            .or_else(|| named(lex, t, i, today, dir))
            .or_else(|| weekday(lex, t, i, today, dir))
        {
            found.push(date.into());
            i += used.max(1);
        } else if let Some(used) = period(lex, t, i) {
            found.push(Seen::Unclear);
            i += used;
        } else if let Some(n) = lex.relative.longest_at(t, i) {
            if let Some(days) = lex.relative_days.get(&t[i..i + n]) {
                found.push(Seen::Date(today + Duration::days(*days)));
            }
            i += n;
        } else {
            i += 1;
        }
    }
}

/// "minggu lalu", "bulan depan", "tahun kemarin": a period without a count, not a day. Its
/// length in words, so the "kemarin" in it is not read as yesterday.
fn period(lex: &Lexicon, t: &[String], i: usize) -> Option<usize> {
    let unit = t.get(i)?;
    let is_unit = (lex.day_units.contains_key(unit) && unit != "hari" && unit != "day")
        || lex.month_units.contains_key(unit);
    if !is_unit || (i > 0 && (int(&t[i - 1]).is_some() || t[i - 1] == "hari")) {
        return None;
    }
    let after = lex
        .ago
        .longest_at(t, i + 1)
        .or_else(|| lex.ahead.longest_at(t, i + 1))?;
    Some(1 + after)
}

/// "2 hari yg lalu", "seminggu yang lalu", "3 days ago", "dalam 3 hari", "2 bulan lagi".
fn count(
    lex: &Lexicon,
    t: &[String],
    i: usize,
    today: NaiveDate,
) -> Option<(Option<NaiveDate>, usize)> {
    let n = int(t.get(i)?)? as i64;
    let unit = t.get(i + 1)?;
    let after = i + 2;
    let ago = lex.ago.longest_at(t, after);
    let ahead = lex.ahead.longest_at(t, after);
    let before_in = i > 0 && matches!(t[i - 1].as_str(), "dalam" | "in");
    let (sign, used) = match (ago, ahead) {
        (Some(a), _) => (-1, 2 + a),
        (None, Some(a)) => (1, 2 + a),
        (None, None) if before_in => (1, 2),
        _ => return None,
    };
    if n > 400 {
        return None;
    }
    let date = if let Some(days) = lex.day_units.get(unit) {
        today.checked_add_signed(Duration::days(sign * n * days))
    } else if let Some(months) = lex.month_units.get(unit) {
        let m = Months::new(u32::try_from(n * months).ok()?);
        if sign < 0 {
            today.checked_sub_months(m)
        } else {
            today.checked_add_months(m)
        }
    } else {
        return None;
    };
    Some((date, used))
}

/// "28 nov", "tgl 2 jan thn 2027", "Feb 1, 2027", "tanggal 5" (day only, month from the
/// direction).
fn named(
    lex: &Lexicon,
    t: &[String],
    i: usize,
    today: NaiveDate,
    dir: Direction,
) -> Option<(Option<NaiveDate>, usize)> {
    let year_at = |j: usize| -> Option<(i32, usize)> {
        let j = next_word(lex, t, j);
        let s = t.get(j)?;
        let y = int(s)?;
        matches!(s.len(), 2 | 4).then(|| (full_year(y, s.len()), j + 1))
    };
    let finish = |d: u32, m: u32, end: usize| {
        let (y, end) = match year_at(end) {
            Some((y, e)) => (Some(y), e),
            None => (None, end),
        };
        let date = if (1..=31).contains(&d) {
            resolve(y, m, d, today, dir)
        } else {
            None
        };
        Some((date, end - i))
    };
    if let Some(d) = int(&t[i]).filter(|d| *d <= 99) {
        let j = next_word(lex, t, i + 1);
        if let Some(m) = t.get(j).and_then(|w| month(lex, w)) {
            return finish(d, m, j + 1);
        }
        if i > 0 && t[i - 1] == "tanggal" && dir != Direction::Any && (1..=31).contains(&d) {
            return Some((day_only(d, today, dir), 1));
        }
        return None;
    }
    let m = month(lex, &t[i])?;
    let j = next_word(lex, t, i + 1);
    let d = int(t.get(j)?).filter(|d| *d <= 31)?;
    finish(d, m, j + 1)
}

/// "tanggal 5": the 5th of this month or of the month before (past) / after (future).
fn day_only(d: u32, today: NaiveDate, dir: Direction) -> Option<NaiveDate> {
    let first = today.with_day(1)?;
    let months: Vec<NaiveDate> = (0..3)
        .filter_map(|k| match dir {
            Direction::Past => first.checked_sub_months(Months::new(k)),
            _ => first.checked_add_months(Months::new(k)),
        })
        .collect();
    months.into_iter().find_map(|f| {
        let x = NaiveDate::from_ymd_opt(f.year(), f.month(), d)?;
        let ok = match dir {
            Direction::Past => x <= today,
            _ => x >= today,
        };
        ok.then_some(x)
    })
}

/// "senin kemarin", "senin depan", "last friday", "hari minggu", "rabu ini".
fn weekday(
    lex: &Lexicon,
    t: &[String],
    i: usize,
    today: NaiveDate,
    dir: Direction,
) -> Option<(Option<NaiveDate>, usize)> {
    let wd = *lex.weekdays.get(&t[i])?;
    let after = i + 1;
    let ago = lex.ago.longest_at(t, after);
    let ahead = lex.ahead.longest_at(t, after);
    let before = i.checked_sub(1).map(|p| t[p].as_str());
    let this = t.get(after).is_some_and(|w| w == "ini" || w == "this");
    // "minggu" is also "week": a weekday only as "hari minggu" or alone.
    if t[i] == "minggu" && before != Some("hari") && t.len() > 1 {
        return None;
    }
    let today_wd = today.weekday().num_days_from_monday();
    let back = (today_wd + 7 - wd) % 7; // days since the last such day (0 = today)
    let fwd = (wd + 7 - today_wd) % 7; // days to the next such day (0 = today)
    let (days, used): (i64, usize) = if ago.is_some() || matches!(before, Some("last")) {
        (
            -(if back == 0 { 7 } else { back } as i64),
            1 + ago.unwrap_or(0),
        )
    } else if ahead.is_some() || matches!(before, Some("next")) {
        (
            if fwd == 0 { 7 } else { fwd } as i64,
            1 + ahead.unwrap_or(0),
        )
    } else if this {
        (wd as i64 - today_wd as i64, 2)
    } else {
        match dir {
            Direction::Past => (-(back as i64), 1),
            Direction::Future => (fwd as i64, 1),
            Direction::Any if back == 0 => (0, 1),
            Direction::Any => return None,
        }
    };
    Some((today.checked_add_signed(Duration::days(days)), used))
}

#[cfg(test)]
mod tests {
    use super::super::test_lexicon;
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn read(s: &str, today: &str, dir: Direction) -> DateReading {
        date(test_lexicon(), s, d(today), dir)
    }

    #[test]
    fn relative_and_named_dates() {
        use Direction::*;
        let t = "2026-12-02"; // a Wednesday
        for (s, dir, want) in [
            ("kemarin", Past, "2026-12-01"),
            ("kmrn", Past, "2026-12-01"),
            ("hari ini", Past, "2026-12-02"),
            ("tadi pagi", Past, "2026-12-02"),
            ("kemarin lusa", Past, "2026-11-30"),
            ("2 hari yg lalu", Past, "2026-11-30"),
            ("seminggu yang lalu", Past, "2026-11-25"),
            ("3 days ago", Past, "2026-11-29"),
            ("senin kemarin", Past, "2026-11-30"),
            ("last monday", Past, "2026-11-30"),
            ("hari senin", Past, "2026-11-30"),
            ("senin depan", Future, "2026-12-07"),
            ("next friday", Any, "2026-12-04"),
            ("tgl 28 nov", Past, "2026-11-28"),
            ("28-11", Past, "2026-11-28"),
            ("28/11/26", Past, "2026-11-28"),
            ("28 novmber 2026", Past, "2026-11-28"),
            ("besok", Future, "2026-12-03"),
            ("lusa", Any, "2026-12-04"),
            ("3 hari lagi", Any, "2026-12-05"),
            ("1 feb 2027", Future, "2027-02-01"),
            ("01-02-27", Any, "2027-02-01"),
            ("Feb 1, 2027", Any, "2027-02-01"),
            ("tgl 2 jan thn 2027", Any, "2027-01-02"),
            ("5/12", Future, "2026-12-05"),
            ("5 januari", Future, "2027-01-05"),
            ("05.12.2026", Any, "2026-12-05"),
            ("2026-12-05", Any, "2026-12-05"),
            ("tanggal 5", Past, "2026-11-05"),
            ("tanggal 1", Past, "2026-12-01"),
            ("kemarin tgl 1 des", Past, "2026-12-01"),
            ("tadi pagi jam 10.00", Past, "2026-12-02"),
            ("the 3rd of january 2027", Any, "2027-01-03"),
            ("yesterday", Past, "2026-12-01"),
        ] {
            assert_eq!(read(s, t, dir), DateReading::Date(d(want)), "{s}");
        }
        assert_eq!(
            read("tgl 28 des", "2026-01-05", Past),
            DateReading::Date(d("2025-12-28"))
        );
        assert_eq!(
            read("tgl 28 des", "2026-01-05", Future),
            DateReading::Date(d("2026-12-28"))
        );
        assert_eq!(
            read("29 feb", "2026-03-10", Past),
            DateReading::Date(d("2024-02-29"))
        );
    }

    #[test]
    fn impossible_and_unclear() {
        use Direction::*;
        let t = "2026-12-02";
        for s in ["31/11/2026", "30 feb 2027", "31 nov", "32/1/2027"] {
            assert_eq!(read(s, t, Any), DateReading::NoSuchDate, "{s}");
        }
        for s in [
            "",
            "pokoknya",
            "kemarin atau hari ini",
            "minggu lalu",
            "minggu kemarin",
            "bulan kemarin",
            "tahun lalu",
            "jam 10.00",
            "senin",
            "1.500",
        ] {
            assert_eq!(read(s, t, Any), DateReading::None, "{s}");
        }
        assert_eq!(read("2 hari", t, Past), DateReading::None);
    }

    proptest! {
        #[test]
        fn a_formatted_date_reads_back(days in 0i64..20000, style in 0usize..4) {
            let day = d("2000-01-01") + Duration::days(days);
            const ID: [&str; 12] = ["januari", "februari", "maret", "april", "mei", "juni", "juli",
                "agustus", "september", "oktober", "november", "desember"];
            let text = match style {
                0 => day.format("%d/%m/%Y").to_string(),
                1 => day.format("%Y-%m-%d").to_string(),
                2 => format!("{} {} {}", day.day(), ID[day.month0() as usize], day.year()),
                _ => day.format("%-d %b %Y").to_string(),
            };
            prop_assert_eq!(read(&text, "2026-06-15", Direction::Any), DateReading::Date(day));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = read(&s, "2026-06-15", Direction::Past);
        }
    }
}
