//! Numbers as people write them: digits with Indonesian separators (`1.500`, `1,5`), number
//! words (`empat ratus`, `seratus lima puluh`, `twenty five`), both mixed (`1,2 rb`, `2 juta`),
//! with a unit or an approximation around them (`± 500`, `kurang lebih 300 rumah tangga`).

use super::lexicon::Lexicon;
use super::normalize::normalize;

/// One number found in a message: its value and the tokens it spans.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Found {
    pub value: f64,
    pub start: usize,
    pub end: usize,
}

/// The one number in a message (`400 responden`, `empat ratus`, `1,2 rb`, `± 500`, `tiga set`),
/// or `None` when there is none or there are several (`200 sampai 300`: ask again rather than
/// guess). A leading minus sign is kept.
pub fn number(lex: &Lexicon, text: &str) -> Option<f64> {
    let n = normalize(lex, text);
    let found = numbers_in(lex, &n.tokens);
    match found.as_slice() {
        [one] => {
            let negative = text.trim_start().starts_with('-')
                && text.trim_start()[1..]
                    .trim_start()
                    .starts_with(|c: char| c.is_ascii_digit());
            Some(if negative { -one.value } else { one.value })
        }
        _ => None,
    }
}

/// The value of one digit token: `1.500` and `1.500.000` (thousands), `1,5` and `2.5`
/// (decimals), `1,500,000` (thousands written the English way).
pub(super) fn digits_value(t: &str) -> Option<f64> {
    if t.is_empty() || t.len() > 30 || !t.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return None;
    }
    let groups = |sep: char| -> bool {
        let parts: Vec<&str> = t.split(sep).collect();
        parts.len() >= 2
            && (1..=3).contains(&parts[0].len())
            && parts[1..].iter().all(|p| p.len() == 3)
    };
    let dots = t.matches('.').count();
    let commas = t.matches(',').count();
    let normal = if commas == 0 && dots == 0 {
        t.to_string()
    } else if commas == 0 && groups('.') && dots >= 1 {
        t.replace('.', "")
    } else if dots == 0 && commas >= 2 && groups(',') {
        t.replace(',', "")
    } else if dots == 0 && commas == 1 {
        // "1,5": Indonesian decimal; "1,500": thousands the English way.
        if groups(',') {
            t.replace(',', "")
        } else {
            t.replace(',', ".")
        }
    } else if commas == 0 && dots == 1 {
        t.to_string()
    } else if let Some((int, frac)) = t.split_once(',')
        && !frac.contains(['.', ','])
        && int.contains('.')
        && groups_str(int, '.')
    {
        format!("{}.{frac}", int.replace('.', ""))
    } else {
        return None;
    };
    normal.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn groups_str(t: &str, sep: char) -> bool {
    let parts: Vec<&str> = t.split(sep).collect();
    (1..=3).contains(&parts[0].len()) && parts[1..].iter().all(|p| p.len() == 3)
}

/// Every number in the tokens, words and digits combined ("2 puluh 5" is one number, 25;
/// "1 3" are two).
pub(super) fn numbers_in(lex: &Lexicon, tokens: &[String]) -> Vec<Found> {
    let mut out = Vec::new();
    let mut parts: Vec<f64> = Vec::new();
    let mut start = 0;
    let mut end = 0;
    let close = |parts: &mut Vec<f64>, out: &mut Vec<Found>, start: usize, end: usize| {
        if !parts.is_empty() {
            out.push(Found {
                value: parts.iter().sum(),
                start,
                end,
            });
            parts.clear();
        }
    };
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i].as_str();
        if let Some(v) = digits_value(t) {
            let absorb = parts
                .last()
                .is_some_and(|last| end == i && v.fract() == 0.0 && absorbs(*last, v));
            if !absorb {
                close(&mut parts, &mut out, start, end);
                start = i;
            }
            parts.push(v);
            end = i + 1;
        } else if let Some(s) = lex.scales.get(t).filter(|_| !parts.is_empty() && end == i) {
            let small: f64 = take_below(&mut parts, *s);
            parts.push(if small == 0.0 { *s } else { small * s });
            end = i + 1;
        } else if lex.teens.contains(t) && !parts.is_empty() && end == i {
            let small = take_below(&mut parts, 10.0);
            if small > 0.0 {
                parts.push(small + 10.0);
                end = i + 1;
            }
        } else if t == "and"
            && end == i
            && i > 0
            && lex.scales.contains_key(tokens[i - 1].as_str())
            && tokens.get(i + 1).and_then(|n| digits_value(n)).is_some()
        {
            end = i + 1;
        } else {
            close(&mut parts, &mut out, start, end);
        }
        i += 1;
    }
    close(&mut parts, &mut out, start, end);
    out
}

