//! Whether a message typed at a free-text step is a question (to answer from the FAQ and ask
//! the step again) rather than the answer. The rules, in order:
//!
//! 1. A label before a colon ("untuk skripsi: bagaimana ...") makes it an answer.
//! 2. More than one sentence whose last one is a statement of three words or more ("Kenapa ...?
//!    Saya tidak terima ...") is an answer; so is anything over 20 words.
//! 3. The last sentence ends with "?": a question when it has at most 12 words, and a "why"
//!    question at most 5 (a longer "kenapa ...?" is a complaint, not something the FAQ answers).
//! 4. Without "?", in a last sentence of at most 10 words (greetings and tail words like "ya",
//!    "sih" aside): it starts with a question word ("brp lama ..."); or ends with one ("jam
//!    buka kapan"); or has one second in at most 5 words ("jam brp tutup"); or ends with a
//!    yes/no tag ("hari sabtu buka gak") in at most 6 words; or starts with an opener ("bisa",
//!    "apa", "mau tanya") and ends with a tag.
//!
//! A question word in the middle of a longer sentence ("saya tanya jam buka kapan tapi satpam
//! ...", "Mengetahui berapa lama waktu tunggu ...") does not make a question.

use super::lexicon::Lexicon;
use super::normalize::normalize;

const WHY: [&str; 3] = ["kenapa", "mengapa", "why"];

/// Whether the message is a question (see the module documentation for the rules).
pub fn is_question(lex: &Lexicon, text: &str) -> bool {
    let text = text.trim();
    if text.is_empty() {
        return false;
    }
    if let Some((label, _)) = text.split_once(':') {
        let l = normalize(lex, label).tokens;
        if !l.is_empty()
            && l.len() <= 4
            && !(0..l.len()).any(|i| lex.question_words.longest_at(&l, i).is_some())
        {
            return false;
        }
    }
    if normalize(lex, text).tokens.len() > 20 {
        return false;
    }
    let sentences = sentences(text);
    let Some((last, asked)) = sentences.last() else {
        return false;
    };
    let words = core(lex, &normalize(lex, last).tokens);
    if sentences.len() > 1 && !asked && words.len() >= 3 {
        return false;
    }
    if words.is_empty() {
        return false;
    }
    let first_is_why = WHY.contains(&words[0].as_str());
    if *asked {
        return words.len() <= 12 && !(first_is_why && words.len() > 5);
    }
    if words.len() > 10 || (first_is_why && words.len() > 5) {
        return false;
    }
    let starts_q = lex.question_words.longest_at(&words, 0).is_some();
    let ends_q = ends_with(&words, |t, i| lex.question_words.longest_at(t, i));
    let ends_tag = ends_with(&words, |t, i| lex.tags.longest_at(t, i));
    let opens = lex.openers.longest_at(&words, 0).is_some();
    // "jam berapa tutup", "syaratnya apa aja": a question word second in a short message.
    let second_q = words.len() <= 5 && lex.question_words.longest_at(&words, 1).is_some();
    starts_q || ends_q || second_q || (ends_tag && (words.len() <= 6 || opens))
}

/// Sentences with whether each ends with a question mark.
fn sentences(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        match c {
            '?' | '.' | '!' | '\n' => {
                if cur.chars().any(char::is_alphanumeric) {
                    out.push((std::mem::take(&mut cur), c == '?'));
                } else if c == '?'
                    && let Some(last) = out.last_mut()
                {
                    last.1 = true;
                }
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if cur.chars().any(char::is_alphanumeric) {
        out.push((cur, false));
    }
    out
}

/// The words without the greetings and tail words around them, and without a leading phrase
/// that only looks like a question ("apa kabar").
fn core(lex: &Lexicon, t: &[String]) -> Vec<String> {
    let mut start = 0;
    loop {
        if let Some(n) = lex.not_questions.longest_at(t, start) {
            start += n;
        } else if start < t.len()
            && lex.filler_at(t, start) > 0
            && lex.question_words.longest_at(t, start).is_none()
        {
            start += lex.filler_at(t, start);
        } else {
            break;
        }
    }
    let mut end = t.len();
    while end > start && lex.is_filler(&t[end - 1]) && lex.tags.longest_at(t, end - 1).is_none() {
        end -= 1;
    }
    t[start..end].to_vec()
}

/// Whether a phrase found by `at` ends exactly at the end of `t`.
fn ends_with(t: &[String], at: impl Fn(&[String], usize) -> Option<usize>) -> bool {
    (0..t.len()).any(|i| at(t, i).is_some_and(|n| i + n == t.len()))
}

#[cfg(test)]
mod tests {
    use super::super::test_lexicon;
    use super::*;

    #[test]
    fn questions() {
        for s in [
            "jam buka kapan?",
            "jam buka kapan",
            "kantornya dmn ya?",
            "bayarnya gimana?",
            "ini gratis gak sih?",
            "syarat beli data mikro apa aja?",
            "brp lama rekomendasi selesai?",
            "brp lama rekomendasi selesai",
            "bisa daftar lewat romantik gak?",
            "bisa daftar lewat romantik gak",
            "hari sabtu buka gak?",
            "hari sabtu buka gak",
            "alamat kantor bps dmn",
            "what time do you open",
            "how much is the susenas data?",
            "Selamat siang. Mau tanya, biaya data mikro berapa?",
            "min, kantornya dimana ya",
            "apakah ada biaya",
            "kapan petugas menghubungi saya",
        ] {
            assert!(is_question(test_lexicon(), s), "{s}");
        }
    }

    #[test]
    fn answers_with_question_words() {
        for s in [
            "Kenapa petugas loket membentak saya waktu minta data kemarin? Saya tidak terima diperlakukan begitu.",
            "saya tanya jam buka kapan tapi satpam tidak menjawab dan langsung pergi",
            "Survei Apa Kabar UMKM Kota Bengkulu 2027",
            "untuk skripsi: bagaimana pengaruh inflasi terhadap kemiskinan di Bengkulu?",
            "Mengetahui berapa lama waktu tunggu pasien di puskesmas se-Kota Bengkulu",
            "umur, pendidikan, berapa jam kerja per minggu",
            "Kenapa petugas loket membentak saya waktu minta data kemarin?",
            "Dinas Kesehatan Provinsi Bengkulu",
            "Survei Bagaimana Warga Menilai Layanan Publik 2027",
            "petugas tidak ramah",
            "",
        ] {
            assert!(!is_question(test_lexicon(), s), "{s}");
        }
    }
}
