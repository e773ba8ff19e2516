//! The commands that work at every step (menu, batal, kembali, bantuan, bahasa, datasaya,
//! hapusdata), as typed of old (`menu`, `/cancel`, `bahasa en`) and in everyday words from the
//! lexicon's `[commands]` ("balik", "ga jadi deh", "english please"). Strict on purpose: the
//! command must be the whole short message, with only fillers around it, or the last (or first)
//! part of a message of at most six words split by commas ("sebelumnya salah, balik"). A word
//! inside a sentence ("petugas menyuruh saya balik lagi", "Bidang Bantuan Sosial") is not one.

use super::lexicon::Lexicon;
use super::normalize::normalize;

/// A command that works at every step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobalCommand {
    /// Back to the main menu (`menu`, "ulang", "mulai lagi").
    Menu,
    /// Stop the current form (`batal`, "gajadi", "stop").
    Cancel,
    /// The previous step (`kembali`, "balik", "mundur").
    Back,
    /// The step's help (`bantuan`, "tolong", "bingung").
    Help,
    /// Switch language: `Some(code)` as typed (the engine checks it is configured), or `None`
    /// to ask which.
    Language(Option<String>),
    /// Show the person's stored data (`datasaya`).
    MyData,
    /// Erase the person's data (`hapusdata`; the engine asks to confirm).
    EraseMyData,
}

impl GlobalCommand {
    /// The command named by a key of the lexicon's `[commands]` table.
    pub fn from_key(key: &str) -> Option<GlobalCommand> {
        Some(match key {
            "menu" => GlobalCommand::Menu,
            "batal" => GlobalCommand::Cancel,
            "kembali" => GlobalCommand::Back,
            "bantuan" => GlobalCommand::Help,
            "bahasa:en" => GlobalCommand::Language(Some("en".into())),
            "bahasa:id" => GlobalCommand::Language(Some("id".into())),
            "datasaya" => GlobalCommand::MyData,
            "hapusdata" => GlobalCommand::EraseMyData,
            _ => return None,
        })
    }

    /// The key used in the corpus and the lexicon (`menu`, `batal`, `bahasa:en`, ...).
    pub fn key(&self) -> String {
        match self {
            GlobalCommand::Menu => "menu".into(),
            GlobalCommand::Cancel => "batal".into(),
            GlobalCommand::Back => "kembali".into(),
            GlobalCommand::Help => "bantuan".into(),
            GlobalCommand::Language(None) => "bahasa".into(),
            GlobalCommand::Language(Some(c)) => format!("bahasa:{c}"),
            GlobalCommand::MyData => "datasaya".into(),
            GlobalCommand::EraseMyData => "hapusdata".into(),
        }
    }
}

/// The most words a message split by commas may have for one of its parts to be a command.
const SHORT: usize = 6;

/// The command a message gives, if it is one (see the module documentation).
pub fn command(lex: &Lexicon, text: &str) -> Option<GlobalCommand> {
    if let Some(c) = legacy(text) {
        return Some(c);
    }
    let n = normalize(lex, text);
    if n.tokens.is_empty() {
        return None;
    }
    if let Some(c) = whole(lex, &n.tokens) {
        return Some(c);
    }
    if n.tokens.len() > SHORT {
        return None;
    }
    let parts: Vec<&str> = text
        .split([',', ';', '.', '!', '?', '\n'])
        .filter(|p| !p.trim().is_empty())
        .collect();
    if parts.len() < 2 {
        return None;
    }
    for part in [parts[parts.len() - 1], parts[0]] {
        if let Some(c) = whole(lex, &normalize(lex, part).tokens) {
            return Some(c);
        }
    }
    None
}

fn whole(lex: &Lexicon, tokens: &[String]) -> Option<GlobalCommand> {
    lex.commands
        .iter()
        .find(|(p, _)| p.whole(lex, tokens))
        .map(|(_, c)| c.clone())
}

