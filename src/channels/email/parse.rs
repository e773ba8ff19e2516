//! What a received mail is (pure): a bounce, an automatic answer, or a person writing — with
//! its new text (quoted history and signature removed), its files and the case it belongs to.

use super::auth::{self, Answers, TokenKey};
use super::thread;
use crate::cases::CaseNumber;
use crate::message::Attachment;
use mail_parser::{Message, MessageParser, MimeHeaders};
use regex::Regex;
use std::sync::LazyLock;

/// A person's mail.
#[derive(Debug, Clone, PartialEq)]
pub struct PersonMail {
    /// The sender's address, lowercased.
    pub from: String,
    pub subject: String,
    /// The new text: decoded, without quoted history and signature.
    pub text: String,
    pub files: Vec<Attachment>,
    /// The case this mail says it is about: named in `In-Reply-To`/`References` (our ids) or
    /// in the subject as `[ADU-2026-000012]`. Only a claim: see `answers` and `authenticated`.
    pub case: Option<CaseNumber>,
    /// Whether the receiving server vouches that the `From:` domain sent it
    /// ([`auth::authenticated`]).
    pub authenticated: bool,
    /// What our reply tokens in its thread headers prove: it answers a mail we sent to its
    /// sender (about that case).
    pub answers: Answers,
    /// Its thread before it, as an answer names it: its `References` (else its
    /// `In-Reply-To`), checked and bounded ([`super::thread::bounded`]).
    pub references: Vec<String>,
}

/// What a mail is.
#[derive(Debug, Clone, PartialEq)]
pub enum MailKind {
    /// A delivery failure report; the address that failed when the report names it.
    Bounce {
        failed: Option<String>,
        reason: String,
    },
    /// An automatic mail (out-of-office, list or bulk mail, our own): never answered.
    Automatic(String),
    Person(PersonMail),
}

/// A parsed mail with the id it is deduplicated by.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// `<Message-ID>`, or one derived from the content when the mail has none.
    pub id: String,
    pub kind: MailKind,
}

static CASE_IN_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^<pstbot\.([A-Z]{3}-\d{4}-\d{6})[.@][^>]*@([^@>]+)>$|^<pstbot\.([A-Z]{3}-\d{4}-\d{6})@([^@>]+)>$").expect("regex")
});
static CASE_IN_SUBJECT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\[\s*([A-Z]{3}-\d{4}-\d{6})\s*\]").expect("regex"));
static FINAL_RECIPIENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^\s*(?:Final|Original)-Recipient:\s*rfc822\s*;\s*<?([^<>\s;]+@[^<>\s;]+)>?")
        .expect("regex")
});
static DIAGNOSTIC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?im)^\s*Diagnostic-Code:\s*(.+)$").expect("regex"));
static STATUS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?im)^\s*Status:\s*(.+)$").expect("regex"));

/// What the reader needs to judge a mail.
#[derive(Debug, Clone, Copy)]
pub struct MailCheck<'a> {
    /// Our from address: mail from it is never answered.
    pub own: &'a str,
    /// The right-hand side of our ids.
    pub domain: &'a str,
    /// The key our reply tokens are made with.
    pub key: &'a TokenKey,
    /// The receiving servers whose `Authentication-Results` count (`email.trusted_authserv_ids`).
    pub trusted_authserv_ids: &'a [String],
}

/// Reads a raw mail.
pub fn parse(raw: &[u8], check: &MailCheck) -> Parsed {
    let Some(m) = MessageParser::default().parse(raw) else {
        return Parsed {
            id: derived_id(raw),
            kind: MailKind::Automatic("unreadable mail".into()),
        };
    };
    let id = m
        .message_id()
        .map(|i| i.trim().trim_matches(['<', '>']).to_string())
        .filter(|i| !i.is_empty() && !i.contains(char::is_whitespace))
        .map(|i| format!("<{i}>"))
        .unwrap_or_else(|| derived_id(raw));
    let from = m
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .map(|a| a.trim().to_lowercase())
        .unwrap_or_default();
    if is_report(&m, &from) {
        return Parsed {
            id,
            kind: bounce(&m, raw, check),
        };
    }
    if let Some(why) = automatic(&m, &from, check.own) {
        return Parsed {
            id,
            kind: MailKind::Automatic(why),
        };
    }
    Parsed {
        id,
        kind: MailKind::Person(person(&m, raw, from, check)),
    }
}

