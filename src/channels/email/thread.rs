//! Threads as a mail program shows them (issue 20, item 10; RFC 5322 §3.6.4): a mail's
//! `References` are its parent's `References` and the parent's `Message-ID`, oldest first, and
//! its `In-Reply-To` the parent's id.
//!
//! - A case's mails to one recipient form one thread under the case's root id. Each delivered
//!   mail's record keeps the `References` it carried ([`crate::store::SentRecord::thread`]) and
//!   is found again by the thread's mark ([`mark`]), one of its provider ids: the next mail
//!   names that chain, that mail's id and the recipient's mail it answers ([`case_chain`]).
//! - An answer in a conversation (no case) is `Re: <their subject>` ([`reply_subject`]) and
//!   names their `References` and their id.
//!
//! Long chains keep the root and the most recent ids ([`MAX_REFERENCES`] in all), so a header
//! never grows without bound.

/// The most ids a `References` header carries: the first (the thread's root) and the latest.
pub const MAX_REFERENCES: usize = 20;

/// The longest id taken from someone's mail (RFC 5322 sets no bound; real ids are far shorter).
const MAX_ID_CHARS: usize = 250;

/// The most characters of their subject an answer repeats.
const MAX_SUBJECT_CHARS: usize = 150;

/// The provider id by which the latest delivered mail of a case's thread to one recipient is
/// found: the case and the recipient's reply token for it (no address in the store's index).
pub fn mark(case: &str, token: &str) -> String {
    format!("thread:{case}.{token}")
}

/// An id as a header carries it (`<left@right>`), when it is one: no spaces or control
/// characters, not empty, not overlong.
pub fn clean_id(s: &str) -> Option<String> {
    let inner = s.trim().trim_start_matches('<').trim_end_matches('>');
    let ok = !inner.is_empty()
        && inner.len() <= MAX_ID_CHARS
        && !inner
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>');
    ok.then(|| format!("<{inner}>"))
}

/// `ids` as one `References` chain: each id once (its first place), at most
/// [`MAX_REFERENCES`]: the first and the latest.
pub fn bounded(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    if out.len() > MAX_REFERENCES {
        let cut = out.len() - (MAX_REFERENCES - 1);
        out.drain(1..cut);
    }
    out
}

/// The `References` of a case's mail: the thread's root, then what the previous mail of the
/// thread to this recipient named and that mail's own id (`previous`: its record's chain and
/// its id), then the recipient's mail this one answers. `own`: this mail's id, never in its
/// own chain (a row tried again is not added twice).
pub fn case_chain(
    root: &str,
    previous: Option<(&[String], &str)>,
    answered: Option<&str>,
    own: &str,
) -> Vec<String> {
    let mut ids = vec![root.to_string()];
    if let Some((chain, id)) = previous {
        ids.extend(chain.iter().cloned());
        ids.push(id.to_string());
    }
    ids.extend(answered.map(str::to_string));
    bounded(ids.into_iter().filter(|i| i != own))
}

/// The `References` of an answer to their mail `id` that named `theirs`.
pub fn answer_chain(theirs: &[String], id: &str) -> Vec<String> {
    bounded(
        theirs
            .iter()
            .cloned()
            .chain(std::iter::once(id.to_string())),
    )
}

/// `Re: <their subject>`: on one line, bounded, with one `Re:` however many theirs had
/// (`Re:`, `RE:`, `Re[2]:`, `AW:`, `Balas:`). `None` when they wrote no subject.
pub fn reply_subject(theirs: &str) -> Option<String> {
    let one_line: String = theirs
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut rest = one_line.split_whitespace().collect::<Vec<_>>().join(" ");
    while let Some(stripped) = strip_reply_prefix(&rest) {
        rest = stripped.to_string();
    }
    if rest.is_empty() {
        return None;
    }
    Some(format!(
        "Re: {}",
        crate::message::clip(&rest, MAX_SUBJECT_CHARS)
    ))
}

/// `rest` without one leading answer prefix (`Re:`, `Re[2]:`, `Aw:`, `Balas:`), if it has one.
fn strip_reply_prefix(rest: &str) -> Option<&str> {
    let (word, after) = rest.split_once(':')?;
    let word = word.trim();
    let base = word.split_once('[').map_or(word, |(b, n)| {
        if n.trim_end_matches(']').chars().all(|c| c.is_ascii_digit()) {
            b
        } else {
            word
        }
    });
    ["re", "aw", "sv", "balas"]
        .iter()
        .any(|p| base.eq_ignore_ascii_case(p))
        .then(|| after.trim_start())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_have_one_re_on_one_bounded_line() {
        assert_eq!(
            reply_subject("Data inflasi").as_deref(),
            Some("Re: Data inflasi")
        );
        assert_eq!(
            reply_subject("RE: re: Re[2]: AW: Data\r\n inflasi").as_deref(),
            Some("Re: Data inflasi")
        );
        assert_eq!(reply_subject("Balas: Re: x").as_deref(), Some("Re: x"));
        assert_eq!(reply_subject("  \r\n "), None);
        assert_eq!(reply_subject("Re:"), None);
        assert_eq!(
            reply_subject("Rencana: data").as_deref(),
            Some("Re: Rencana: data"),
            "a word before a colon that is no answer prefix stays"
        );
        let long = reply_subject(&"a".repeat(500)).unwrap();
        assert_eq!(long.chars().count(), "Re: ".len() + MAX_SUBJECT_CHARS + 1);
    }

    #[test]
    fn ids_are_checked_and_chains_bounded_keeping_root_and_latest() {
        assert_eq!(clean_id(" <a@b> ").as_deref(), Some("<a@b>"));
        assert_eq!(clean_id("a@b").as_deref(), Some("<a@b>"));
        assert_eq!(clean_id("<a b@c>"), None);
        assert_eq!(clean_id("<a\r\nX-Evil: 1@c>"), None);
        assert_eq!(clean_id(""), None);
        assert_eq!(clean_id(&"x".repeat(300)), None);
        let ids: Vec<String> = (0..30).map(|i| format!("<{i}@x>")).collect();
        let b = bounded(ids.clone());
        assert_eq!(b.len(), MAX_REFERENCES);
        assert_eq!(b[0], "<0@x>");
        assert_eq!(b[1], "<11@x>");
        assert_eq!(b.last().unwrap(), "<29@x>");
        assert_eq!(
            bounded(vec!["<a>".into(), "<b>".into(), "<a>".into()]).len(),
            2
        );
    }

    #[test]
    fn a_case_chain_grows_by_the_previous_mail_and_the_answered_one() {
        let first = case_chain("<root>", None, Some("<theirs-1>"), "<ours-1>");
        assert_eq!(first, ["<root>", "<theirs-1>"]);
        let second = case_chain("<root>", Some((&first, "<ours-1>")), None, "<ours-2>");
        assert_eq!(second, ["<root>", "<theirs-1>", "<ours-1>"]);
        let third = case_chain(
            "<root>",
            Some((&second, "<ours-2>")),
            Some("<theirs-2>"),
            "<ours-3>",
        );
        assert_eq!(
            third,
            ["<root>", "<theirs-1>", "<ours-1>", "<ours-2>", "<theirs-2>"]
        );
        // A row tried again never names itself.
        let again = case_chain("<root>", Some((&third, "<ours-3>")), None, "<ours-3>");
        assert_eq!(again, third);
        assert_eq!(
            answer_chain(&["<a>".into(), "<b>".into()], "<c>"),
            ["<a>", "<b>", "<c>"]
        );
    }
}
