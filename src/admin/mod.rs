//! Officer commands from the admin chat: parsed to an enum first (clap, whose doc comments are
//! the help text), then applied ([`apply`]). Indonesian names with English aliases; a leading
//! `/` and a Telegram `@botname` suffix are accepted. Each command family lives in its own file
//! under `commands/`; its answers are worded in `dialogs/officers.toml`.

mod apply;
mod commands;

pub use apply::plan;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "",
    no_binary_name = true,
    disable_help_flag = true,
    disable_help_subcommand = true,
    disable_version_flag = true
)]
struct AdminLine {
    #[command(subcommand)]
    command: AdminCommand,
}

/// An officer command. Its line in `bantuan` is the officers' text `admin_help_<name>`.
#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
pub enum AdminCommand {
    /// Open cases by due date, overdue first.
    #[command(name = "antrian", alias = "queue")]
    Queue,
    /// A case: data, files, history, next steps.
    #[command(name = "lihat", alias = "show")]
    Show { case: String },
    /// Take a case.
    #[command(name = "ambil", alias = "take")]
    Take { case: String },
    /// Assign a case to an officer (id).
    #[command(name = "tugaskan", alias = "assign")]
    Assign { case: String, officer: String },
    /// Reply to the applicant.
    #[command(name = "balas", alias = "reply")]
    Reply {
        case: String,
        #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        text: Vec<String>,
    },
    /// Move by a step named in `show`, with a note.
    #[command(name = "pindah", alias = "move")]
    Move {
        case: String,
        step: Option<String>,
        #[arg(num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
        note: Vec<String>,
    },
    /// Return for revision, with the reason.
    #[command(name = "kembalikan", alias = "return")]
    Return {
        case: String,
        #[arg(required = true, num_args = 1.., trailing_var_arg = true, allow_hyphen_values = true)]
        reason: Vec<String>,
    },
    /// Escalate to the head of office.
    #[command(name = "eskalasi", alias = "escalate")]
    Escalate {
        case: String,
        #[arg(num_args = 0.., trailing_var_arg = true, allow_hyphen_values = true)]
        note: Vec<String>,
    },
    /// Send your next file to the applicant.
    #[command(name = "kirim", alias = "send")]
    Send { case: String },
    /// Register a walk-in visitor.
    #[command(name = "tamu", alias = "visitor")]
    Visitor {
        service: String,
        #[arg(required = true, num_args = 1.., trailing_var_arg = true)]
        name: Vec<String>,
    },
    /// Call the next queue number.
    #[command(name = "panggil", alias = "call")]
    Call { service: String },
    /// Today's numbers.
    #[command(name = "hariini", alias = "today")]
    Today,
    /// Officers' access to personal data (last N).
    #[command(name = "audit", alias = "auditlog")]
    Audit { count: Option<usize> },
    /// Monthly report (YYYY-MM).
    #[command(name = "laporan", alias = "report")]
    Report { month: Option<String> },
    /// This list.
    #[command(name = "bantuan", alias = "help")]
    Help,
}

/// Why a line is not a command; the officer is told in the words of [`ParseError::text_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    Empty,
    Unknown,
    Incomplete,
    Unreadable,
}

impl ParseError {
    /// Its sentence in `dialogs/officers.toml` (followed by the command list).
    pub fn text_key(self) -> &'static str {
        match self {
            ParseError::Empty => "admin_parse_empty",
            ParseError::Unknown => "admin_parse_unknown",
            ParseError::Incomplete => "admin_parse_incomplete",
            ParseError::Unreadable => "admin_parse_unreadable",
        }
    }
}

impl AdminCommand {
    /// Parses an officer's line. Words are split on white space (no quoting), so free text
    /// such as a reply keeps its apostrophes.
    pub fn parse(line: &str) -> Result<AdminCommand, ParseError> {
        let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        let Some(first) = words.first_mut() else {
            return Err(ParseError::Empty);
        };
        let verb = first.trim_start_matches('/');
        let verb = verb.split('@').next().unwrap_or(verb).to_lowercase();
        *first = verb;
        AdminLine::try_parse_from(&words)
            .map(|l| l.command)
            .map_err(|e| {
                use clap::error::ErrorKind;
                match e.kind() {
                    ErrorKind::InvalidSubcommand | ErrorKind::UnknownArgument => {
                        ParseError::Unknown
                    }
                    ErrorKind::MissingRequiredArgument | ErrorKind::MissingSubcommand => {
                        ParseError::Incomplete
                    }
                    _ => ParseError::Unreadable,
                }
            })
    }
}