/// A lower-cased header value.
fn header(m: &Message<'_>, name: &str) -> Option<String> {
    m.header_raw(name).map(|v| v.trim().to_lowercase())
}

/// Whether a mail is a delivery report: `multipart/report` of delivery status, or from the
/// mailer daemon or the postmaster.
fn is_report(m: &Message<'_>, from: &str) -> bool {
    let report = m.content_type().is_some_and(|c| {
        c.ctype().eq_ignore_ascii_case("multipart")
            && c.subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
            && c.attribute("report-type")
                .is_some_and(|r| r.eq_ignore_ascii_case("delivery-status"))
    });
    let local = from.split('@').next().unwrap_or("");
    report
        || local.eq_ignore_ascii_case("mailer-daemon")
        || local.eq_ignore_ascii_case("postmaster")
}

/// What a delivery report means: a bounce of our mail to the address it names, or an
/// automatic mail when it returns nothing we sent there.
fn bounce(m: &Message<'_>, raw: &[u8], check: &MailCheck) -> MailKind {
    let lossy = String::from_utf8_lossy(raw);
    let named = FINAL_RECIPIENT
        .captures(&lossy)
        .map(|c| c[1].trim().to_lowercase());
    // Only a bounce that returns a mail we sent to that address counts: anyone can write a
    // report naming any address.
    let failed = match named {
        Some(a) if auth::names_our_mail_to(&lossy, &a, check.domain, check.key) => Some(a),
        Some(_) => return MailKind::Automatic("a bounce for mail we did not send".into()),
        None => None,
    };
    let reason = DIAGNOSTIC
        .captures(&lossy)
        .or_else(|| STATUS.captures(&lossy))
        .map(|c| c[1].trim().to_string())
        .or_else(|| m.subject().map(str::to_string))
        .unwrap_or_else(|| "undeliverable".into());
    MailKind::Bounce { failed, reason }
}

/// Why a mail was written by a machine (an autoresponder, a list, ourselves), if it was.
fn automatic(m: &Message<'_>, from: &str, own: &str) -> Option<String> {
    let empty_return_path = header(m, "return-path").is_some_and(|r| {
        let r = r.trim();
        r == "<>" || r.is_empty()
    });
    if empty_return_path {
        Some("empty return path".to_string())
    } else if let Some(a) = header(m, "auto-submitted").filter(|a| !a.starts_with("no")) {
        Some(format!("Auto-Submitted: {a}"))
    } else if let Some(p) =
        header(m, "precedence").filter(|p| matches!(p.as_str(), "bulk" | "junk" | "list"))
    {
        Some(format!("Precedence: {p}"))
    } else if header(m, "x-autoreply").is_some() || header(m, "x-autorespond").is_some() {
        Some("autoresponder".to_string())
    } else if from.is_empty() {
        Some("no sender".to_string())
    } else if from.eq_ignore_ascii_case(own) {
        Some("our own mail".to_string())
    } else {
        None
    }
}

