//! Short answers with a fixed meaning: yes / no, "none" at an optional step, send / change at a
//! summary, and "that's all" at the cart. Each reads the lexicon's `[answers]` lists.

use super::lexicon::{Lexicon, Phrases};
use super::normalize::normalize;

/// What a person answered at a summary (*Kirim* / *Ubah*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryReading {
    /// Send it as it is.
    Confirm,
    /// Change one of the answers.
    Change,
}

/// Words that take back what came before ("iya tapi ...").
const BUT: [&str; 5] = ["tapi", "tetapi", "namun", "but", "cuma"];

/// Yes (`Some(true)`), no (`Some(false)`) or neither. The first yes/no word decides ("iya
/// boleh", "ngga usah dirahasiakan", "tidak setuju"); an unsure word ("mungkin", "maybe"), a
/// "but", an answer of both kinds, or more than three other words give `None`.
pub fn yes_no(lex: &Lexicon, text: &str) -> Option<bool> {
    let n = normalize(lex, text);
    let t = &n.tokens;
    if lex.yes.symbol(text) {
        return Some(true);
    }
    if lex.no.symbol(text) {
        return Some(false);
    }
    if lex.unsure.occurs(t) || t.iter().any(|w| BUT.contains(&w.as_str())) {
        return None;
    }
    let mut verdict: Option<bool> = None;
    let mut others = 0;
    let mut i = 0;
    while i < t.len() {
        let y = lex.yes.longest_at(t, i).unwrap_or(0);
        let no = lex.no.longest_at(t, i).unwrap_or(0);
        if y == 0 && no == 0 {
            let filler = lex.filler_at(t, i);
            if filler == 0 {
                verdict?;
                others += 1;
            }
            i += filler.max(1);
            continue;
        }
        let this = y > no;
        match verdict {
            None => verdict = Some(this),
            Some(v) if v != this => return None,
            _ => {}
        }
        i += y.max(no);
    }
    verdict.filter(|_| others <= 3)
}

/// Whether the person leaves an optional step empty: "-", "gak ada", "no", "ga ada bukti",
/// "belum ada nomor lapor". A one-word entry must be the whole message (with fillers); a longer
/// entry may be followed by two more words, but not by "yang" ("tidak ada yang ramah" is an
/// answer).
pub fn skip(lex: &Lexicon, text: &str) -> bool {
    let trimmed = text.trim();
    if !trimmed.is_empty()
        && trimmed
            .chars()
            .all(|c| matches!(c, '-' | '–' | '—' | '_' | '.' | ' '))
        && trimmed.contains(['-', '–', '—'])
    {
        return true;
    }
    if lex.skip.symbol(text) {
        return true;
    }
    whole_answer(lex, &lex.skip, text)
}

/// Whether the person means their own guest book answer: "saya sendiri", "sy sendiri pak",
/// "nomor saya tadi", "sama", "myself" (a step with `me`), the way [`skip`] reads its words.
pub fn me(lex: &Lexicon, text: &str) -> bool {
    whole_answer(lex, &lex.me, text)
}

/// Whether the message is one of `phrases`, after fillers: a one-word entry must be the whole
/// message; a longer entry may be followed by two more words, but not by "yang".
fn whole_answer(lex: &Lexicon, phrases: &Phrases, text: &str) -> bool {
    let n = normalize(lex, text);
    let t = &n.tokens;
    let mut i = 0;
    while i < t.len() && phrases.longest_at(t, i).is_none() && lex.filler_at(t, i) > 0 {
        i += lex.filler_at(t, i);
    }
    let Some(len) = phrases.longest_at(t, i) else {
        return false;
    };
    let rest = lex.without_fillers(&t[i + len..]);
    if t.get(i + len).is_some_and(|w| w == "yang") {
        return false;
    }
    if len == 1 {
        rest.is_empty()
    } else {
        rest.len() <= 2
    }
}

/// Send or change at a summary: "siap", "ok", "udh bener", "kirim aja", "👌" confirm; "ada yg
/// salah", "mau ganti", "blm benar", "edit" change. A change word wins over a confirm word; the
/// longest phrase at each place decides ("tidak ada yang salah" confirms).
pub fn summary(lex: &Lexicon, text: &str) -> Option<SummaryReading> {
    if lex.change.symbol(text) {
        return Some(SummaryReading::Change);
    }
    if lex.confirm.symbol(text) {
        return Some(SummaryReading::Confirm);
    }
    let n = normalize(lex, text);
    let t = &n.tokens;
    if t.len() > 12 {
        return None;
    }
    let (mut confirm, mut change) = (false, false);
    let mut i = 0;
    while i < t.len() {
        let c = lex.confirm.longest_at(t, i).unwrap_or(0);
        let x = lex.change.longest_at(t, i).unwrap_or(0);
        if c == 0 && x == 0 {
            i += 1;
        } else if x >= c {
            change = true;
            i += x;
        } else {
            confirm = true;
            i += c;
        }
    }
    if change {
        Some(SummaryReading::Change)
    } else if confirm {
        Some(SummaryReading::Confirm)
    } else {
        None
    }
}