/// Whether `next` continues the number ending in `last`: "100 50" (seratus lima puluh) and
/// "20 5" (dua puluh lima) do, "1 3" does not.
fn absorbs(last: f64, next: f64) -> bool {
    if last < 10.0 || next >= last || last.fract() != 0.0 {
        return false;
    }
    let zeros = {
        let mut n = last as u64;
        let mut z = 0;
        while n > 0 && n.is_multiple_of(10) {
            n /= 10;
            z += 1;
        }
        z
    };
    let digits = (next.max(1.0)).log10().floor() as u32 + 1;
    digits <= zeros
}

/// Removes and sums the trailing parts smaller than `limit` ("dua ratus lima | puluh").
fn take_below(parts: &mut Vec<f64>, limit: f64) -> f64 {
    let mut sum = 0.0;
    while let Some(&last) = parts.last() {
        if last < limit {
            sum += last;
            parts.pop();
        } else {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::super::test_lexicon;
    use super::*;
    use proptest::prelude::*;

    fn num(s: &str) -> Option<f64> {
        number(test_lexicon(), s)
    }

    #[test]
    fn as_people_write_them() {
        for (s, v) in [
            ("400 responden", 400.0),
            ("empat ratus", 400.0),
            ("1,2 rb", 1200.0),
            ("2rb", 2000.0),
            ("± 500", 500.0),
            ("kurang lebih 300 rumah tangga", 300.0),
            ("seratus lima puluh", 150.0),
            ("dua", 2.0),
            ("2 eks", 2.0),
            ("tiga set", 3.0),
            ("1 aja", 1.0),
            ("sepuluh", 10.0),
            ("1.500", 1500.0),
            ("1,5", 1.5),
            ("1.500.000", 1_500_000.0),
            ("1,500,000", 1_500_000.0),
            ("1.250,5", 1250.5),
            ("dua belas", 12.0),
            ("sembilan belas", 19.0),
            ("dua ratus lima puluh tiga ribu", 253_000.0),
            ("seribu dua ratus", 1200.0),
            ("2 juta", 2_000_000.0),
            ("1.5jt", 1_500_000.0),
            ("twenty five", 25.0),
            ("one hundred and fifty", 150.0),
            ("sekitar 2k", 2000.0),
            ("-5", -5.0),
            ("0", 0.0),
        ] {
            assert_eq!(num(s), Some(v), "{s}");
        }
        for s in ["", "banyak", "200 sampai 300", "1 3", "05.12.2026", "abc"] {
            assert_eq!(num(s), None, "{s}");
        }
    }

    /// Indonesian number words for 0..=1000, written as a person would.
    fn words(n: u32) -> String {
        const UNITS: [&str; 10] = [
            "nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan",
        ];
        fn below_100(n: u32) -> String {
            match n {
                0..=9 => UNITS[n as usize].to_string(),
                10 => "sepuluh".into(),
                11 => "sebelas".into(),
                12..=19 => format!("{} belas", UNITS[(n - 10) as usize]),
                _ if n.is_multiple_of(10) => format!("{} puluh", UNITS[(n / 10) as usize]),
                _ => format!(
                    "{} puluh {}",
                    UNITS[(n / 10) as usize],
                    UNITS[(n % 10) as usize]
                ),
            }
        }
        match n {
            0..=99 => below_100(n),
            1000 => "seribu".into(),
            _ => {
                let h = if n / 100 == 1 {
                    "seratus".to_string()
                } else {
                    format!("{} ratus", UNITS[(n / 100) as usize])
                };
                if n.is_multiple_of(100) {
                    h
                } else {
                    format!("{h} {}", below_100(n % 100))
                }
            }
        }
    }

    #[test]
    fn number_words_round_trip_up_to_a_thousand() {
        for n in 0..=1000 {
            assert_eq!(num(&words(n)), Some(n as f64), "{}", words(n));
        }
    }

    proptest! {
        #[test]
        fn digits_round_trip(n in 0u64..10_000_000) {
            prop_assert_eq!(num(&n.to_string()), Some(n as f64));
            prop_assert_eq!(num(&format!("{n} responden")), Some(n as f64));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = num(&s);
        }
    }
}