/// A person's mail: what it says, its files, the case it names and what proves its sender.
fn person(m: &Message<'_>, raw: &[u8], from: String, check: &MailCheck) -> PersonMail {
    let subject = m.subject().unwrap_or("").trim().to_string();
    let thread_ids: Vec<String> = [m.in_reply_to(), m.references()]
        .into_iter()
        .flat_map(|h| match (h.as_text_list(), h.as_text()) {
            (Some(list), _) => list.iter().map(|s| s.to_string()).collect(),
            (None, Some(t)) => vec![t.to_string()],
            _ => Vec::new(),
        })
        .collect();
    let answers = auth::answers(&thread_ids, &from, check.domain, check.key);
    let header_ids = |h: &mail_parser::HeaderValue<'_>| -> Vec<String> {
        match (h.as_text_list(), h.as_text()) {
            (Some(list), _) => list.iter().filter_map(|s| thread::clean_id(s)).collect(),
            (None, Some(t)) => thread::clean_id(t).into_iter().collect(),
            _ => Vec::new(),
        }
    };
    let mut references = header_ids(m.references());
    if references.is_empty() {
        references = header_ids(m.in_reply_to());
    }
    let verdicts: Vec<&str> = m
        .headers()
        .iter()
        .filter(|h| {
            h.name
                .as_str()
                .eq_ignore_ascii_case("authentication-results")
        })
        .filter_map(|h| raw.get(h.offset_start as usize..h.offset_end as usize))
        .filter_map(|v| std::str::from_utf8(v).ok())
        .collect();
    let from_domain = from.rsplit_once('@').map_or("", |(_, d)| d);
    // A second author could be anyone: such a mail is never taken as authenticated.
    let one_author = m.from().is_some_and(|a| a.iter().count() == 1);
    let authenticated =
        one_author && auth::authenticated(&verdicts, check.trusted_authserv_ids, from_domain);
    let case = case_in_thread(&thread_ids, check.domain).or_else(|| {
        CASE_IN_SUBJECT
            .captures(&subject)
            .and_then(|c| CaseNumber::parse(&c[1]))
    });
    let body = m.body_text(0).map(|b| b.into_owned()).unwrap_or_default();
    PersonMail {
        text: strip_quotes_and_signature(&body),
        files: attachments(m),
        from,
        subject,
        case,
        authenticated,
        answers,
        references: thread::bounded(references),
    }
}

/// The case our ids in the thread headers name (the last one wins).
fn case_in_thread(thread_ids: &[String], domain: &str) -> Option<CaseNumber> {
    let mut case = None;
    for i in thread_ids {
        let bracketed = format!("<{}>", i.trim().trim_matches(['<', '>']));
        if let Some(c) = CASE_IN_ID.captures(&bracketed) {
            let (number, at) = match (c.get(1), c.get(2), c.get(3), c.get(4)) {
                (Some(n), Some(d), _, _) | (_, _, Some(n), Some(d)) => (n.as_str(), d.as_str()),
                _ => continue,
            };
            if at.eq_ignore_ascii_case(domain)
                && let Some(n) = CaseNumber::parse(number)
            {
                case = Some(n);
            }
        }
    }
    case
}

