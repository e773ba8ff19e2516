//! Parsers for what people type: e-mail addresses, Indonesian phone numbers, dates, times,
//! numbers, yes/no, skip and done words, in the forms people actually use on their phones. All
//! pure.

use crate::cases::calendar::month_from_name;
use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};
use regex::Regex;
use std::sync::LazyLock;

/// Removes control characters (except line breaks and tabs) and bidirectional overrides, trims.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|c| {
            let control = c.is_control() && *c != '\n' && *c != '\t';
            let bidi = matches!(*c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{FEFF}');
            !control && !bidi
        })
        .collect::<String>()
        .trim()
        .to_string()
}

/// Whether the text has at least one letter or digit (emoji-only answers do not count as text).
pub fn has_alphanumeric(s: &str) -> bool {
    s.chars().any(char::is_alphanumeric)
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
        .expect("valid regex")
});

/// A plausible e-mail address, lower-cased in its domain; `None` when it is not one.
pub fn parse_email(s: &str) -> Option<String> {
    let s = s.trim();
    if s.len() > 254 || !EMAIL.is_match(s) {
        return None;
    }
    let (local, domain) = s.rsplit_once('@')?;
    if local.len() > 64 || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return None;
    }
    let tld = domain.rsplit('.').next()?;
    if tld.len() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Some(format!("{local}@{}", domain.to_lowercase()))
}

// Phone numbers are parsed where the channels can reach the parser too (the SMS webhook).
pub use crate::message::{PhoneError, normalize_phone};

/// A date in the forms `31/12/2026`, `31-12-2026`, `31.12.2026`, `2026-12-31`,
/// `31 Desember 2026` or `31 Dec 2026`.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim().trim_end_matches('.');
    static NUMERIC: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$").expect("valid"));
    static ISO: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\d{4})-(\d{1,2})-(\d{1,2})$").expect("valid"));
    static NAMED: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\d{1,2})\s+([A-Za-z]+)\.?\s+(\d{4})$").expect("valid"));
    if let Some(c) = ISO.captures(s) {
        return NaiveDate::from_ymd_opt(c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?);
    }
    if let Some(c) = NUMERIC.captures(s) {
        return NaiveDate::from_ymd_opt(c[3].parse().ok()?, c[2].parse().ok()?, c[1].parse().ok()?);
    }
    if let Some(c) = NAMED.captures(s) {
        return NaiveDate::from_ymd_opt(
            c[3].parse().ok()?,
            month_from_name(&c[2])?,
            c[1].parse().ok()?,
        );
    }
    None
}

/// A time `10:00`, `10.00`, `10:00 WIB` or `10`.
fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s
        .trim()
        .trim_end_matches(|c: char| c.is_alphabetic() || c == ' ');
    static TIME: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(\d{1,2})(?:[:.](\d{2}))?$").expect("valid"));
    let c = TIME.captures(s.trim())?;
    let h: u32 = c[1].parse().ok()?;
    let m: u32 = c.get(2).map_or(Some(0), |m| m.as_str().parse().ok())?;
    NaiveTime::from_hms_opt(h, m, 0)
}

/// A local date and time for an appointment: a date (as [`parse_date`]) or `besok`/`tomorrow`/
/// `lusa`, followed by a time; `jam`/`pukul`/`at` may stand between them.
pub fn parse_local_datetime(s: &str, today: NaiveDate) -> Option<NaiveDateTime> {
    let lower = s.trim().to_lowercase();
    let words: Vec<&str> = lower
        .split_whitespace()
        .filter(|w| !matches!(*w, "jam" | "pukul" | "at" | "pkl" | "pkl."))
        .collect();
    if words.len() < 2 {
        return None;
    }
    let (date, rest) = match words[0] {
        "besok" | "tomorrow" => (today.succ_opt()?, &words[1..]),
        "lusa" => (today.succ_opt()?.succ_opt()?, &words[1..]),
        "hari" if words.get(1) == Some(&"ini") => (today, &words[2..]),
        "today" => (today, &words[1..]),
        _ => {
            // Try the longest date prefix: "25/11/2026" or "25 november 2026".
            if let Some(d) = parse_date(words[0]) {
                (d, &words[1..])
            } else if words.len() >= 4 {
                (parse_date(&words[..3].join(" "))?, &words[3..])
            } else {
                return None;
            }
        }
    };
    if rest.is_empty() {
        return None;
    }
    let time = parse_time(&rest.join(" "))?;
    let _ = date.year();
    Some(date.and_time(time))
}

