//! Officer commands from the admin chat: parsed to an enum first, then applied.
//!
//! This first version reads only: the queue of open cases and one case in full. Taking,
//! moving and answering cases come with the workflows. A confidential complaint shows the
//! complainant's identity only to the pimpinan.

use crate::cases::{Case, CaseNumber};
use crate::config::{OfficerConfig, Role};
use crate::dialogs::{Reply, pick};
use crate::runtime::Runtime;
use crate::store::StoreError;

/// An officer command. The doc comment of each variant is its help line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    /// `antrian` / `queue` — open cases, oldest first.
    Queue,
    /// `lihat NOMOR` / `show NUMBER` — one case with its form, files and history.
    Show(CaseNumber),
    /// `bantuan` / `help` — this list.
    Help,
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    Unknown,
    BadCaseNumber,
}

impl AdminCommand {
    /// Parses an officer's line (a leading `/` and a Telegram `@botname` suffix are ignored).
    pub fn parse(line: &str) -> Result<AdminCommand, ParseError> {
        let line = line.trim().trim_start_matches('/');
        let mut words = line.split_whitespace();
        let verb = words
            .next()
            .unwrap_or("")
            .split('@')
            .next()
            .unwrap_or("")
            .to_lowercase();
        let args: Vec<&str> = words.collect();
        match (verb.as_str(), args.as_slice()) {
            ("antrian" | "queue", []) => Ok(AdminCommand::Queue),
            ("lihat" | "show" | "kasus" | "case", [n]) => CaseNumber::parse(n)
                .map(AdminCommand::Show)
                .ok_or(ParseError::BadCaseNumber),
            ("lihat" | "show" | "kasus" | "case", _) => Err(ParseError::BadCaseNumber),
            ("bantuan" | "help" | "menu", []) => Ok(AdminCommand::Help),
            _ => Err(ParseError::Unknown),
        }
    }
}

const HELP: &str = "Perintah petugas / officer commands:\n\
• antrian (queue) — kasus terbuka / open cases\n\
• lihat NOMOR (show NUMBER) — rincian kasus / case details\n\
• bantuan (help) — daftar ini / this list";

fn reply(text: String) -> Reply {
    Reply {
        text,
        choices: Vec::new(),
    }
}

/// Whether this officer may see who filed a confidential complaint.
fn sees_identity(officer: &OfficerConfig, case: &Case) -> bool {
    !case.confidential || officer.roles.contains(&Role::Pimpinan)
}

/// Answers an officer's line.
pub fn handle(rt: &Runtime, officer: &OfficerConfig, line: &str) -> Result<Vec<Reply>, StoreError> {
    let lang = rt.bot.default_lang().to_string();
    let cal = &rt.bot.calendar;
    Ok(match AdminCommand::parse(line) {
        Err(ParseError::Unknown) => vec![reply(format!(
            "Perintah tidak dikenal / unknown command.\n{HELP}"
        ))],
        Err(ParseError::BadCaseNumber) => vec![reply(
            "Nomor kasus tidak valid; contoh / invalid case number; e.g. ADU-2026-000012".into(),
        )],
        Ok(AdminCommand::Help) => vec![reply(format!("{}, {HELP}", officer.name))],
        Ok(AdminCommand::Queue) => {
            let cases = rt.store.open_cases()?;
            if cases.is_empty() {
                vec![reply("Tidak ada kasus terbuka / no open cases.".into())]
            } else {
                let lines: Vec<String> = cases
                    .iter()
                    .map(|c| {
                        format!(
                            "• {} — {} [{}] {}",
                            c.number,
                            c.title,
                            c.stage,
                            cal.format_local(c.created_at, &lang)
                        )
                    })
                    .collect();
                vec![reply(format!(
                    "Kasus terbuka / open cases ({}):\n{}",
                    cases.len(),
                    lines.join("\n")
                ))]
            }
        }
        Ok(AdminCommand::Show(n)) => match rt.store.case(&n)? {
            None => vec![reply(format!("Kasus {n} tidak ditemukan / not found."))],
            Some(c) => {
                let mut text = format!(
                    "{} — {}\nTahap / stage: {}\nMasuk / received: {}\n",
                    c.number,
                    c.title,
                    c.stage,
                    cal.format_local(c.created_at, &lang)
                );
                if sees_identity(officer, &c) {
                    let guest = rt.store.guest_of(&c.origin)?;
                    let name = guest.as_ref().and_then(|g| g.name()).unwrap_or("-");
                    text.push_str(&format!(
                        "Pemohon / applicant: {name} ({})\n",
                        c.origin.channel.as_str()
                    ));
                } else {
                    text.push_str("Pemohon / applicant: (dirahasiakan / confidential)\n");
                }
                for f in &c.form {
                    let step = rt
                        .bot
                        .dialogs
                        .values()
                        .flat_map(|d| d.steps.iter())
                        .find(|s| s.field == f.field);
                    let label = step
                        .and_then(|s| s.label.as_ref())
                        .map(|l| pick(l, &lang, &lang))
                        .unwrap_or_else(|| f.label.clone());
                    text.push_str(&format!(
                        "• {label}: {}\n",
                        crate::dialogs::engine::display(&rt.bot, step, &f.value, &lang)
                    ));
                }
                for e in &c.history {
                    text.push_str(&format!(
                        "– {} {} {:?}\n",
                        cal.format_local(e.at, &lang),
                        e.kind,
                        e.actor
                    ));
                }
                vec![reply(text.trim_end().to_string())]
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands_with_aliases_and_bot_suffix() {
        assert_eq!(
            AdminCommand::parse("/antrian@pstbot"),
            Ok(AdminCommand::Queue)
        );
        assert_eq!(AdminCommand::parse("queue"), Ok(AdminCommand::Queue));
        assert!(matches!(
            AdminCommand::parse("lihat adu-2026-000001"),
            Ok(AdminCommand::Show(_))
        ));
        assert_eq!(
            AdminCommand::parse("lihat 12"),
            Err(ParseError::BadCaseNumber)
        );
        assert_eq!(AdminCommand::parse("hapus semua"), Err(ParseError::Unknown));
    }
}