/// The commands as they were typed before this layer: one word (`menu`, `/batal`, `back`), or
/// `bahasa`/`language` with an optional language.
fn legacy(text: &str) -> Option<GlobalCommand> {
    let t = text.trim().trim_start_matches('/').to_lowercase();
    let mut words = t.split_whitespace();
    let first = words.next()?;
    let rest: Vec<&str> = words.collect();
    let single = rest.is_empty();
    Some(match first {
        "menu" | "start" | "mulai" if single => GlobalCommand::Menu,
        "batal" | "cancel" | "batalkan" if single => GlobalCommand::Cancel,
        "kembali" | "back" if single => GlobalCommand::Back,
        "bantuan" | "help" | "tolong" if single => GlobalCommand::Help,
        "datasaya" | "mydata" if single => GlobalCommand::MyData,
        "hapusdata" | "erasemydata" | "deletemydata" if single => GlobalCommand::EraseMyData,
        "bahasa" | "language" | "lang" if rest.len() <= 1 => {
            GlobalCommand::Language(rest.first().map(|w| {
                match *w {
                    "indonesia" | "indonesian" | "indo" => "id",
                    "inggris" | "english" => "en",
                    other => other,
                }
                .to_string()
            }))
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_lexicon;
    use super::*;

    fn cmd(s: &str) -> Option<String> {
        command(test_lexicon(), s).map(|c| c.key())
    }

    #[test]
    fn old_commands_keep_working() {
        for (s, k) in [
            ("menu", "menu"),
            ("/start", "menu"),
            ("batal", "batal"),
            ("cancel", "batal"),
            ("kembali", "kembali"),
            ("back", "kembali"),
            ("bantuan", "bantuan"),
            ("help", "bantuan"),
            ("bahasa", "bahasa"),
            ("language", "bahasa"),
            ("bahasa en", "bahasa:en"),
            ("bahasa inggris", "bahasa:en"),
            ("language id", "bahasa:id"),
            ("datasaya", "datasaya"),
            ("mydata", "datasaya"),
            ("hapusdata", "hapusdata"),
            ("erasemydata", "hapusdata"),
            ("MENU", "menu"),
        ] {
            assert_eq!(cmd(s).as_deref(), Some(k), "{s}");
        }
    }

    #[test]
    fn everyday_words() {
        for (s, k) in [
            ("balik", "kembali"),
            ("kembali dong", "kembali"),
            ("mundur", "kembali"),
            ("sebelumnya salah, balik", "kembali"),
            ("ulang", "menu"),
            ("mulai lagi", "menu"),
            ("ke menu utama", "menu"),
            ("gajadi", "batal"),
            ("ga jadi deh", "batal"),
            ("stop", "batal"),
            ("berhenti", "batal"),
            ("cancel aja", "batal"),
            ("tolong", "bantuan"),
            ("help dong", "bantuan"),
            ("bingung", "bantuan"),
            ("english please", "bahasa:en"),
            ("in english", "bahasa:en"),
            ("bahasa indonesia aja", "bahasa:id"),
            ("data sy apa aja yg disimpan", "datasaya"),
            ("gak jadi kak", "batal"),
            ("balik lagi dong min", "kembali"),
            ("Can you speak English?", "bahasa:en"),
            ("saya bingung", "bantuan"),
            ("ok, menu", "menu"),
        ] {
            assert_eq!(cmd(s).as_deref(), Some(k), "{s}");
        }
    }

    #[test]
    fn words_inside_answers_are_not_commands() {
        for s in [
            "petugas menyuruh saya balik lagi besok padahal sudah antri dari pagi",
            "Survei Menu Makanan Bergizi Sekolah 2027",
            "Bidang Bantuan Sosial",
            "tidak",
            "sudah",
            "ya",
            "tolong kirim hasilnya ke email saya",
            "Menu makanan bergizi",
            "stop pungli di loket",
            "data penduduk",
            "",
            "😂",
        ] {
            assert_eq!(cmd(s), None, "{s}");
        }
    }
}