/// Whether `word` (with or without a leading `/` and an `@botname` suffix) names an officer
/// command, so a group chat can tell commands from the officers' own conversation.
pub fn is_command_word(word: &str) -> bool {
    let w = word.trim_start_matches('/');
    let w = w.split('@').next().unwrap_or(w).to_lowercase();
    AdminLine::command()
        .get_subcommands()
        .any(|sc| sc.get_name() == w || sc.get_all_aliases().any(|a| a == w))
}

/// The command list: each command's name, alias and arguments, with its line from the
/// officers' texts (`text` looks a key up: `admin_help_header`, `admin_help_<name>`).
pub fn help(text: &dyn Fn(&str) -> String) -> String {
    let cmd = AdminLine::command();
    let mut lines = vec![text("admin_help_header")];
    for sc in cmd.get_subcommands() {
        let args: Vec<String> = sc
            .get_positionals()
            .map(|a| {
                let name = a.get_id().as_str().to_uppercase();
                if a.is_required_set() {
                    name
                } else {
                    format!("[{name}]")
                }
            })
            .collect();
        let aliases: Vec<&str> = sc.get_all_aliases().collect();
        lines.push(format!(
            "• {}{}{} — {}",
            sc.get_name(),
            if aliases.is_empty() {
                String::new()
            } else {
                format!(" ({})", aliases.join(", "))
            },
            if args.is_empty() {
                String::new()
            } else {
                format!(" {}", args.join(" "))
            },
            text(&format!("admin_help_{}", sc.get_name()))
        ));
    }
    lines.join("\n")
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
        assert_eq!(
            AdminCommand::parse("Lihat adu-2026-000001"),
            Ok(AdminCommand::Show {
                case: "adu-2026-000001".into()
            })
        );
        assert_eq!(
            AdminCommand::parse("balas ADU-2026-000001 Baik, kami cek -- terima kasih"),
            Ok(AdminCommand::Reply {
                case: "ADU-2026-000001".into(),
                text: ["Baik,", "kami", "cek", "--", "terima", "kasih"]
                    .map(String::from)
                    .to_vec()
            })
        );
        assert_eq!(
            AdminCommand::parse("pindah REK-2026-000001 setujui"),
            Ok(AdminCommand::Move {
                case: "REK-2026-000001".into(),
                step: Some("setujui".into()),
                note: vec![]
            })
        );
        assert_eq!(
            AdminCommand::parse("kembalikan REK-2026-000001"),
            Err(ParseError::Incomplete)
        );
        assert_eq!(AdminCommand::parse("hapus semua"), Err(ParseError::Unknown));
        assert_eq!(AdminCommand::parse(" "), Err(ParseError::Empty));
        assert_eq!(
            AdminCommand::parse("/laporan 2026-11"),
            Ok(AdminCommand::Report {
                month: Some("2026-11".into())
            })
        );
        assert_eq!(
            AdminCommand::parse("report"),
            Ok(AdminCommand::Report { month: None })
        );
        assert!(is_command_word("/antrian@pstbot") && is_command_word("Queue"));
        assert!(!is_command_word("terima") && !is_command_word(""));
    }

    #[test]
    fn help_lists_every_command_with_its_alias() {
        let h = help(&|key: &str| format!("<{key}>"));
        assert!(h.starts_with("<admin_help_header>"), "{h}");
        assert!(
            h.contains("• antrian (queue) — <admin_help_antrian>"),
            "{h}"
        );
        for c in [
            "antrian (queue)",
            "lihat (show) CASE",
            "kembalikan (return) CASE REASON",
            "tamu (visitor) SERVICE NAME",
            "hariini (today)",
            "laporan (report) [MONTH]",
        ] {
            assert!(h.contains(c), "{c} missing in:\n{h}");
        }
    }

    #[test]
    fn every_command_has_its_help_line_among_the_required_officer_texts() {
        for sc in AdminLine::command().get_subcommands() {
            let key = format!("admin_help_{}", sc.get_name());
            assert!(
                crate::dialogs::load::OFFICER_KEYS.contains(&key.as_str()),
                "{key} is not required in dialogs/officers.toml"
            );
        }
    }
}
