//! Everything stored about a person beyond the guest book, gathered by the runtime only for
//! `datasaya` (UU 27/2022: the right to see one's data), so that ordinary messages read no more
//! of the store than they need.

use crate::cases::Case;
use crate::guestbook::{Appointment, Rating, Visit};
use chrono::{DateTime, Utc};

/// The person's stored records, each list newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PersonRecords {
    /// Their cases in full: form answers (the complaint's text among them) and uploaded files.
    pub cases: Vec<Case>,
    pub ratings: Vec<Rating>,
    pub visits: Vec<Visit>,
    pub appointments: Vec<Appointment>,
    /// How many entries their web chat transcripts hold (0 when they never used the web chat).
    pub web_entries: usize,
    /// Officers' accesses to their data.
    pub accesses: Vec<Access>,
}

/// One officer's look at the person's data, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Access {
    pub at: DateTime<Utc>,
    /// The officer's id (`cli:<user>` for a command run on the server).
    pub officer: String,
    pub action: String,
    /// A case number or the guest id.
    pub subject: String,
}

/// The most records of each kind `datasaya` lists (newest first); the rest are counted.
const SHOWN: usize = 5;
/// Longer texts (a complaint, a comment) are clipped to this many characters.
const CLIP: usize = 80;

/// The sections of `datasaya` beyond the guest book: compact, for a phone.
pub(crate) fn render(bot: &super::Bot, r: &PersonRecords, lang: &str) -> String {
    let date = |t: DateTime<Utc>| bot.calendar.format_local(t, lang);
    let mut out: Vec<String> = Vec::new();
    section(bot, lang, &mut out, "mydata_cases", &r.cases, |c| {
        let mut lines = vec![format!("• {} — {}", c.number, clip(&c.title))];
        for f in &c.form {
            if matches!(f.value, crate::cases::Answer::Skipped) {
                continue;
            }
            let value = super::render::display_answer(bot, None, &f.value, lang);
            lines.push(format!("  {}: {}", clip(&f.label), clip(&value)));
        }
        if !c.attachments.is_empty() {
            let names: Vec<String> = c.attachments.iter().map(|a| clip(&a.filename)).collect();
            lines.push(fill_one(
                bot,
                lang,
                "mydata_files",
                "files",
                names.join(", "),
            ));
        }
        lines.join("\n")
    });
    section(bot, lang, &mut out, "mydata_ratings", &r.ratings, |x| {
        let case = x.case.as_ref().map(|n| format!(" {n}")).unwrap_or_default();
        let comment = x.comment.as_deref().map(|c| format!(" \"{}\"", clip(c)));
        format!(
            "• {}{case}: {}/5{}",
            date(x.at),
            x.score,
            comment.unwrap_or_default()
        )
    });
    section(bot, lang, &mut out, "mydata_visits", &r.visits, |v| {
        let what = v.service.as_deref().or(v.purpose.as_deref()).unwrap_or("-");
        format!("• {} ({}): {}", date(v.at), v.channel.as_str(), clip(what))
    });
    section(
        bot,
        lang,
        &mut out,
        "mydata_appointments",
        &r.appointments,
        |a| format!("• {}: {}", date(a.at), clip(&a.topic)),
    );
    if r.web_entries > 0 {
        out.push(fill_one(
            bot,
            lang,
            "mydata_web",
            "count",
            r.web_entries.to_string(),
        ));
    }
    section(bot, lang, &mut out, "mydata_accesses", &r.accesses, |a| {
        crate::text::fill(
            &bot.sys("mydata_access_line", lang),
            &[
                ("at", date(a.at)),
                ("officer", a.officer.clone()),
                ("action", a.action.clone()),
                ("subject", a.subject.clone()),
            ],
        )
    });
    out.join("\n")
}

/// A titled list of at most [`SHOWN`] items, then "dan N lainnya"; nothing when empty.
fn section<T>(
    bot: &super::Bot,
    lang: &str,
    out: &mut Vec<String>,
    title: &str,
    items: &[T],
    line: impl Fn(&T) -> String,
) {
    if items.is_empty() {
        return;
    }
    out.push(bot.sys(title, lang));
    out.extend(items.iter().take(SHOWN).map(line));
    if items.len() > SHOWN {
        let more = (items.len() - SHOWN).to_string();
        out.push(fill_one(bot, lang, "mydata_more", "n", more));
    }
}

fn fill_one(bot: &super::Bot, lang: &str, key: &str, name: &str, value: String) -> String {
    crate::text::fill(&bot.sys(key, lang), &[(name, value)])
}

/// `s` on one line, clipped to [`CLIP`] characters with "…".
fn clip(s: &str) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= CLIP {
        return one;
    }
    let mut cut: String = one.chars().take(CLIP - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::clip;

    #[test]
    fn long_texts_are_clipped_on_one_line() {
        assert_eq!(clip("a\n b"), "a b");
        let long = "x".repeat(200);
        let c = clip(&long);
        assert_eq!(c.chars().count(), 80);
        assert!(c.ends_with('…'));
    }
}