/// A number as typed in Indonesia or elsewhere: `1.500` and `1,5` (Indonesian), `1500`, `2.5`.
pub fn parse_number(s: &str) -> Option<f64> {
    let s: String = s
        .trim()
        .chars()
        .filter(|c| *c != ' ' && *c != '_')
        .collect();
    if s.is_empty() || s.len() > 30 {
        return None;
    }
    static THOUSANDS_DOT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$").expect("valid"));
    static THOUSANDS_COMMA: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$").expect("valid"));
    static PLAIN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^-?\d+([.,]\d+)?$").expect("valid"));
    let normal = if THOUSANDS_DOT.is_match(&s) {
        s.replace('.', "").replace(',', ".")
    } else if THOUSANDS_COMMA.is_match(&s) {
        s.replace(',', "")
    } else if PLAIN.is_match(&s) {
        s.replace(',', ".")
    } else {
        return None;
    };
    normal.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Yes or no in Indonesian or English (and the usual short forms).
pub fn parse_yes_no(s: &str) -> Option<bool> {
    let t = s.trim().trim_end_matches(['.', '!']).to_lowercase();
    match t.as_str() {
        "ya" | "y" | "iya" | "yes" | "ok" | "oke" | "setuju" | "benar" | "betul" | "agree"
        | "yup" | "yep" => Some(true),
        "tidak" | "tdk" | "t" | "no" | "n" | "nggak" | "gak" | "enggak" | "tidak setuju"
        | "bukan" | "disagree" => Some(false),
        _ => None,
    }
}

/// Whether the words skip an optional step: `-`, `lewati`, `skip`, `tidak ada`, `none`, `n/a`.
pub fn is_skip(t: &str) -> bool {
    matches!(
        t.trim().to_lowercase().as_str(),
        "-" | "lewati" | "skip" | "tidak ada" | "none" | "n/a"
    )
}

/// Whether the words say the person is done (a cart, a search, what a case waited for).
pub fn is_done_word(t: &str) -> bool {
    matches!(
        t.trim().to_lowercase().as_str(),
        "selesai" | "lanjut" | "done" | "next" | "continue" | "finish"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phones_in_indonesian_forms_become_e164() {
        for s in [
            "08123456789",
            "0812-3456-789",
            "+62 812 3456 789",
            "628123456789",
            "8123456789",
            "(0812) 3456.789",
        ] {
            assert_eq!(normalize_phone(s, true), Ok("+628123456789".into()), "{s}");
        }
        assert_eq!(
            normalize_phone("(0736) 21234", false),
            Ok("+6273621234".into())
        );
        assert_eq!(
            normalize_phone("(0736) 21234", true),
            Err(PhoneError::NotMobile)
        );
        for bad in [
            "",
            "abc",
            "0812",
            "+1 415 555 0100",
            "081234567890123",
            "08-12a",
            "1234567",
        ] {
            assert!(normalize_phone(bad, false).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            parse_email(" Budi.S@Example.GO.ID "),
            Some("Budi.S@example.go.id".into())
        );
        for bad in [
            "budi",
            "budi@",
            "@x.id",
            "budi@x",
            "bu di@x.id",
            "budi@x.1",
            "a..b@x.id",
        ] {
            assert_eq!(parse_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_in_common_forms() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 12);
        for s in [
            "12/03/2026",
            "12-3-2026",
            "12.03.2026",
            "2026-03-12",
            "12 Maret 2026",
            "12 march 2026",
            "12 Mar 2026",
        ] {
            assert_eq!(parse_date(s), d, "{s}");
        }
        for bad in ["31/02/2026", "12/13/2026", "besok", "2026", ""] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn appointment_times() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let at = |d: u32, h: u32, m: u32| {
            Some(
                NaiveDate::from_ymd_opt(2026, 11, d)
                    .unwrap()
                    .and_hms_opt(h, m, 0)
                    .unwrap(),
            )
        };
        assert_eq!(
            parse_local_datetime("25/11/2026 10:00", today),
            at(25, 10, 0)
        );
        assert_eq!(
            parse_local_datetime("25 November 2026 pukul 13.30", today),
            at(25, 13, 30)
        );
        assert_eq!(parse_local_datetime("besok jam 9", today), at(24, 9, 0));
        assert_eq!(
            parse_local_datetime("tomorrow 14:15 WIB", today),
            at(24, 14, 15)
        );
        assert_eq!(parse_local_datetime("25/11/2026", today), None);
        assert_eq!(parse_local_datetime("besok 25:00", today), None);
    }

    #[test]
    fn numbers_with_indonesian_separators() {
        assert_eq!(parse_number("1.500"), Some(1500.0));
        assert_eq!(parse_number("1,5"), Some(1.5));
        assert_eq!(parse_number("2.5"), Some(2.5));
        assert_eq!(parse_number("1,500,000"), Some(1_500_000.0));
        assert_eq!(parse_number("12 000"), Some(12000.0));
        assert_eq!(parse_number("dua"), None);
        assert_eq!(parse_number("1e400"), None);
    }

    #[test]
    fn sanitize_strips_controls_and_bidi() {
        assert_eq!(sanitize(" a\u{202E}b\u{0007}c\nd "), "abc\nd");
        assert!(!has_alphanumeric("🙂🙂"));
        assert!(has_alphanumeric("🙂 ok"));
    }

    proptest! {
        #[test]
        fn normalized_phones_are_stable(n in "8[0-9]{8,11}") {
            let e = normalize_phone(&format!("0{n}"), true).unwrap();
            prop_assert_eq!(normalize_phone(&e, true).unwrap(), e.clone());
            prop_assert!(e.starts_with("+628"));
        }

        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}") {
            let _ = normalize_phone(&s, false);
            let _ = parse_email(&s);
            let _ = parse_date(&s);
            let _ = parse_number(&s);
            let _ = parse_local_datetime(&s, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap());
        }
    }
}
