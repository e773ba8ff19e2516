//! Indonesian phone numbers: THE one place that reads them. The phone step calls it on what a
//! person types; `message::normalize_phone` (re-exported as `dialogs::input::normalize_phone`;
//! the SMS channel reads a sender's number with it) only checks that the whole text is a number
//! and then calls this, so there is no second parser.
//!
//! A number is found inside a sentence ("no hp sy 081377712345", "0812 3456 7890 (WA)"), in any
//! of the forms people use: `+62`, `62` or `0` first; spaces, dashes, dots and brackets between
//! digits; `+6208…` (the 0 after 62 dropped); a letter o typed for the leading zero. The result
//! is E.164 (`+6281234567890`).
//!
//! Mobile numbers start with 8 after the country code and have 9–12 digits there; land lines
//! have an area code starting with 2–7 or 9 and 7–11 digits in all.

/// Why a phone number was refused, so the re-prompt can say it plainly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneProblem {
    /// No number in the message.
    NotFound,
    /// Too few digits.
    TooShort,
    /// Too many digits.
    TooLong,
    /// A land line where a mobile (WhatsApp) number is needed.
    NotMobile,
    /// A number of another country (`+1 …`).
    NotIndonesian,
    /// Digits, but not a phone number (`1500…`, `12345678`).
    Invalid,
}

/// A phone number read from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phone {
    /// The number in E.164: `+6281234567890`.
    pub e164: String,
    /// Whether it is a mobile number (else a land line).
    pub mobile: bool,
}

/// Reads the phone number in a message; `mobile_only` refuses land lines.
pub fn phone(text: &str, mobile_only: bool) -> Result<Phone, PhoneProblem> {
    let run = best_run(text).ok_or(PhoneProblem::NotFound)?;
    let plus = run.starts_with('+');
    let digits: String = run
        .chars()
        .map(|c| if matches!(c, 'o' | 'O') { '0' } else { c })
        .filter(char::is_ascii_digit)
        .collect();
    let national = if plus {
        digits
            .strip_prefix("62")
            .map(|n| n.strip_prefix('0').unwrap_or(n).to_string())
            .ok_or(PhoneProblem::NotIndonesian)?
    } else if let Some(n) = digits.strip_prefix("62").filter(|_| digits.len() >= 10) {
        n.strip_prefix('0').unwrap_or(n).to_string()
    } else if let Some(n) = digits.strip_prefix('0') {
        n.to_string()
    } else if digits.starts_with('8') && digits.len() >= 9 {
        digits.clone()
    } else if digits.len() < 9 {
        return Err(PhoneProblem::TooShort);
    } else {
        return Err(PhoneProblem::Invalid);
    };
    let len = national.len();
    let mobile = match national.chars().next() {
        Some('8') => {
            if len < 9 {
                return Err(PhoneProblem::TooShort);
            }
            if len > 12 {
                return Err(PhoneProblem::TooLong);
            }
            true
        }
        Some('2'..='7' | '9') => {
            if len < 7 {
                return Err(PhoneProblem::TooShort);
            }
            if len > 11 {
                return Err(PhoneProblem::TooLong);
            }
            if mobile_only {
                return Err(PhoneProblem::NotMobile);
            }
            false
        }
        None => return Err(PhoneProblem::TooShort),
        _ => return Err(PhoneProblem::Invalid),
    };
    Ok(Phone {
        e164: format!("+62{national}"),
        mobile,
    })
}

/// The run of phone characters with the most digits (at least three).
fn best_run(text: &str) -> Option<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut best: Option<(usize, String)> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
        let word_start = i == 0 || !chars[i - 1].is_alphanumeric();
        let starts = c.is_ascii_digit()
            || (c == '+' && (next_digit || chars.get(i + 1) == Some(&' ')))
            || (c == '('
                && chars
                    .get(i + 1)
                    .is_some_and(|n| n.is_ascii_digit() || *n == '+'))
            || (matches!(c, 'o' | 'O') && next_digit && word_start);
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < chars.len()
            && (chars[j].is_ascii_digit() || matches!(chars[j], ' ' | '-' | '.' | '(' | ')'))
        {
            j += 1;
        }
        let run: String = chars[i..j].iter().collect();
        let run = run.trim_end_matches([' ', '-', '.', '(']).to_string();
        let n = run.chars().filter(char::is_ascii_digit).count();
        if n >= 3 && best.as_ref().is_none_or(|(b, _)| n > *b) {
            best = Some((n, run));
        }
        i = j.max(i + 1);
    }
    best.map(|(_, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e(s: &str, mobile_only: bool) -> Result<String, PhoneProblem> {
        phone(s, mobile_only).map(|p| p.e164)
    }

    #[test]
    fn forms_people_type() {
        for (s, want) in [
            ("+62 812 3456 7890", "+6281234567890"),
            ("62 812-3456-7890", "+6281234567890"),
            ("0812 3456 7890 (WA)", "+6281234567890"),
            ("no hp sy 081377712345", "+6281377712345"),
            ("0813.7771.2345", "+6281377712345"),
            ("+6208123456789", "+628123456789"),
            ("o812 3456 7890", "+6281234567890"),
            ("O81234567890", "+6281234567890"),
            ("hp pak andi 0852 6677 8899", "+6285266778899"),
            ("(0812) 3456.789", "+628123456789"),
            ("8123456789", "+628123456789"),
            ("+62-812-3456-789", "+628123456789"),
            ("wa: +62 (812) 3456-7890", "+6281234567890"),
        ] {
            assert_eq!(e(s, true).as_deref(), Ok(want), "{s}");
        }
        assert_eq!(e("(0736) 21234", false).as_deref(), Ok("+6273621234"));
        assert_eq!(
            e("telp kantor 0736-21234", false).as_deref(),
            Ok("+6273621234")
        );
        assert_eq!(e("0901 123456", false).as_deref(), Ok("+62901123456"));
    }

    #[test]
    fn refusals_say_why() {
        use PhoneProblem::*;
        assert_eq!(e("0736 21234", true), Err(NotMobile));
        assert_eq!(e("12345", true), Err(TooShort));
        assert_eq!(e("0812 345", true), Err(TooShort));
        assert_eq!(e("0812 3456 7890 1234", true), Err(TooLong));
        assert_eq!(e("+1 415 555 0100", true), Err(NotIndonesian));
        assert_eq!(e("tidak punya", true), Err(NotFound));
        assert_eq!(e("", true), Err(NotFound));
        assert_eq!(e("150 0 500 600", false), Err(Invalid));
    }

    proptest! {
        #[test]
        fn e164_reads_back(n in "8[0-9]{8,11}") {
            let a = e(&format!("0{n}"), true).unwrap();
            prop_assert_eq!(e(&a, true).unwrap(), a.clone());
            prop_assert_eq!(a, format!("+62{n}"));
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = phone(&s, false);
        }
    }
}