/// The files of a mail (attached mails aside), with their types.
fn attachments(m: &Message<'_>) -> Vec<Attachment> {
    m.attachments()
        .filter(|p| !p.is_message())
        .map(|p| {
            let mime = p
                .content_type()
                .map(|c| match c.subtype() {
                    Some(s) => format!("{}/{}", c.ctype(), s),
                    None => c.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_lowercase();
            Attachment {
                filename: p.attachment_name().unwrap_or("lampiran").to_string(),
                mime,
                bytes: p.contents().to_vec(),
            }
        })
        .collect()
}

/// The id of a mail without a usable `Message-ID`: from its bytes, so fetching it again is
/// recognised.
fn derived_id(raw: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    format!(
        "<{}@no-message-id>",
        hex::encode(&Sha256::digest(raw)[..16])
    )
}

/// Keeps what the person wrote now: cuts at the quoted history (`> …` lines, "On … wrote:",
/// "Pada … menulis:", forwarded/original-message markers, an Outlook header block) and at the
/// signature (`-- `, "Sent from my …", "Dikirim dari …").
pub fn strip_quotes_and_signature(body: &str) -> String {
    let lines: Vec<&str> = body.lines().collect();
    let mut end = lines.len();
    for (i, raw) in lines.iter().enumerate() {
        let l = raw.trim();
        let lower = l.to_lowercase();
        let cut = l.starts_with('>')
            || raw.trim_end() == "--"
            || *raw == "-- "
            || (lower.ends_with("wrote:") || lower.ends_with("menulis:"))
            || lower.starts_with("-----original message")
            || lower.starts_with("-----pesan asli")
            || lower.starts_with("---------- forwarded message")
            || lower.starts_with("________________")
            || lower.starts_with("sent from my ")
            || lower.starts_with("dikirim dari ")
            || (lower.starts_with("from:")
                && lines.get(i + 1).is_some_and(|n| {
                    n.to_lowercase().trim_start().starts_with("sent:")
                        || n.to_lowercase().trim_start().starts_with("date:")
                        || n.to_lowercase().trim_start().starts_with("to:")
                }));
        if cut {
            end = i;
            // "On Mon, … Budi <" wrapped onto two lines before "wrote:".
            if (lower.ends_with("wrote:") || lower.ends_with("menulis:"))
                && !(lower.starts_with("on ") || lower.starts_with("pada "))
                && i > 0
            {
                let prev = lines[i - 1].trim().to_lowercase();
                if prev.starts_with("on ") || prev.starts_with("pada ") {
                    end = i - 1;
                }
            }
            break;
        }
    }
    let kept: Vec<&str> = lines[..end].iter().map(|l| l.trim_end()).collect();
    kept.join("\n").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_signatures_are_removed() {
        let body = "Baik, saya kirim lampirannya.\nTerima kasih\n\n-- \nBudi\n0812\n";
        assert_eq!(
            strip_quotes_and_signature(body),
            "Baik, saya kirim lampirannya.\nTerima kasih"
        );
        let body = "Sudah saya perbaiki.\n\nPada Sen, 5 Jan 2026 pukul 10.00 PST BPS <pst@bps.example>\nmenulis:\n> Mohon perbaiki\n";
        assert_eq!(strip_quotes_and_signature(body), "Sudah saya perbaiki.");
        let body = "Thanks\n\nOn Mon, Jan 5, 2026 at 10:00 AM PST <pst@x> wrote:\n> old";
        assert_eq!(strip_quotes_and_signature(body), "Thanks");
        let body = "Oke\n\nSent from my iPhone";
        assert_eq!(strip_quotes_and_signature(body), "Oke");
    }

    const DOMAIN: &str = "bps.example";

    fn key() -> TokenKey {
        TokenKey::new([1; 32])
    }

    fn read(raw: &[u8]) -> Parsed {
        read_trusting(raw, &[])
    }

    fn read_trusting(raw: &[u8], trusted: &[String]) -> Parsed {
        parse(
            raw,
            &MailCheck {
                own: "pst@bps.example",
                domain: DOMAIN,
                key: &key(),
                trusted_authserv_ids: trusted,
            },
        )
    }

    fn our_id(case: &str, to: &str) -> String {
        format!(
            "<pstbot.{case}.{}.{}@{DOMAIN}>",
            "0".repeat(24),
            key().token(case, to)
        )
    }

    #[test]
    fn replies_name_their_case_by_headers_or_subject() {
        let raw = b"From: Budi <Budi@Example.org>\r\nTo: pst@bps.example\r\nSubject: Re: hal\r\nMessage-ID: <m1@example.org>\r\nIn-Reply-To: <pstbot.ADU-2026-000012.abcdef@bps.example>\r\n\r\nBaik.\r\n";
        let p = read(raw);
        assert_eq!(p.id, "<m1@example.org>");
        let MailKind::Person(m) = p.kind else {
            panic!("a person")
        };
        assert_eq!(m.from, "budi@example.org");
        assert_eq!(
            m.case.map(|c| c.to_string()).as_deref(),
            Some("ADU-2026-000012")
        );
        // Someone else's domain in the id does not count; the subject does.
        let raw = b"From: a@b.org\r\nSubject: Re: [PRD-2026-000003] Tagihan\r\nIn-Reply-To: <pstbot.ADU-2026-000012.x@evil.org>\r\n\r\nok\r\n";
        let MailKind::Person(m) = read(raw).kind else {
            panic!("a person")
        };
        assert_eq!(
            m.case.map(|c| c.to_string()).as_deref(),
            Some("PRD-2026-000003")
        );
    }

    #[test]
    fn automatic_mail_and_bounces_are_recognised() {
        let ooo = b"From: a@b.org\r\nAuto-Submitted: auto-replied\r\nSubject: Out of office\r\n\r\nAway\r\n";
        assert!(matches!(read(ooo).kind, MailKind::Automatic(_)));
        let not_auto = b"From: a@b.org\r\nAuto-Submitted: no\r\nSubject: hi\r\n\r\nhalo\r\n";
        assert!(matches!(read(not_auto).kind, MailKind::Person(_)));
        let bulk = b"From: news@b.org\r\nPrecedence: bulk\r\nSubject: News\r\n\r\nx\r\n";
        assert!(matches!(read(bulk).kind, MailKind::Automatic(_)));
        let report = "From: MAILER-DAEMON@mx.b.org\r\nSubject: Undelivered\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.b.org\r\n\r\nFinal-Recipient: rfc822; Gone@B.org\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 user unknown\r\n";
        // A report alone (no mail of ours in it) could be anyone's: it is not a bounce.
        let forged = format!("{report}--b--\r\n");
        assert!(matches!(
            read(forged.as_bytes()).kind,
            MailKind::Automatic(why) if why.contains("did not send")
        ));
        let dsn = format!(
            "{report}--b\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: pst@bps.example\r\nMessage-ID: {}\r\n--b--\r\n",
            our_id("ADU-2026-000001", "gone@b.org")
        );
        // Our mail to someone else does not make it a bounce for this address either.
        let other = dsn.replace("Gone@B.org", "siti@b.org");
        assert!(matches!(
            read(other.as_bytes()).kind,
            MailKind::Automatic(_)
        ));
        match read(dsn.as_bytes()).kind {
            MailKind::Bounce { failed, reason } => {
                assert_eq!(failed.as_deref(), Some("gone@b.org"));
                assert!(reason.contains("550"), "{reason}");
            }
            other => panic!("a bounce, not {other:?}"),
        }
    }

    #[test]
    fn replies_prove_their_sender_by_our_tokens_or_the_servers_verdict() {
        let siti_id = our_id("ADU-2026-000001", "siti@example.org");
        let reply = |from: &str, extra: &str| {
            format!(
                "{extra}From: {from}\r\nTo: pst@bps.example\r\nSubject: Re: [ADU-2026-000001] x\r\nIn-Reply-To: {siti_id}\r\nReferences: {siti_id}\r\n\r\nSaya mencabut pengaduan ini.\r\n"
            )
        };
        let person = |p: Parsed| match p.kind {
            MailKind::Person(m) => m,
            other => panic!("a person, not {other:?}"),
        };
        let m = person(read(reply("Siti <siti@example.org>", "").as_bytes()));
        assert!(m.answers.us && !m.authenticated);
        assert_eq!(m.answers.case.unwrap().to_string(), "ADU-2026-000001");
        // Eve quoting Siti's thread proves nothing; the subject still claims the case.
        let m = person(read(reply("eve@example.org", "").as_bytes()));
        assert_eq!(m.answers, Answers::default());
        assert_eq!(m.case.unwrap().to_string(), "ADU-2026-000001");
        // The receiving server's verdict, trusted only when configured and aligned.
        let ar = "Authentication-Results: mx.bps.example; dkim=pass header.d=example.org\r\n";
        let trusted = vec!["mx.bps.example".to_string()];
        assert!(
            person(read_trusting(
                reply("eve@example.org", ar).as_bytes(),
                &trusted
            ))
            .authenticated
        );
        assert!(!person(read(reply("eve@example.org", ar).as_bytes())).authenticated);
        let two = reply("eve@example.org, rina@bps.example", ar);
        assert!(!person(read_trusting(two.as_bytes(), &trusted)).authenticated);
        let forged_below = format!(
            "Authentication-Results: mx.bps.example; dkim=none\r\nReceived: from evil\r\n{ar}"
        );
        assert!(
            !person(read_trusting(
                reply("rina@example.org", &forged_below).as_bytes(),
                &trusted
            ))
            .authenticated
        );
    }

    #[test]
    fn latin1_and_quoted_printable_are_decoded() {
        let raw = b"From: a@b.org\r\nSubject: =?ISO-8859-1?Q?Pengaduan_caf=E9?=\r\nContent-Type: text/plain; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nSaya minum caf=E9 =80 5=\r\n ribu\r\n";
        let MailKind::Person(m) = read(raw).kind else {
            panic!("a person")
        };
        assert_eq!(m.subject, "Pengaduan café");
        assert_eq!(m.text, "Saya minum café € 5 ribu");
    }
}