/// Whether the message is only "that's all" at the cart ("udah", "itu aja", "cukup",
/// "sdh selesai"), with fillers around.
pub fn done_word(lex: &Lexicon, text: &str) -> bool {
    let n = normalize(lex, text);
    covered(lex, &lex.done, &n.tokens)
}

/// Whether the tokens are one or more phrases of `set`, with only fillers between them.
pub(super) fn covered(lex: &Lexicon, set: &Phrases, t: &[String]) -> bool {
    let mut any = false;
    let mut i = 0;
    while i < t.len() {
        if let Some(len) = set.longest_at(t, i) {
            any = true;
            i += len;
        } else if lex.filler_at(t, i) > 0 {
            i += lex.filler_at(t, i);
        } else {
            return false;
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::super::test_lexicon;
    use super::*;

    #[test]
    fn yes_and_no() {
        let lex = test_lexicon();
        for s in [
            "iyaaa",
            "iya",
            "y",
            "yoi",
            "boleh",
            "oke deh",
            "siap",
            "setuju",
            "👍",
            "nggih",
            "iyo",
            "Ya, saya setuju",
            "iya boleh",
            "mau",
            "yes please",
            "sure",
            "ok min",
            "min ya",
        ] {
            assert_eq!(yes_no(lex, s), Some(true), "{s}");
        }
        for s in [
            "ga",
            "gak",
            "nggak",
            "enggak usah",
            "ndak",
            "kagak",
            "ora",
            "tdk",
            "idak",
            "jangan",
            "ngga usah dirahasiakan",
            "tidak setuju",
            "no",
            "nope",
            "tidak mau",
            "👎",
        ] {
            assert_eq!(yes_no(lex, s), Some(false), "{s}");
        }
        for s in [
            "maybe",
            "mungkin",
            "gatau",
            "iya tapi nanti",
            "ya tidak",
            "hmm",
            "",
            "😂",
            "jam berapa",
            "bingung",
        ] {
            assert_eq!(yes_no(lex, s), None, "{s}");
        }
    }

    #[test]
    fn skipping() {
        let lex = test_lexicon();
        for s in [
            "gak ada",
            "tdk ada",
            "gak",
            "no",
            "ga ada bukti",
            "blm ada",
            "nggak punya",
            "dak ado",
            "kosong",
            "ga usah",
            "skip aja",
            "nanti aja",
            "belum ada nomor lapor",
            "--",
            "-",
            "—",
            "lewati",
            "none",
            "tidak ada, terima kasih",
            "gaada",
            "n/a",
        ] {
            assert!(skip(lex, s), "{s}");
        }
        for s in [
            "tidak ada yang ramah di loket itu",
            "tidak ramah petugasnya",
            "4512376",
            "Dinas Kesehatan",
            "tidak ada kursi di ruang tunggu padahal ramai sekali",
            "",
            "nanti saya kirim lewat email ya pak",
        ] {
            assert!(!skip(lex, s), "{s}");
        }
    }

    #[test]
    fn summaries() {
        let lex = test_lexicon();
        use SummaryReading::*;
        for (s, r) in [
            ("siap", Confirm),
            ("ok", Confirm),
            ("oke kirim", Confirm),
            ("sudah benar", Confirm),
            ("udh bener", Confirm),
            ("kirim aja", Confirm),
            ("lanjut", Confirm),
            ("send", Confirm),
            ("👌", Confirm),
            ("tidak ada yang salah", Confirm),
            ("ada yg salah", Change),
            ("mau ganti", Change),
            ("salah, mau diubah", Change),
            ("edit", Change),
            ("blm benar", Change),
            ("oke tapi ganti emailnya", Change),
        ] {
            assert_eq!(summary(lex, s), Some(r), "{s}");
        }
        assert_eq!(summary(lex, "jam buka kapan"), None);
    }

    #[test]
    fn cart_done() {
        let lex = test_lexicon();
        for s in [
            "udah",
            "itu aja",
            "cukup",
            "sdh selesai",
            "sudah, terima kasih",
            "done",
        ] {
            assert!(done_word(lex, s), "{s}");
        }
        for s in ["susenas", "udah pilih susenas", "2"] {
            assert!(!done_word(lex, s), "{s}");
        }
    }
}
