//! E-mail addresses as people type them: found in a sentence ("email sy: x@y.com"), lower-cased,
//! spaces around `@` removed, a comma typed for a dot in the domain ("gmail,com") and a trailing
//! dot dropped. A domain one typo away from a well-known provider (`gmial.com`, `gmail.con`,
//! `gmailcom`; the list is the lexicon's `[email] domains`) is *proposed*, never corrected
//! silently: the engine asks the person to confirm.

use super::fuzzy::within;
use super::lexicon::Lexicon;

/// What a message at an e-mail step holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailReading {
    /// A valid address (lower case), to store.
    Ok(String),
    /// Probably this address (a provider's domain mistyped): ask "Maksud Bapak/Ibu …?".
    /// `typed` is the address as typed when that is valid too (to store if the person says no).
    Suggest {
        suggested: String,
        typed: Option<String>,
    },
    /// No address.
    Invalid,
}

const LOCAL_CHARS: &str = ".!#$%&'*+/=?^_`{|}~-";

/// Reads the e-mail address in a message (see the module documentation).
pub fn email(lex: &Lexicon, text: &str) -> EmailReading {
    let lower = text.trim().to_lowercase();
    // "siti.rahma @ gmail.com" -> "siti.rahma@gmail.com"
    let mut joined = String::with_capacity(lower.len());
    for part in lower.split('@').enumerate() {
        let (i, p) = part;
        if i > 0 {
            joined.truncate(joined.trim_end().len());
            joined.push('@');
            joined.push_str(p.trim_start());
        } else {
            joined.push_str(p);
        }
    }
    let words: Vec<&str> = joined
        .split_whitespace()
        .filter(|w| w.contains('@'))
        .collect();
    let [word] = words.as_slice() else {
        return EmailReading::Invalid;
    };
    let Some((local, domain)) = word.split_once('@') else {
        return EmailReading::Invalid;
    };
    if domain.contains('@') {
        return EmailReading::Invalid;
    }
    // The local part: what ends at @, without a label glued before it ("email:andi@…").
    let local: String = local
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || LOCAL_CHARS.contains(*c))
        .collect::<Vec<char>>()
        .into_iter()
        .rev()
        .collect();
    let local = local.trim_start_matches('.');
    let domain: String = domain
        .replace(',', ".")
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_string();
    let local_ok =
        !local.is_empty() && local.len() <= 64 && !local.ends_with('.') && !local.contains("..");
    if !local_ok {
        return EmailReading::Invalid;
    }
    if lex.email_domains.contains(&domain) {
        return EmailReading::Ok(format!("{local}@{domain}"));
    }
    let typed = domain_ok(&domain).then(|| format!("{local}@{domain}"));
    let near = lex.email_domains.iter().find(|d| {
        let budget = if d.len() >= 8 { 2 } else { 1 };
        domain.len().abs_diff(d.len()) <= budget && within(&domain, d, budget)
    });
    match (near, typed) {
        (Some(d), typed) => EmailReading::Suggest {
            suggested: format!("{local}@{d}"),
            typed,
        },
        (None, Some(t)) => EmailReading::Ok(t),
        (None, None) => EmailReading::Invalid,
    }
}

/// A syntactically valid domain: labels of letters, digits and inner hyphens; a top-level
/// domain of two letters or more.
fn domain_ok(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    d.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::super::test_lexicon;
    use super::*;

    fn read(s: &str) -> EmailReading {
        email(test_lexicon(), s)
    }

    fn suggest(s: &str) -> String {
        match read(s) {
            EmailReading::Suggest { suggested, .. } => suggested,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn addresses() {
        for (s, want) in [
            ("siti.rahma @ gmail.com", "siti.rahma@gmail.com"),
            ("Siti.Rahma@Gmail.com", "siti.rahma@gmail.com"),
            ("siti.rahma@gmail,com", "siti.rahma@gmail.com"),
            ("siti.rahma@yahoo.co.id.", "siti.rahma@yahoo.co.id"),
            ("email sy: andi87@gmail.com", "andi87@gmail.com"),
            ("email:andi87@gmail.com", "andi87@gmail.com"),
            ("budi@ymail.com", "budi@ymail.com"),
            ("<rina@unib.ac.id>", "rina@unib.ac.id"),
            ("kepala@bengkuluprov.go.id", "kepala@bengkuluprov.go.id"),
            ("a.b+pst@mail.com", "a.b+pst@mail.com"),
        ] {
            assert_eq!(read(s), EmailReading::Ok(want.into()), "{s}");
        }
    }

    #[test]
    fn provider_typos_are_proposed() {
        for (s, want) in [
            ("siti.rahma@gmail.con", "siti.rahma@gmail.com"),
            ("siti.rahma@gmial.com", "siti.rahma@gmail.com"),
            ("andi87@gmailcom", "andi87@gmail.com"),
            ("andi@yahooo.com", "andi@yahoo.com"),
            ("andi@hotmial.com", "andi@hotmail.com"),
            ("andi@outlok.com", "andi@outlook.com"),
            ("andi@gmai.com", "andi@gmail.com"),
            ("andi@gmial.con", "andi@gmail.com"),
        ] {
            assert_eq!(suggest(s), want, "{s}");
        }
        assert_eq!(
            read("andi@gmail.con"),
            EmailReading::Suggest {
                suggested: "andi@gmail.com".into(),
                typed: Some("andi@gmail.con".into())
            }
        );
    }

    #[test]
    fn not_addresses() {
        for s in [
            "andi87gmail.com",
            "andi@",
            "@gmail.com",
            "a@b",
            "a..b@x.id",
            "a@x.1",
            "",
            "a@b@c.com",
            "x@y.com z@w.com",
        ] {
            assert_eq!(read(s), EmailReading::Invalid, "{s}");
        }
    }
}
